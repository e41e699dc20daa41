// ggml's block layouts (ggml-common.h) and the small pieces of bit packing shared by the
// dequantizers, quantizers and dot-product kernels. Internal to the CPU device.
#pragma once

#include <bit>
#include <cstdint>

namespace llmc::cpu {

static_assert(std::endian::native == std::endian::little, "GGUF blocks are little-endian");

inline constexpr int kBlock32 = 32;      // elements per block of the Q*_0, Q*_1, IQ4_NL, MXFP4 formats
inline constexpr int kSuperBlock = 256;  // elements per K-quant / IQ4_XS super-block (QK_K)

// Halves (uint16_t fields) hold IEEE binary16 bits.

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];  // element j in the low nibble of qs[j], element j + 16 in the high nibble
};
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;  // value = q * d + m
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // bit j of the little-endian word is the fifth bit of element j
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;  // d * sum(qs), used by the Q4_1 / Q5_1 dots for the min term
  int8_t qs[32];
};
struct BlockQ2_K {
  uint8_t scales[16];  // per 16 elements: scale in the low nibble, min in the high nibble
  uint8_t qs[64];
  uint16_t d;
  uint16_t dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];   // third bit of each code; set means "no -4"
  uint8_t qs[64];      // low two bits of each code
  uint8_t scales[12];  // sixteen 6-bit scales biased by 32
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];  // eight 6-bit scales and eight 6-bit mins
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];  // low four bits
  uint8_t qh[64];   // high two bits
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // sum of each 16 consecutive qs
};
struct BlockIq4Nl {
  uint16_t d;
  uint8_t qs[16];  // indices into kIq4nlValues, split in halves as Q4_0
};
struct BlockIq4Xs {
  uint16_t d;
  uint16_t scales_h;    // high two bits of eight 6-bit scales
  uint8_t scales_l[4];  // low four bits of eight 6-bit scales
  uint8_t qs[128];
};
struct BlockMxfp4 {
  uint8_t e;       // E8M0 exponent
  uint8_t qs[16];  // indices into kMxfp4Values, split in halves as Q4_0
};

// Sizes are sizeof(block_*) in ggml-common.h, the type_size column of the ggml type table.
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIq4Nl) == 18 && sizeof(BlockIq4Xs) == 136 && sizeof(BlockMxfp4) == 17);

// The non-linear 4-bit grid of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl).
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
// E2M1 values doubled (ggml's kvalues_mxfp4); the block scale is halved to match.
inline constexpr int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Q4_K / Q5_K: scale j and min j of the eight 32-element sub-blocks, 6 bits each, in 12 bytes.
// Bytes 0-3 hold scales 0-3, bytes 4-7 mins 0-3 (low 6 bits, top 2 bits lend to j + 4);
// bytes 8-11 hold the low nibbles of scales 4-7 (low) and mins 4-7 (high).
struct ScaleMin {
  uint8_t scale;
  uint8_t min;
};
inline ScaleMin q4k_scale_min(const uint8_t* packed, int j) {
  if (j < 4) return {static_cast<uint8_t>(packed[j] & 63), static_cast<uint8_t>(packed[j + 4] & 63)};
  return {static_cast<uint8_t>((packed[j + 4] & 0x0F) | (packed[j - 4] >> 6) << 4),
          static_cast<uint8_t>((packed[j + 4] >> 4) | (packed[j] >> 6) << 4)};
}
inline void pack_q4k_scale_mins(const uint8_t scales[8], const uint8_t mins[8], uint8_t* packed) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(scales[j] | (scales[j + 4] >> 4) << 6);
    packed[j + 4] = static_cast<uint8_t>(mins[j] | (mins[j + 4] >> 4) << 6);
    packed[j + 8] = static_cast<uint8_t>((scales[j + 4] & 0x0F) | (mins[j + 4] & 0x0F) << 4);
  }
}

// Q3_K: sixteen 6-bit scales (stored value = scale + 32) in 12 bytes. The low nibble of scale i
// is byte i (i < 8) or the high nibble of byte i - 8; its top two bits are bits 2*(i/4) of
// byte 8 + i % 4. Returns the signed scale.
inline int q3k_scale(const uint8_t* packed, int i) {
  const int low = i < 8 ? packed[i] & 0x0F : packed[i - 8] >> 4;
  const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | high << 4) - 32;
}
inline void pack_q3k_scales(const uint8_t biased[16], uint8_t* packed) {
  for (int i = 0; i < 12; ++i) packed[i] = 0;
  for (int i = 0; i < 16; ++i) {
    const int low = biased[i] & 0x0F;
    packed[i % 8] = static_cast<uint8_t>(packed[i % 8] | (i < 8 ? low : low << 4));
    packed[8 + i % 4] = static_cast<uint8_t>(packed[8 + i % 4] | (biased[i] >> 4) << (2 * (i / 4)));
  }
}

// IQ4_XS: the signed scale of 32-element sub-block ib (stored value = scale + 32).
inline int iq4xs_scale(const BlockIq4Xs& block, int ib) {
  const int low = (block.scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
  const int high = (block.scales_h >> (2 * ib)) & 3;
  return (low | high << 4) - 32;
}

inline uint32_t load_u32(const uint8_t bytes[4]) {
  return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
         static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

}  // namespace llmc::cpu
