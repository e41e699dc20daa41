// quantize_row_reference -> dequantize_row on random rows: error bounds per type, exact byte counts,
// and the rounding rules of ggml's simple reference quantizers pinned on hand-picked values.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "llmc/quants.h"
#include "quant_test_support.h"

namespace llmc {
namespace {

using namespace quants_test;

struct ErrorBounds {
  // Root-mean-square error over the row divided by the row's root-mean-square value. These rows
  // mix magnitudes and outliers, which dominates the figure, so the bounds are empirical: about
  // 1.3x the worst of 200 seeds. (On plain Gaussian rows the quantizers reach, e.g., q4_0 0.086,
  // q4_K 0.072, q6_K 0.017, q3_K 0.143, q2_K 0.270, iq4_nl 0.073, in line with ggml's.)
  double relative_rmse;
  // Largest |x - dequantized| in each block (super-block for 256-element types) divided by that
  // block's largest |x|. Derived from the format where it can be (e.g. Q8_0: half a step,
  // amax/254, plus the f16 rounding of the scale, amax/2048); empirical (x1.3) for the
  // search-based quantizers.
  double max_error_per_block_absmax;
};

const std::map<GgmlType, ErrorBounds>& error_bounds() {
  static const std::map<GgmlType, ErrorBounds> bounds = {
      {GgmlType::F32, {0.0, 0.0}},
      {GgmlType::F16, {0x1p-11, 0x1p-11}},
      {GgmlType::BF16, {0x1p-8, 0x1p-8}},
      {GgmlType::Q8_0, {0.014, 1.0 / 254 + 1.0 / 2048}},
      {GgmlType::Q8_1, {0.014, 1.0 / 254 + 1.0 / 2048}},
      {GgmlType::Q8_K, {0.034, 1.0 / 254 + 1e-6}},
      // The element opposite in sign to the extreme one clips at +7 steps: error up to a full step.
      {GgmlType::Q4_0, {0.22, 1.0 / 8 + 1.0 / 1024}},
      {GgmlType::Q5_0, {0.11, 1.0 / 16 + 1.0 / 1024}},
      // Half a step of range/15 (range <= 2 amax) plus f16 rounding of d and m.
      {GgmlType::Q4_1, {0.145, 1.0 / 15 + 1.0 / 256}},
      {GgmlType::Q5_1, {0.07, 1.0 / 31 + 1.0 / 256}},
      {GgmlType::Q2_K, {0.44, 0.70}},
      {GgmlType::Q3_K, {0.30, 0.33}},
      {GgmlType::Q4_K, {0.135, 0.16}},
      {GgmlType::Q5_K, {0.068, 0.08}},
      {GgmlType::Q6_K, {0.042, 0.032}},
      {GgmlType::IQ4_NL, {0.16, 0.175}},
      {GgmlType::IQ4_XS, {0.16, 0.165}},
      // Values in [1.5, 2) * 2^k clip to 1.5 * 2^k; elsewhere half a grid step: at most amax / 4.
      {GgmlType::MXFP4, {0.25, 0.25 + 1e-6}},
  };
  return bounds;
}

class RoundTrip : public ::testing::TestWithParam<GgmlType> {};

TEST_P(RoundTrip, ErrorWithinBoundsOnRandomRows) {
  const GgmlType type = GetParam();
  const ErrorBounds bounds = error_bounds().at(type);
  const int64_t n = 8192;
  const int64_t block = std::max<int64_t>(ggml_type_traits(type).block_size, 32);
  for (const uint64_t seed : test_seeds()) {
    SCOPED_TRACE(seed_trace(seed));
    const std::vector<float> x = random_row(seed, n);
    const std::vector<float> y = dequantize(type, quantize(type, x), n);
    double err2 = 0.0, x2 = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      err2 += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
      x2 += static_cast<double>(x[i]) * x[i];
    }
    const double relative_rmse = std::sqrt(err2 / x2);
    EXPECT_TRUE(within(relative_rmse, 0.0, bounds.relative_rmse)) << ggml_type_name(type) << " relative RMSE";
    double worst = 0.0;
    for (int64_t b = 0; b < n; b += block) {
      double amax = 0.0, max_err = 0.0;
      for (int64_t i = b; i < b + block; ++i) {
        amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
        max_err = std::max(max_err, std::fabs(static_cast<double>(x[i]) - y[i]));
      }
      worst = std::max(worst, max_err / amax);
    }
    EXPECT_TRUE(within(worst, 0.0, bounds.max_error_per_block_absmax)) << ggml_type_name(type) << " max error / amax";
  }
}

TEST_P(RoundTrip, WritesExactlyRowBytesAndIsDeterministic) {
  const GgmlType type = GetParam();
  const int64_t n = 512;
  const std::vector<float> x = random_row(11, n);
  const size_t bytes = row_bytes(type, n);
  std::vector<uint8_t> first(bytes + 64, 0xA5);
  std::vector<uint8_t> second(bytes + 64, 0x5A);
  quantize_row_reference(type, x.data(), first.data(), n);
  quantize_row_reference(type, x.data(), second.data(), n);
  for (size_t i = bytes; i < bytes + 64; ++i) {
    ASSERT_EQ(first[i], 0xA5) << "wrote past row_bytes at " << i;
    ASSERT_EQ(second[i], 0x5A) << "wrote past row_bytes at " << i;
  }
  EXPECT_TRUE(std::equal(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(bytes), second.begin()))
      << "the same row must give the same bytes, padding included";
}

TEST_P(RoundTrip, ZeroRowGivesZeros) {
  const GgmlType type = GetParam();
  const std::vector<float> x(256, 0.0f);
  const std::vector<float> y = dequantize(type, quantize(type, x), 256);
  for (float v : y) ASSERT_EQ(v, 0.0f);
}

TEST_P(RoundTrip, RejectsBadLengthsAndTypes) {
  const GgmlType type = GetParam();
  std::vector<uint8_t> bytes(4096);
  std::vector<float> x(512);
  const int64_t block = ggml_type_traits(type).block_size;
  if (block > 1) {
    EXPECT_THROW(quantize_row_reference(type, x.data(), bytes.data(), block + 1), std::invalid_argument);
    EXPECT_THROW(dequantize_row(type, bytes.data(), x.data(), block - 1), std::invalid_argument);
  }
  EXPECT_THROW(dequantize_row(type, bytes.data(), x.data(), -block), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip, ::testing::ValuesIn(all_kernel_types()), type_param_name);

TEST(RoundTripTypes, UncoveredTypesAreRejected) {
  std::vector<uint8_t> bytes(1024);
  std::vector<float> x(256);
  for (GgmlType type : {GgmlType::IQ2_XXS, GgmlType::TQ1_0, GgmlType::I8, GgmlType::Q4_2}) {
    EXPECT_FALSE(has_cpu_kernels(type));
    EXPECT_THROW(quantize_row_reference(type, x.data(), bytes.data(), 256), std::invalid_argument);
    EXPECT_THROW(dequantize_row(type, bytes.data(), x.data(), 256), std::invalid_argument);
  }
  EXPECT_EQ(cpu_kernel_types().size(), 18u);
}

// ---- ggml's reference rounding, pinned on values chosen to sit on rounding edges ----------------

std::vector<float> block_of(std::initializer_list<float> head, size_t n = 32) {
  std::vector<float> x(head);
  x.resize(n, 0.0f);
  return x;
}

TEST(ReferenceRounding, Q8_0RoundsHalfAwayFromZero) {
  // amax 127 gives d = 1, so codes are round(x) with roundf's ties away from zero.
  const std::vector<uint8_t> q = quantize(GgmlType::Q8_0, block_of({127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.49f, -126.5f}));
  EXPECT_EQ(load_u16(q, 0), 0x3C00);
  const int8_t* codes = reinterpret_cast<const int8_t*>(q.data() + 2);
  EXPECT_EQ(codes[0], 127);
  EXPECT_EQ(codes[1], 3);
  EXPECT_EQ(codes[2], -3);
  EXPECT_EQ(codes[3], 1);
  EXPECT_EQ(codes[4], -1);
  EXPECT_EQ(codes[5], 1);
  EXPECT_EQ(codes[6], -127);
}

TEST(ReferenceRounding, Q8_1StoresScaledSum) {
  const std::vector<uint8_t> q = quantize(GgmlType::Q8_1, block_of({-127.0f, 10.0f, 20.0f, 0.5f}));
  EXPECT_EQ(load_u16(q, 0), 0x3C00);                // d = 1
  EXPECT_EQ(fp16_to_fp32(load_u16(q, 2)), -96.0f);  // s = d * (-127 + 10 + 20 + 1)
}

TEST(ReferenceRounding, Q8_KRoundsHalfToEvenWithNegatedScale) {
  // The largest magnitude is +127, so iscale = -127 / 127 = -1: codes are round_even(-x), d = -1.
  std::vector<float> x = block_of({127.0f, 2.5f, 3.5f, -0.5f, 1.5f}, 256);
  const std::vector<uint8_t> q = quantize(GgmlType::Q8_K, x);
  float d;
  std::memcpy(&d, q.data(), 4);
  EXPECT_EQ(d, -1.0f);
  const int8_t* codes = reinterpret_cast<const int8_t*>(q.data() + 4);
  EXPECT_EQ(codes[0], -127);
  EXPECT_EQ(codes[1], -2);
  EXPECT_EQ(codes[2], -4);
  EXPECT_EQ(codes[3], 0);
  EXPECT_EQ(codes[4], -2);
  int16_t bsum0;
  std::memcpy(&bsum0, q.data() + 260, 2);
  EXPECT_EQ(bsum0, -127 - 2 - 4 + 0 - 2);
}

TEST(ReferenceRounding, Q4_0TruncatesAfterAddingEightAndAHalf) {
  // max = -8 (largest magnitude, negative) gives d = 1 and codes trunc(x + 8.5) capped at 15.
  const std::vector<uint8_t> q = quantize(GgmlType::Q4_0, block_of({-8.0f, 0.5f, -0.5f, 7.6f, 1.49f, 6.5f}));
  EXPECT_EQ(load_u16(q, 0), 0x3C00);
  const auto low = [&](int j) { return q[2 + j] & 0x0F; };
  EXPECT_EQ(low(0), 0);
  EXPECT_EQ(low(1), 9);
  EXPECT_EQ(low(2), 8);
  EXPECT_EQ(low(3), 15);
  EXPECT_EQ(low(4), 9);
  EXPECT_EQ(low(5), 15);
}

TEST(ReferenceRounding, Q4_1UsesMinAndRangeOverFifteen) {
  const std::vector<uint8_t> q = quantize(GgmlType::Q4_1, block_of({-1.0f, 14.0f, 1.5f, 1.49f}));
  EXPECT_EQ(load_u16(q, 0), 0x3C00);  // d = (14 - -1) / 15
  EXPECT_EQ(load_u16(q, 2), 0xBC00);  // m = -1
  EXPECT_EQ(q[4] & 0x0F, 0);
  EXPECT_EQ(q[5] & 0x0F, 15);
  EXPECT_EQ(q[6] & 0x0F, 3);  // (1.5 + 1) + 0.5 = 3
  EXPECT_EQ(q[7] & 0x0F, 2);
  EXPECT_EQ(q[4] >> 4, 1);  // element 16 is 0: (0 + 1) + 0.5 -> 1
}

TEST(ReferenceRounding, Q5_0AndQ5_1SplitTheFifthBit) {
  // Q5_0: max = -16 gives d = 1 and codes trunc(x + 16.5) capped at 31.
  const std::vector<uint8_t> q50 = quantize(GgmlType::Q5_0, block_of({-16.0f, 0.0f, 15.2f, -0.6f}));
  EXPECT_EQ(load_u16(q50, 0), 0x3C00);
  uint32_t qh;
  std::memcpy(&qh, q50.data() + 2, 4);
  const auto code50 = [&](int j) { return (q50[6 + j] & 0x0F) | ((qh >> j) & 1) << 4; };
  EXPECT_EQ(code50(0), 0);
  EXPECT_EQ(code50(1), 16);
  EXPECT_EQ(code50(2), 31);
  EXPECT_EQ(code50(3), 15);
  // Q5_1: min 0, max 31 gives d = 1, m = 0, codes trunc(x + 0.5).
  const std::vector<uint8_t> q51 = quantize(GgmlType::Q5_1, block_of({31.0f, 16.5f, 15.49f}));
  EXPECT_EQ(load_u16(q51, 0), 0x3C00);
  EXPECT_EQ(load_u16(q51, 2), 0x0000);
  std::memcpy(&qh, q51.data() + 4, 4);
  const auto code51 = [&](int j) { return (q51[8 + j] & 0x0F) | ((qh >> j) & 1) << 4; };
  EXPECT_EQ(code51(0), 31);
  EXPECT_EQ(code51(1), 17);
  EXPECT_EQ(code51(2), 15);
}

TEST(ReferenceRounding, Mxfp4PicksExponentFromAbsmaxAndNearestGridValue) {
  // amax 6: floor(log2 6) = 2 -> e = 127, half-scale 0.5, so the grid reads as E2M1
  // {0, .5, 1, 1.5, 2, 3, 4, 6}; ties go to the lower index.
  const std::vector<uint8_t> q = quantize(GgmlType::MXFP4, block_of({6.0f, -6.0f, 0.25f, 5.0f, -0.75f, 2.4f}));
  EXPECT_EQ(q[0], 127);
  const auto low = [&](int j) { return q[1 + j] & 0x0F; };
  EXPECT_EQ(low(0), 7);
  EXPECT_EQ(low(1), 15);
  EXPECT_EQ(low(2), 0);  // tie between 0 and 0.5
  EXPECT_EQ(low(3), 6);  // tie between 4 and 6
  EXPECT_EQ(low(4), 9);  // tie between -0.5 (index 9) and -1 (index 10)
  EXPECT_EQ(low(5), 4);  // 2.4 is nearest 2
  // amax 7.9 still has floor(log2) = 2: it clips to 6.
  const std::vector<uint8_t> clipped = quantize(GgmlType::MXFP4, block_of({7.9f}));
  EXPECT_EQ(clipped[0], 127);
  EXPECT_EQ(clipped[1] & 0x0F, 7);
}

}  // namespace
}  // namespace llmc
