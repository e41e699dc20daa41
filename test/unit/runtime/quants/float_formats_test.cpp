// f16, bf16 and E8M0 conversions, checked over every bit pattern against formulas written
// independently of the bit manipulation in quants.h.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "llmc/quants.h"

namespace llmc {
namespace {

uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }

// The value of a binary16 pattern from the IEEE definition; NaN payloads aside.
double fp16_value(uint16_t h) {
  const int sign = h >> 15 ? -1 : 1;
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  if (exponent == 31) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * HUGE_VAL;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

double bf16_value(uint16_t b) {
  const int sign = b >> 15 ? -1 : 1;
  const int exponent = (b >> 7) & 0xFF;
  const int mantissa = b & 0x7F;
  if (exponent == 255) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * HUGE_VAL;
  if (exponent == 0) return sign * std::ldexp(mantissa, -133);
  return sign * std::ldexp(128 + mantissa, exponent - 134);
}

TEST(Fp16, ToFp32IsExactForAll65536Patterns) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float got = fp16_to_fp32(static_cast<uint16_t>(h));
    const double want = fp16_value(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      // Sign and payload kept, made quiet (as F16C converts).
      const uint32_t expected = (h & 0x8000u) << 16 | 0x7FC00000u | (h & 0x3FFu) << 13;
      ASSERT_EQ(bits_of(got), expected) << "pattern 0x" << std::hex << h;
    } else {
      ASSERT_EQ(bits_of(got), bits_of(static_cast<float>(want))) << "pattern 0x" << std::hex << h;
    }
  }
}

// Every rounding decision of fp32 -> fp16 sits at a midpoint between neighbouring halves: check
// each half itself, each midpoint (ties to even) and the floats just either side of it.
TEST(Fp16, FromFp32RoundsToNearestEvenAtEveryBoundary) {
  for (uint32_t sign : {0u, 0x8000u}) {
    for (uint32_t h = 0; h < 0x7C00; ++h) {
      const uint16_t lower = static_cast<uint16_t>(sign | h);
      const uint16_t upper = static_cast<uint16_t>(sign | (h + 1));
      const double lower_value = fp16_value(lower);
      // Past the largest half the next "value" is 2^16, where rounding goes to infinity.
      const double upper_value = h + 1 == 0x7C00 ? (sign ? -65536.0 : 65536.0) : fp16_value(upper);
      ASSERT_EQ(fp32_to_fp16(static_cast<float>(lower_value)), lower) << "half 0x" << std::hex << lower;
      const float midpoint = static_cast<float>((lower_value + upper_value) / 2);  // exact: 12 bits
      ASSERT_EQ(static_cast<double>(midpoint), (lower_value + upper_value) / 2);
      const uint16_t even = (h & 1) ? upper : lower;
      ASSERT_EQ(fp32_to_fp16(midpoint), even) << "midpoint above 0x" << std::hex << lower;
      const float toward_lower = std::nextafter(midpoint, static_cast<float>(lower_value));
      const float toward_upper = std::nextafter(midpoint, sign ? -INFINITY : INFINITY);
      ASSERT_EQ(fp32_to_fp16(toward_lower), lower) << "just below midpoint above 0x" << std::hex << lower;
      ASSERT_EQ(fp32_to_fp16(toward_upper), upper) << "just above midpoint above 0x" << std::hex << lower;
    }
  }
  EXPECT_EQ(fp32_to_fp16(INFINITY), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(-INFINITY), 0xFC00);
  EXPECT_EQ(fp32_to_fp16(1e30f), 0x7C00);
  EXPECT_EQ(fp32_to_fp16(1e-30f), 0x0000);
  EXPECT_EQ(fp32_to_fp16(-1e-30f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
}

TEST(Fp16, FromFp32KeepsNaNQuietWithSign) {
  const uint16_t positive = fp32_to_fp16(std::bit_cast<float>(0x7F800001u));  // signalling NaN
  const uint16_t negative = fp32_to_fp16(std::bit_cast<float>(0xFFC00000u));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(positive)));
  EXPECT_EQ(positive & 0x7E00, 0x7E00);
  EXPECT_EQ(positive & 0x8000, 0);
  EXPECT_TRUE(std::isnan(fp16_to_fp32(negative)));
  EXPECT_EQ(negative & 0x8000, 0x8000);
}

#if defined(__FLT16_MAX__)
// A second, independent reference: the compiler's own float -> _Float16 conversion.
TEST(Fp16, FromFp32MatchesCompilerConversionOnRandomFloats) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> any_bits;
  // Concentrate on exponents near the half range, where rounding happens.
  std::uniform_int_distribution<uint32_t> near_range(0x33000000u, 0x47FFFFFFu);
  for (int i = 0; i < 2'000'000; ++i) {
    const uint32_t bits = (i % 2 ? any_bits(rng) : near_range(rng)) | (i % 3 == 0 ? 0x80000000u : 0u);
    const float f = std::bit_cast<float>(bits);
    if (std::isnan(f)) continue;
    const _Float16 reference = static_cast<_Float16>(f);
    ASSERT_EQ(fp32_to_fp16(f), std::bit_cast<uint16_t>(reference)) << "float bits 0x" << std::hex << bits;
  }
}
#endif

TEST(Bf16, ToFp32IsExactForAll65536Patterns) {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const float got = bf16_to_fp32(static_cast<uint16_t>(b));
    const double want = bf16_value(static_cast<uint16_t>(b));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got));
      ASSERT_EQ(bits_of(got), b << 16) << "NaN payload must be kept, pattern 0x" << std::hex << b;
    } else {
      ASSERT_EQ(bits_of(got), bits_of(static_cast<float>(want))) << "pattern 0x" << std::hex << b;
    }
  }
}

TEST(Bf16, FromFp32RoundsToNearestEvenAtEveryBoundary) {
  for (uint32_t sign : {0u, 0x8000u}) {
    for (uint32_t b = 0; b < 0x7F80; ++b) {
      const uint16_t lower = static_cast<uint16_t>(sign | b);
      const uint16_t upper = static_cast<uint16_t>(sign | (b + 1));
      const double lower_value = bf16_value(lower);
      const double upper_value = b + 1 == 0x7F80 ? (sign ? -1.0 : 1.0) * std::ldexp(1.0, 128) : bf16_value(upper);
      ASSERT_EQ(fp32_to_bf16(static_cast<float>(lower_value)), lower) << "bf16 0x" << std::hex << lower;
      const float midpoint = static_cast<float>((lower_value + upper_value) / 2);
      ASSERT_EQ(static_cast<double>(midpoint), (lower_value + upper_value) / 2);
      const uint16_t even = (b & 1) ? upper : lower;
      ASSERT_EQ(fp32_to_bf16(midpoint), even) << "midpoint above 0x" << std::hex << lower;
      ASSERT_EQ(fp32_to_bf16(std::nextafter(midpoint, static_cast<float>(lower_value))), lower);
      ASSERT_EQ(fp32_to_bf16(std::nextafter(midpoint, sign ? -INFINITY : INFINITY)), upper);
    }
  }
  EXPECT_EQ(fp32_to_bf16(INFINITY), 0x7F80);
  EXPECT_EQ(fp32_to_bf16(-INFINITY), 0xFF80);
}

TEST(Bf16, FromFp32QuietsNaN) {
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7F800001u)), 0x7FC0);  // ggml ORs in the quiet bit
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0xFFC00000u)), 0xFFC0);
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(NAN))));
}

TEST(E8m0, HalfScaleIsTwoToTheEMinus128ForAll256Exponents) {
  for (int e = 0; e < 256; ++e) {
    const float want = static_cast<float>(std::ldexp(1.0, e - 128));
    ASSERT_EQ(bits_of(e8m0_to_fp32_half(static_cast<uint8_t>(e))), bits_of(want)) << "e = " << e;
  }
  EXPECT_EQ(bits_of(e8m0_to_fp32_half(0)), 0x00200000u);  // 2^-128, a float subnormal
  EXPECT_EQ(bits_of(e8m0_to_fp32_half(1)), 0x00400000u);  // 2^-127
  EXPECT_EQ(e8m0_to_fp32_half(127), 0.5f);
  EXPECT_EQ(e8m0_to_fp32_half(128), 1.0f);
  EXPECT_FALSE(std::isnan(e8m0_to_fp32_half(255)));  // ggml has no NaN for 0xFF
}

}  // namespace
}  // namespace llmc
