// vec_dot (the double-precision oracle) and vec_dot_q8 (integer block sums) against
// double-precision dots of dequantized rows; AVX2 kernels against the scalar ones.
//
// Error bounds, all relative to S = sum |w_i * x_i| (the scale at which float rounding acts):
// - vec_dot: one rounding of a double sum to float: 2^-24 |result| + 1e-12 S.
// - vec_dot_q8 vs the double dot of the dequantized weight and dequantized activation rows: float
//   rounding of the per-block terms and of four partial sums over n / (4 * block) terms:
//   1e-5 S. Q4_1 / Q5_1 use Q8_1's stored s = f16(d * sum q), which adds up to
//   2^-11 * sum_blocks |m * d * sum q|.
// - vec_dot_q8 vs the f32 activation: the above plus sum |w_i| * |x_i - xq_i|, the exact effect of
//   quantizing the activation.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

#include "llmc/quants.h"
#include "quant_test_support.h"

namespace llmc {
namespace {

using namespace quants_test;

constexpr double kFloatTermsTolerance = 1e-5;

// The bound's extra term for Q8_1's rounded s (zero for other partners).
double q8_1_sum_rounding_bound(GgmlType wtype, const std::vector<uint8_t>& w, const std::vector<float>& xq) {
  if (vec_dot_partner(wtype) != GgmlType::Q8_1) return 0.0;
  const size_t block_bytes = ggml_type_traits(wtype).type_size;
  double bound = 0.0;
  for (size_t b = 0; b * 32 < xq.size(); ++b) {
    const double m = fp16_to_fp32(load_u16(w, b * block_bytes + 2));  // block_q4_1 / q5_1: m @2
    double sum = 0.0;
    for (size_t j = 0; j < 32; ++j) sum += xq[b * 32 + j];
    // q8_1 keeps s = fp16(sum(q) x d) with d before its own rounding to fp16, while the
    // dequantized activations use fp16(d): the two roundings (2^-11 each, relative) differ by up
    // to 2^-10 of |s| (and by half the subnormal step, 2^-25, where a block nearly cancels).
    bound += std::fabs(m) * (0x1p-10 * std::fabs(sum) + 0x1p-25);
  }
  return bound;
}

struct DotCase {
  std::vector<float> w_values;
  std::vector<uint8_t> w;
  std::vector<float> w_dequantized;
  std::vector<float> x;
  std::vector<uint8_t> x_partner;
  std::vector<float> x_dequantized;
};

DotCase make_case(GgmlType wtype, uint64_t seed, int64_t n) {
  DotCase c;
  c.w_values = random_row(seed, n);
  c.w = quantize(wtype, c.w_values);
  c.w_dequantized = dequantize(wtype, c.w, n);
  c.x = random_row(seed ^ 0x9E3779B97F4A7C15ull, n);
  const GgmlType partner = vec_dot_partner(wtype);
  c.x_partner = quantize(partner, c.x);
  c.x_dequantized = dequantize(partner, c.x_partner, n);
  return c;
}

class VecDot : public ::testing::TestWithParam<GgmlType> {};

TEST_P(VecDot, OracleMatchesDoubleDotOfDequantizedRow) {
  const GgmlType wtype = GetParam();
  for (const uint64_t seed : test_seeds()) {
    SCOPED_TRACE(seed_trace(seed));
    for (const int64_t n : {256, 4096, 4096 + 512}) {
      const DotCase c = make_case(wtype, seed, n);
      const double expected = dot_double(c.w_dequantized, c.x);
      const double scale = abs_dot_double(c.w_dequantized, c.x);
      const float got = vec_dot(wtype, c.w.data(), c.x.data(), n);
      EXPECT_TRUE(within(got, expected, 0x1p-24 * std::fabs(expected) + 1e-12 * scale)) << "n = " << n;
    }
  }
}

TEST_P(VecDot, Q8PathMatchesDoubleDotOfBothDequantizedRows) {
  const GgmlType wtype = GetParam();
  for (const uint64_t seed : test_seeds()) {
    SCOPED_TRACE(seed_trace(seed));
    for (const int64_t n : {256, 4096, 4096 + 512}) {
      const DotCase c = make_case(wtype, seed, n);
      const double expected = dot_double(c.w_dequantized, c.x_dequantized);
      const double bound = kFloatTermsTolerance * abs_dot_double(c.w_dequantized, c.x_dequantized) +
                           q8_1_sum_rounding_bound(wtype, c.w, c.x_dequantized);
      EXPECT_TRUE(within(vec_dot_q8(wtype, c.w.data(), c.x_partner.data(), n), expected, bound)) << "n = " << n;
      EXPECT_TRUE(within(vec_dot_q8_scalar(wtype, c.w.data(), c.x_partner.data(), n), expected, bound)) << "n = " << n;
    }
  }
}

TEST_P(VecDot, Q8PathWithinActivationQuantizationErrorOfF32Dot) {
  const GgmlType wtype = GetParam();
  const int64_t n = 4096;
  for (const uint64_t seed : test_seeds()) {
    SCOPED_TRACE(seed_trace(seed));
    const DotCase c = make_case(wtype, seed, n);
    double activation_error = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      activation_error += std::fabs(static_cast<double>(c.w_dequantized[i])) *
                          std::fabs(static_cast<double>(c.x[i]) - c.x_dequantized[i]);
    }
    const double expected = dot_double(c.w_dequantized, c.x);
    const double bound = activation_error * (1 + 1e-9) +
                         kFloatTermsTolerance * abs_dot_double(c.w_dequantized, c.x_dequantized) +
                         q8_1_sum_rounding_bound(wtype, c.w, c.x_dequantized);
    EXPECT_TRUE(within(vec_dot_q8(wtype, c.w.data(), c.x_partner.data(), n), expected, bound));
    // And the end-to-end result stays a good approximation of the exact dot with the weights.
    const double exact = dot_double(c.w_values, c.x);
    const double magnitude = abs_dot_double(c.w_values, c.x);
    EXPECT_TRUE(within(vec_dot_q8(wtype, c.w.data(), c.x_partner.data(), n), exact, 0.5 * magnitude));
  }
}

TEST_P(VecDot, DispatchedKernelIsBitIdenticalToScalar) {
  const GgmlType wtype = GetParam();
  for (const uint64_t seed : test_seeds()) {
    SCOPED_TRACE(seed_trace(seed));
    // Block counts that leave every remainder mod 4 (the AVX2 kernels take four blocks at a time).
    for (const int64_t blocks : {1, 2, 3, 4, 5, 6, 7, 33}) {
      const int64_t n = blocks * std::max<int64_t>(ggml_type_traits(wtype).block_size, 32);
      const DotCase c = make_case(wtype, seed, n);
      const float scalar = vec_dot_q8_scalar(wtype, c.w.data(), c.x_partner.data(), n);
      const float dispatched = vec_dot_q8(wtype, c.w.data(), c.x_partner.data(), n);
      ASSERT_FALSE(std::isnan(scalar));
      EXPECT_EQ(std::bit_cast<uint32_t>(dispatched), std::bit_cast<uint32_t>(scalar)) << "n = " << n;
      if (has_vec_dot_q8_avx2(wtype)) {
        const float avx2 = vec_dot_q8_avx2(wtype, c.w.data(), c.x_partner.data(), n);
        EXPECT_EQ(std::bit_cast<uint32_t>(avx2), std::bit_cast<uint32_t>(scalar)) << "n = " << n;
      }
    }
  }
}

// Scales at the edges of f16 (subnormal, largest, zero, infinity, NaN) in weights and Q8_0
// activations: the vector kernels must convert and combine them exactly as the scalar ones.
class VecDotBlockScales : public ::testing::TestWithParam<GgmlType> {};

::testing::AssertionResult same_float(float a, float b) {
  if ((std::isnan(a) && std::isnan(b)) || std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << b;
}

TEST_P(VecDotBlockScales, DispatchedKernelMatchesScalarOnExtremeScales) {
  const GgmlType wtype = GetParam();
  const auto& traits = ggml_type_traits(wtype);
  const std::vector<uint16_t> finite_halves = {0x0001, 0x03FF, 0x0400, 0x7BFF, 0x8001, 0x0000, 0xFBFF, 0x3C00, 0x0200};
  const std::vector<uint8_t> exponents = {0, 1, 2, 127, 200, 254, 255};
  const int64_t blocks = 23;
  const int64_t n = blocks * traits.block_size;
  const bool q8_0_partner = vec_dot_partner(wtype) == GgmlType::Q8_0;
  DotCase c = make_case(wtype, 4, n);
  const auto w_scale_at = [&](int64_t b) {
    return static_cast<size_t>(b) * traits.type_size + scale_offset_in_block(wtype);
  };
  for (int64_t b = 0; b < blocks; ++b) {
    if (wtype == GgmlType::MXFP4) {
      c.w[w_scale_at(b)] = exponents[b % exponents.size()];
    } else {
      store_u16(c.w, w_scale_at(b), finite_halves[b % finite_halves.size()]);
    }
  }
  if (q8_0_partner) {
    for (int64_t b = 0; b < n / 32; b += 3)
      store_u16(c.x_partner, static_cast<size_t>(b) * 34, finite_halves[b % finite_halves.size()]);
  }
  const auto expect_same = [&](const char* stage) {
    EXPECT_TRUE(same_float(vec_dot_q8(wtype, c.w.data(), c.x_partner.data(), n),
                           vec_dot_q8_scalar(wtype, c.w.data(), c.x_partner.data(), n)))
        << stage;
  };
  expect_same("finite scales");
  if (wtype != GgmlType::MXFP4) {
    store_u16(c.w, w_scale_at(5), 0x7C00);
    EXPECT_FALSE(std::isfinite(vec_dot_q8_scalar(wtype, c.w.data(), c.x_partner.data(), n)));
    expect_same("an infinite weight scale");
    store_u16(c.w, w_scale_at(5), 0x3C00);
  }
  if (q8_0_partner) {
    store_u16(c.x_partner, 34 * 4, 0xFC00);
    EXPECT_FALSE(std::isfinite(vec_dot_q8_scalar(wtype, c.w.data(), c.x_partner.data(), n)));
    expect_same("an infinite activation scale");
    store_u16(c.x_partner, 34 * 4, 0x7E01);
    expect_same("a NaN activation scale");
    store_u16(c.x_partner, 34 * 4, 0x3C00);
  }
  if (wtype != GgmlType::MXFP4) {
    store_u16(c.w, w_scale_at(7), 0x7C01);  // a signalling NaN
    EXPECT_TRUE(std::isnan(vec_dot_q8_scalar(wtype, c.w.data(), c.x_partner.data(), n)));
    expect_same("a NaN weight scale");
  }
}

TEST_P(VecDot, EmptyRowIsZeroAndBadLengthThrows) {
  const GgmlType wtype = GetParam();
  std::vector<uint8_t> bytes(4096);
  std::vector<float> x(1024);
  EXPECT_EQ(vec_dot(wtype, bytes.data(), x.data(), 0), 0.0f);
  EXPECT_EQ(vec_dot_q8(wtype, bytes.data(), bytes.data(), 0), 0.0f);
  const int64_t block = ggml_type_traits(wtype).block_size;
  if (block > 1) {
    EXPECT_THROW(vec_dot(wtype, bytes.data(), x.data(), block / 2), std::invalid_argument);
    EXPECT_THROW(vec_dot_q8(wtype, bytes.data(), bytes.data(), block / 2), std::invalid_argument);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, VecDot, ::testing::ValuesIn(all_kernel_types()), type_param_name);

// The block formats with an f16 (or E8M0) scale.
std::vector<GgmlType> block_scaled_types() {
  std::vector<GgmlType> types;
  for (GgmlType t : all_kernel_types())
    if (ggml_type_traits(t).block_size > 1 && t != GgmlType::Q8_K) types.push_back(t);
  return types;
}
INSTANTIATE_TEST_SUITE_P(BlockScaledTypes, VecDotBlockScales, ::testing::ValuesIn(block_scaled_types()),
                         type_param_name);

TEST(VecDotPartner, FollowsGgmlVecDotTypes) {
  EXPECT_EQ(vec_dot_partner(GgmlType::F32), GgmlType::F32);
  EXPECT_EQ(vec_dot_partner(GgmlType::F16), GgmlType::F16);
  EXPECT_EQ(vec_dot_partner(GgmlType::BF16), GgmlType::BF16);
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::MXFP4})
    EXPECT_EQ(vec_dot_partner(t), GgmlType::Q8_0) << ggml_type_name(t);
  for (GgmlType t : {GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::Q8_1})
    EXPECT_EQ(vec_dot_partner(t), GgmlType::Q8_1) << ggml_type_name(t);
  for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K,
                     GgmlType::IQ4_XS})
    EXPECT_EQ(vec_dot_partner(t), GgmlType::Q8_K) << ggml_type_name(t);
  EXPECT_THROW(vec_dot_partner(GgmlType::IQ2_XS), std::invalid_argument);
}

TEST(VecDotAvx2, CoversTheHotTypesWhenTheCpuHasAvx2) {
  if (!has_vec_dot_q8_avx2(GgmlType::Q4_0)) GTEST_SKIP() << "this CPU has no AVX2; the scalar kernels run";
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::MXFP4, GgmlType::Q4_K, GgmlType::Q5_K,
                     GgmlType::Q6_K, GgmlType::IQ4_XS}) {
    EXPECT_TRUE(has_vec_dot_q8_avx2(t)) << ggml_type_name(t);
  }
  EXPECT_FALSE(has_vec_dot_q8_avx2(GgmlType::Q2_K));
  std::vector<uint8_t> bytes(1024);
  EXPECT_THROW(vec_dot_q8_avx2(GgmlType::Q2_K, bytes.data(), bytes.data(), 256), std::invalid_argument);
}

// Hand-checkable integer semantics: one Q4_0 block of codes 9 (value +1 * d) against a Q8_0 block
// of ones, and one Q4_K super-block with a min term.
TEST(VecDotKnownValues, Q4_0TimesQ8_0) {
  std::vector<uint8_t> w(18);
  store_u16(w, 0, 0x3800);                       // d = 0.5
  for (int j = 0; j < 16; ++j) w[2 + j] = 0x99;  // every code 9 -> (9 - 8) * 0.5
  const std::vector<uint8_t> x = quantize(GgmlType::Q8_0, std::vector<float>(32, 127.0f));  // d = 1, q = 127
  EXPECT_EQ(vec_dot_q8(GgmlType::Q4_0, w.data(), x.data(), 32), 32 * 127 * 0.5f);
  EXPECT_EQ(vec_dot_q8_scalar(GgmlType::Q4_0, w.data(), x.data(), 32), 32 * 127 * 0.5f);
}

TEST(VecDotKnownValues, Q4_KMinTermUsesBsums) {
  std::vector<uint8_t> w(144);
  store_u16(w, 0, 0x3C00);  // d = 1
  store_u16(w, 2, 0x3C00);  // dmin = 1
  // Every scale 1 and min 2 (6-bit fields in bytes 0-7; bytes 8-11 give scales/mins 4-7 low nibbles).
  for (int j = 0; j < 4; ++j) {
    w[4 + j] = 1;
    w[8 + j] = 2;
    w[12 + j] = 0x21;
  }
  for (int i = 0; i < 128; ++i) w[16 + i] = 0x33;  // every code 3 -> value 3 * 1 - 2 = 1
  const std::vector<uint8_t> x = quantize(GgmlType::Q8_K, std::vector<float>(256, -127.0f));  // d = 1, q = -127
  // 256 * (1 * -127) = -32512
  EXPECT_EQ(vec_dot_q8(GgmlType::Q4_K, w.data(), x.data(), 256), -32512.0f);
  EXPECT_EQ(vec_dot_q8_scalar(GgmlType::Q4_K, w.data(), x.data(), 256), -32512.0f);
  EXPECT_EQ(vec_dot(GgmlType::Q4_K, w.data(), std::vector<float>(256, -127.0f).data(), 256), -32512.0f);
}

}  // namespace
}  // namespace llmc
