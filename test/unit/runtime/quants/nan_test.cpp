// NaN never passes: the comparison helpers reject it, a non-finite input poisons its block, and a
// NaN in a scale or an activation reaches every dot product that touches it.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "llmc/quants.h"
#include "quant_test_support.h"

namespace llmc {
namespace {

using namespace quants_test;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(ComparisonHelpers, RejectNaNAndInfinity) {
  EXPECT_TRUE(within(1.0, 1.0, 0.0));
  EXPECT_TRUE(within(1.0, 1.5, 0.5));
  EXPECT_FALSE(within(1.0, 1.5, 0.49));
  EXPECT_FALSE(within(kNaN, 1.0, 1e30));
  EXPECT_FALSE(within(1.0, kNaN, 1e30));
  EXPECT_FALSE(within(kNaN, kNaN, 1e30));
  EXPECT_FALSE(within(1.0, 1.0, kNaN));
  EXPECT_FALSE(within(INFINITY, INFINITY, 1e30));
  EXPECT_FALSE(within(INFINITY, 1.0, 1e30));
}

bool is_float_type(GgmlType type) { return ggml_type_traits(type).block_size == 1; }

class NaNHandling : public ::testing::TestWithParam<GgmlType> {};

// A NaN or an infinity poisons exactly its own block (its own element for the float formats).
TEST_P(NaNHandling, NonFiniteInputPoisonsItsBlock) {
  const GgmlType type = GetParam();
  const int64_t n = 1024;
  const int64_t block = ggml_type_traits(type).block_size;
  for (const float bad : {kNaN, INFINITY, -INFINITY}) {
    SCOPED_TRACE("input " + std::to_string(bad));
    std::vector<float> x = random_row(3, n);
    const int64_t poisoned = 300;
    x[poisoned] = bad;
    if (type == GgmlType::MXFP4) {
      std::vector<uint8_t> bytes(row_bytes(type, n));
      EXPECT_THROW(quantize_row_reference(type, x.data(), bytes.data(), n), std::domain_error);
      continue;
    }
    const std::vector<float> y = dequantize(type, quantize(type, x), n);
    const int64_t first = poisoned / block * block;
    for (int64_t i = 0; i < n; ++i) {
      const bool in_block = i >= first && i < first + block;
      if (!in_block) {
        ASSERT_TRUE(std::isfinite(y[i])) << "element " << i << " outside the poisoned block";
      } else if (is_float_type(type)) {
        ASSERT_EQ(std::isnan(y[i]), std::isnan(bad)) << "element " << i;
        ASSERT_FALSE(std::isfinite(y[i])) << "element " << i;
      } else {
        ASSERT_TRUE(std::isnan(y[i])) << "element " << i << " inside the poisoned block";
      }
    }
  }
}

TEST_P(NaNHandling, NaNActivationReachesEveryDot) {
  const GgmlType type = GetParam();
  const int64_t n = 512;
  const std::vector<uint8_t> w = quantize(type, random_row(5, n));
  std::vector<float> x = random_row(6, n);
  x[77] = kNaN;
  EXPECT_TRUE(std::isnan(vec_dot(type, w.data(), x.data(), n)));
  const std::vector<uint8_t> x_partner = quantize(vec_dot_partner(type), x);
  EXPECT_TRUE(std::isnan(vec_dot_q8(type, w.data(), x_partner.data(), n)));
  EXPECT_TRUE(std::isnan(vec_dot_q8_scalar(type, w.data(), x_partner.data(), n)));
  std::vector<float> y(3, 0.0f);
  std::vector<uint8_t> matrix;
  for (int r = 0; r < 3; ++r) matrix.insert(matrix.end(), w.begin(), w.end());
  matvec(type, matrix.data(), 3, n, x.data(), y.data());
  for (float v : y) EXPECT_TRUE(std::isnan(v));
}

class NaNScale : public ::testing::TestWithParam<GgmlType> {};

TEST_P(NaNScale, NaNScaleInAWeightBlockReachesEveryDot) {
  const GgmlType type = GetParam();
  const int64_t n = 512;
  std::vector<uint8_t> w = quantize(type, random_row(8, n));
  if (type == GgmlType::F32 || type == GgmlType::Q8_K) {
    std::memcpy(w.data(), &kNaN, sizeof kNaN);
  } else if (type == GgmlType::BF16) {
    store_u16(w, 0, 0x7FC0);
  } else {
    store_u16(w, scale_offset_in_block(type), 0x7E00);
  }
  const std::vector<float> y = dequantize(type, w, n);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isfinite(y[n - 1]));
  const std::vector<float> x = random_row(9, n);
  EXPECT_TRUE(std::isnan(vec_dot(type, w.data(), x.data(), n)));
  const std::vector<uint8_t> x_partner = quantize(vec_dot_partner(type), x);
  EXPECT_TRUE(std::isnan(vec_dot_q8(type, w.data(), x_partner.data(), n)));
  EXPECT_TRUE(std::isnan(vec_dot_q8_scalar(type, w.data(), x_partner.data(), n)));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, NaNHandling, ::testing::ValuesIn(all_kernel_types()), type_param_name);

// Every type but MXFP4, whose E8M0 scale has no NaN in ggml (0xFF decodes to 2^127, below).
std::vector<GgmlType> types_with_nan_scales() {
  std::vector<GgmlType> types;
  for (GgmlType t : all_kernel_types())
    if (t != GgmlType::MXFP4) types.push_back(t);
  return types;
}
INSTANTIATE_TEST_SUITE_P(TypesWithNaNScales, NaNScale, ::testing::ValuesIn(types_with_nan_scales()), type_param_name);

TEST(NaNHandlingMxfp4, LargestExponentDecodesFinite) {
  std::vector<uint8_t> block(17, 0);
  block[0] = 0xFF;
  block[1] = 0x01;
  const std::vector<float> y = dequantize(GgmlType::MXFP4, block, 32);
  EXPECT_EQ(y[0], 0x1p127f);
}

}  // namespace
}  // namespace llmc
