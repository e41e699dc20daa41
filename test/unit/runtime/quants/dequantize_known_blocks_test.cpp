// Dequantization of hand-built blocks. Each block is written byte by byte from ggml's block
// structs (ggml-common.h; offsets below), and the expected values come either from literals
// worked out by hand or from a per-element formula that reads the layout description directly
// (element index -> byte, bit and scale), independent of the loops in dequantize.cpp.

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "llmc/quants.h"
#include "quant_test_support.h"

namespace llmc {
namespace {

using quants_test::dequantize;
using quants_test::store_u16;

constexpr uint16_t kHalfOne = 0x3C00;      // 1.0
constexpr uint16_t kHalfHalf = 0x3800;     // 0.5
constexpr uint16_t kHalfQuarter = 0x3400;  // 0.25
constexpr uint16_t kHalfEighth = 0x3000;   // 0.125
constexpr uint16_t kHalfMinusOne = 0xBC00;
constexpr uint16_t kHalfTwo = 0x4000;

constexpr std::array<int, 16> kIq4nl = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
constexpr std::array<int, 16> kMxfp4 = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// A deterministic mix of byte values for code arrays.
uint8_t mixed_byte(int i) { return static_cast<uint8_t>((i * 73 + 41) ^ (i >> 2)); }

void expect_values(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i]))
        << "element " << i << ": got " << got[i] << ", want " << want[i];
  }
}

TEST(DequantizeKnownBlocks, F32) {
  const std::vector<float> x = {1.5f, -0.0f, 3e38f, -1e-45f};
  std::vector<uint8_t> bytes(16);
  std::memcpy(bytes.data(), x.data(), 16);
  expect_values(dequantize(GgmlType::F32, bytes, 4), x);
}

TEST(DequantizeKnownBlocks, F16) {
  std::vector<uint8_t> bytes(12);
  const uint16_t h[6] = {0x3C00, 0xC000, 0x3555, 0x0001, 0x7BFF, 0xFC00};
  std::memcpy(bytes.data(), h, sizeof h);
  expect_values(dequantize(GgmlType::F16, bytes, 6), {1.0f, -2.0f, 0.333251953125f, 0x1p-24f, 65504.0f, -INFINITY});
}

TEST(DequantizeKnownBlocks, Bf16) {
  std::vector<uint8_t> bytes(8);
  const uint16_t b[4] = {0x3F80, 0xC049, 0x0001, 0x7F80};
  std::memcpy(bytes.data(), b, sizeof b);
  expect_values(dequantize(GgmlType::BF16, bytes, 4), {1.0f, -3.140625f, 0x1p-133f, INFINITY});
}

// block_q4_0: d (f16) @0, qs[16] @2; element j < 16 low nibble of qs[j], j >= 16 high nibble of qs[j-16].
TEST(DequantizeKnownBlocks, Q4_0) {
  std::vector<uint8_t> bytes(18);
  store_u16(bytes, 0, kHalfHalf);
  for (int j = 0; j < 16; ++j) bytes[2 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = (j - 8) * 0.5f;
    want[j + 16] = (7 - j) * 0.5f;
  }
  EXPECT_EQ(want[0], -4.0f);
  EXPECT_EQ(want[16], 3.5f);
  expect_values(dequantize(GgmlType::Q4_0, bytes, 32), want);
}

// block_q4_1: d @0, m @2, qs[16] @4; value = q * d + m.
TEST(DequantizeKnownBlocks, Q4_1) {
  std::vector<uint8_t> bytes(20);
  store_u16(bytes, 0, kHalfQuarter);
  store_u16(bytes, 2, kHalfMinusOne);
  for (int j = 0; j < 16; ++j) bytes[4 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = j * 0.25f - 1.0f;
    want[j + 16] = (15 - j) * 0.25f - 1.0f;
  }
  EXPECT_EQ(want[16], 2.75f);
  expect_values(dequantize(GgmlType::Q4_1, bytes, 32), want);
}

// The fifth bit of element e is bit e of the little-endian 32-bit word qh.
int q5_code(const std::vector<uint8_t>& bytes, size_t qh_offset, size_t qs_offset, int e) {
  uint32_t qh;
  std::memcpy(&qh, bytes.data() + qh_offset, 4);
  const int nibble = e < 16 ? bytes[qs_offset + e] & 0x0F : bytes[qs_offset + e - 16] >> 4;
  return nibble | static_cast<int>((qh >> e) & 1) << 4;
}

// block_q5_0: d @0, qh[4] @2, qs[16] @6; value = (code - 16) * d.
TEST(DequantizeKnownBlocks, Q5_0) {
  std::vector<uint8_t> bytes(22);
  store_u16(bytes, 0, kHalfOne);
  const uint32_t qh = 0xAAAA5555u;
  std::memcpy(bytes.data() + 2, &qh, 4);
  for (int j = 0; j < 16; ++j) bytes[6 + j] = static_cast<uint8_t>(j | j << 4);
  std::vector<float> want(32);
  for (int e = 0; e < 32; ++e) want[e] = static_cast<float>(q5_code(bytes, 2, 6, e) - 16);
  // By hand: element 0 has nibble 0 and qh bit 1 -> 16 - 16 = 0; element 1 nibble 1, bit 0 -> -15;
  // element 17 nibble 1, bit 17 of 0xAAAA5555 = 1 -> 17 - 16 = 1.
  EXPECT_EQ(want[0], 0.0f);
  EXPECT_EQ(want[1], -15.0f);
  EXPECT_EQ(want[17], 1.0f);
  expect_values(dequantize(GgmlType::Q5_0, bytes, 32), want);
}

// block_q5_1: d @0, m @2, qh[4] @4, qs[16] @8; value = code * d + m.
TEST(DequantizeKnownBlocks, Q5_1) {
  std::vector<uint8_t> bytes(24);
  store_u16(bytes, 0, kHalfHalf);
  store_u16(bytes, 2, kHalfTwo);
  const uint32_t qh = 0x0F0F00FFu;
  std::memcpy(bytes.data() + 4, &qh, 4);
  for (int j = 0; j < 16; ++j) bytes[8 + j] = mixed_byte(j);
  std::vector<float> want(32);
  for (int e = 0; e < 32; ++e) want[e] = q5_code(bytes, 4, 8, e) * 0.5f + 2.0f;
  expect_values(dequantize(GgmlType::Q5_1, bytes, 32), want);
}

// block_q8_0: d @0, qs[32] @2.
TEST(DequantizeKnownBlocks, Q8_0) {
  std::vector<uint8_t> bytes(34);
  store_u16(bytes, 0, kHalfEighth);
  std::vector<float> want(32);
  for (int j = 0; j < 32; ++j) {
    const int8_t q = static_cast<int8_t>(8 * j - 128);
    bytes[2 + j] = static_cast<uint8_t>(q);
    want[j] = q * 0.125f;
  }
  EXPECT_EQ(want[0], -16.0f);
  expect_values(dequantize(GgmlType::Q8_0, bytes, 32), want);
}

// block_q8_1: d @0, s @2 (not used by dequantization), qs[32] @4.
TEST(DequantizeKnownBlocks, Q8_1) {
  std::vector<uint8_t> bytes(36);
  store_u16(bytes, 0, kHalfQuarter);
  store_u16(bytes, 2, 0x7E00);
  std::vector<float> want(32);
  for (int j = 0; j < 32; ++j) {
    const int8_t q = static_cast<int8_t>(127 - 8 * j);
    bytes[4 + j] = static_cast<uint8_t>(q);
    want[j] = q * 0.25f;
  }
  expect_values(dequantize(GgmlType::Q8_1, bytes, 32), want);
}

// Q2_K / Q3_K code position: element e = 128*half + 32*k + l -> bits 2k..2k+1 of qs[32*half + l].
int two_bit_code(const std::vector<uint8_t>& bytes, size_t qs_offset, int e) {
  const int half = e / 128, k = (e % 128) / 32, l = e % 32;
  return (bytes[qs_offset + 32 * half + l] >> (2 * k)) & 3;
}

// block_q2_K: scales[16] @0 (low nibble scale, high nibble min, one per 16 elements), qs[64] @16,
// d @80, dmin @82; value = d * scale * code - dmin * min.
TEST(DequantizeKnownBlocks, Q2_K) {
  std::vector<uint8_t> bytes(84);
  for (int g = 0; g < 16; ++g) bytes[g] = static_cast<uint8_t>(g | (15 - g) << 4);
  for (int i = 0; i < 64; ++i) bytes[16 + i] = mixed_byte(i);
  store_u16(bytes, 80, kHalfOne);
  store_u16(bytes, 82, kHalfHalf);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int g = e / 16;
    want[e] = 1.0f * g * two_bit_code(bytes, 16, e) - 0.5f * (15 - g);
  }
  // By hand: element 0 is in group 0 (scale 0, min 15) -> -7.5 whatever its code.
  EXPECT_EQ(want[0], -7.5f);
  expect_values(dequantize(GgmlType::Q2_K, bytes, 256), want);
}

// block_q3_K: hmask[32] @0, qs[64] @32, scales[12] @96, d @108. Code = low two bits minus 4 unless
// the hmask bit (bit 4*half + k of hmask[l]) is set; scale i is 6 bits stored with +32.
TEST(DequantizeKnownBlocks, Q3_K_AllScalesPlusOne) {
  std::vector<uint8_t> bytes(110);
  // 33 = 0b10'0001: low nibble 1 in every nibble of bytes 0-7, top bits 0b10 in every 2-bit field of
  // bytes 8-11 -> every scale decodes to 33 - 32 = +1.
  for (int i = 0; i < 8; ++i) bytes[96 + i] = 0x11;
  for (int i = 8; i < 12; ++i) bytes[96 + i] = 0xAA;
  for (int i = 0; i < 32; ++i) bytes[i] = mixed_byte(i + 100);
  for (int i = 0; i < 64; ++i) bytes[32 + i] = mixed_byte(i);
  store_u16(bytes, 108, kHalfOne);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int half = e / 128, k = (e % 128) / 32, l = e % 32;
    const bool high = (bytes[l] >> (4 * half + k)) & 1;
    want[e] = static_cast<float>(two_bit_code(bytes, 32, e) - (high ? 0 : 4));
  }
  expect_values(dequantize(GgmlType::Q3_K, bytes, 256), want);
}

TEST(DequantizeKnownBlocks, Q3_K_SixteenDistinctScales) {
  std::vector<uint8_t> bytes(110);
  int stored[16];
  for (int i = 0; i < 16; ++i) stored[i] = (4 * i + 1) & 63;  // 1, 5, ..., 61 -> signed -31..29
  for (int i = 0; i < 16; ++i) {
    const int low = stored[i] & 0x0F, top = stored[i] >> 4;
    bytes[96 + i % 8] |= static_cast<uint8_t>(i < 8 ? low : low << 4);
    bytes[96 + 8 + i % 4] |= static_cast<uint8_t>(top << (2 * (i / 4)));
  }
  for (int i = 0; i < 32; ++i) bytes[i] = mixed_byte(i + 7);
  for (int i = 0; i < 64; ++i) bytes[32 + i] = mixed_byte(3 * i);
  store_u16(bytes, 108, kHalfQuarter);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int half = e / 128, k = (e % 128) / 32, l = e % 32;
    const bool high = (bytes[l] >> (4 * half + k)) & 1;
    const float dl = 0.25f * (stored[e / 16] - 32);
    want[e] = dl * (two_bit_code(bytes, 32, e) - (high ? 0 : 4));
  }
  expect_values(dequantize(GgmlType::Q3_K, bytes, 256), want);
}

// Q4_K / Q5_K packed scales: scales {1, 2, 3, 4, 40, 50, 60, 63}, mins {0, 5, 10, 15, 20, 33, 48, 62},
// packed by hand. Bytes 0-3: scale j | (scale j+4 >> 4) << 6; bytes 4-7: min j | (min j+4 >> 4) << 6;
// bytes 8-11: (scale j+4 & 15) | (min j+4 & 15) << 4.
constexpr std::array<uint8_t, 12> kPackedScaleMins = {0x81, 0xC2, 0xC3, 0xC4, 0x40, 0x85,
                                                      0xCA, 0xCF, 0x48, 0x12, 0x0C, 0xEF};
constexpr std::array<int, 8> kScales = {1, 2, 3, 4, 40, 50, 60, 63};
constexpr std::array<int, 8> kMins = {0, 5, 10, 15, 20, 33, 48, 62};

// block_q4_K: d @0, dmin @2, scales[12] @4, qs[128] @16. Element e = 64*c + 32*h + l is the low
// (h = 0) or high nibble of qs[32*c + l], in sub-block e / 32.
TEST(DequantizeKnownBlocks, Q4_K) {
  std::vector<uint8_t> bytes(144);
  store_u16(bytes, 0, kHalfOne);
  store_u16(bytes, 2, kHalfHalf);
  std::memcpy(bytes.data() + 4, kPackedScaleMins.data(), 12);
  for (int i = 0; i < 128; ++i) bytes[16 + i] = static_cast<uint8_t>(i * 7);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, h = (e % 64) / 32, l = e % 32, g = e / 32;
    const int byte = bytes[16 + 32 * c + l];
    const int q = h ? byte >> 4 : byte & 0x0F;
    want[e] = 1.0f * kScales[g] * q - 0.5f * kMins[g];
  }
  // By hand: element 1 = code 7 (qs[1] = 7) * scale 1 - 0 = 7; element 32 = 0 * 2 - 0.5 * 5;
  // element 255 = high nibble of qs[127] = 889 mod 256 = 0x79 -> 7 * 63 - 0.5 * 62 = 410.
  EXPECT_EQ(want[1], 7.0f);
  EXPECT_EQ(want[32], -2.5f);
  EXPECT_EQ(want[255], 410.0f);
  expect_values(dequantize(GgmlType::Q4_K, bytes, 256), want);
}

// block_q5_K: d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48; the fifth bit of element
// e = 64*c + 32*h + l is bit 2c + h of qh[l].
TEST(DequantizeKnownBlocks, Q5_K) {
  std::vector<uint8_t> bytes(176);
  store_u16(bytes, 0, kHalfQuarter);
  store_u16(bytes, 2, kHalfOne);
  std::memcpy(bytes.data() + 4, kPackedScaleMins.data(), 12);
  for (int i = 0; i < 32; ++i) bytes[16 + i] = mixed_byte(i + 5);
  for (int i = 0; i < 128; ++i) bytes[48 + i] = mixed_byte(i);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, h = (e % 64) / 32, l = e % 32, g = e / 32;
    const int byte = bytes[48 + 32 * c + l];
    const int q = (h ? byte >> 4 : byte & 0x0F) | ((bytes[16 + l] >> (2 * c + h)) & 1) << 4;
    want[e] = 0.25f * kScales[g] * q - 1.0f * kMins[g];
  }
  expect_values(dequantize(GgmlType::Q5_K, bytes, 256), want);
}

// block_q6_K: ql[128] @0, qh[64] @128, scales[16] (int8) @192, d @208. Element
// e = 128*half + 32*k + l: low nibble (k < 2) or high nibble of ql[64*half + 32*(k%2) + l], top two
// bits from bits 2k..2k+1 of qh[32*half + l]; value = d * scale[e/16] * (code - 32).
TEST(DequantizeKnownBlocks, Q6_K) {
  const std::array<int8_t, 16> scales = {-128, -64, -1, 0, 1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 127, 100};
  std::vector<uint8_t> bytes(210);
  for (int i = 0; i < 128; ++i) bytes[i] = mixed_byte(i);
  for (int i = 0; i < 64; ++i) bytes[128 + i] = mixed_byte(i + 200);
  std::memcpy(bytes.data() + 192, scales.data(), 16);
  store_u16(bytes, 208, kHalfQuarter);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int half = e / 128, k = (e % 128) / 32, l = e % 32;
    const int low_byte = bytes[64 * half + 32 * (k % 2) + l];
    const int low = k < 2 ? low_byte & 0x0F : low_byte >> 4;
    const int top = (bytes[128 + 32 * half + l] >> (2 * k)) & 3;
    want[e] = 0.25f * scales[e / 16] * ((low | top << 4) - 32);
  }
  expect_values(dequantize(GgmlType::Q6_K, bytes, 256), want);

  // All-zero codes are -32 everywhere: element 0 = 0.25 * -128 * -32 = 1024.
  std::vector<uint8_t> zero_codes(210);
  std::memcpy(zero_codes.data() + 192, scales.data(), 16);
  store_u16(zero_codes, 208, kHalfQuarter);
  EXPECT_EQ(dequantize(GgmlType::Q6_K, zero_codes, 256)[0], 1024.0f);
}

// block_q8_K: d (f32) @0, qs[256] @4, bsums[16] @260 (not used by dequantization).
TEST(DequantizeKnownBlocks, Q8_K) {
  std::vector<uint8_t> bytes(292);
  const float d = 0.1f;
  std::memcpy(bytes.data(), &d, 4);
  std::vector<float> want(256);
  for (int j = 0; j < 256; ++j) {
    const int8_t q = static_cast<int8_t>(j - 128);
    bytes[4 + j] = static_cast<uint8_t>(q);
    want[j] = d * q;
  }
  expect_values(dequantize(GgmlType::Q8_K, bytes, 256), want);
}

// block_iq4_nl: d @0, qs[16] @2, nibbles index the non-linear grid, halves split as Q4_0.
TEST(DequantizeKnownBlocks, Iq4Nl) {
  std::vector<uint8_t> bytes(18);
  store_u16(bytes, 0, kHalfHalf);
  for (int j = 0; j < 16; ++j) bytes[2 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 0.5f * kIq4nl[j];
    want[j + 16] = 0.5f * kIq4nl[15 - j];
  }
  EXPECT_EQ(want[0], -63.5f);
  EXPECT_EQ(want[16], 56.5f);
  expect_values(dequantize(GgmlType::IQ4_NL, bytes, 32), want);
}

// block_iq4_xs: d @0, scales_h (u16) @2, scales_l[4] @4, qs[128] @8. Sub-block ib's 6-bit scale:
// low nibble of scales_l[ib/2] (high nibble for odd ib) | bits 2ib..2ib+1 of scales_h << 4, minus 32.
TEST(DequantizeKnownBlocks, Iq4Xs) {
  // Stored scales {0, 1, 31, 32, 33, 47, 62, 63}, packed by hand.
  const std::array<int, 8> stored = {0, 1, 31, 32, 33, 47, 62, 63};
  std::vector<uint8_t> bytes(136);
  store_u16(bytes, 0, kHalfHalf);
  store_u16(bytes, 2, 0xFA90);
  const uint8_t scales_l[4] = {0x10, 0x0F, 0xF1, 0xFE};
  std::memcpy(bytes.data() + 4, scales_l, 4);
  for (int i = 0; i < 128; ++i) bytes[8 + i] = mixed_byte(i);
  std::vector<float> want(256);
  for (int e = 0; e < 256; ++e) {
    const int ib = e / 32, j = e % 32;
    const int byte = bytes[8 + 16 * ib + j % 16];
    const int index = j < 16 ? byte & 0x0F : byte >> 4;
    want[e] = (0.5f * (stored[ib] - 32)) * kIq4nl[index];
  }
  expect_values(dequantize(GgmlType::IQ4_XS, bytes, 256), want);
}

// block_mxfp4: e (E8M0) @0, qs[16] @1; value = doubled E2M1 grid value * 2^(e - 128).
TEST(DequantizeKnownBlocks, Mxfp4) {
  std::vector<uint8_t> bytes(17);
  bytes[0] = 130;  // 2^(130 - 128) = 4
  for (int j = 0; j < 16; ++j) bytes[1 + j] = static_cast<uint8_t>(j | (15 - j) << 4);
  std::vector<float> want(32);
  for (int j = 0; j < 16; ++j) {
    want[j] = 4.0f * kMxfp4[j];
    want[j + 16] = 4.0f * kMxfp4[15 - j];
  }
  EXPECT_EQ(want[7], 48.0f);  // code 7 = E2M1 6.0, i.e. 6 * 2^(130 - 127)
  EXPECT_EQ(want[16], -48.0f);
  expect_values(dequantize(GgmlType::MXFP4, bytes, 32), want);
}

TEST(DequantizeKnownBlocks, Mxfp4ExtremeExponents) {
  std::vector<uint8_t> bytes(17 * 3);
  bytes[0] = 0;  // 2^-128: the subnormal half-scale
  bytes[1] = 0x01;
  bytes[17] = 1;  // 2^-127
  bytes[18] = 0x07;
  bytes[34] = 254;   // 2^126
  bytes[35] = 0x09;  // code 9 = -1
  const std::vector<float> y = dequantize(GgmlType::MXFP4, bytes, 96);
  EXPECT_EQ(y[0], 0x1p-128f);
  EXPECT_EQ(y[32], 12 * 0x1p-127f);
  EXPECT_EQ(y[64], -0x1p126f);
}

}  // namespace
}  // namespace llmc
