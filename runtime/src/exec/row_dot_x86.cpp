// x86 row dots for the weight types that dominate decode time: Q4_0 and Q8_0 (with Q8_0
// activations) and Q6_K (with Q8_K activations; llama.cpp's recipes store the output matrix in it).
//
// Each kernel computes every block's integer sum exactly, then the same float operations in the
// same order as vec_dot_q8 (block terms into four partial sums by block index mod 4, combined as
// (s0 + s1) + (s2 + s3)), so it returns the same bits. What differs is how the integer sums are
// taken, which is where the time goes:
// - weight codes are read as unsigned bytes (Q4_0 codes 0..15; Q8_0 codes + 128 with VNNI) and
//   offset * sum(activation codes) comes off afterwards, one multiply instruction per block;
// - Q4_0's per-block sums are reduced with saturating packs, exact because a group of four
//   products stays below 2^13, and costs fewer shuffles than horizontal adds;
// - activation scales come from PartnerRows as floats rather than being converted per row.
//
// This file is compiled with -ffp-contract=off (see sources.cmake): a fused multiply-add would
// round the block terms differently from vec_dot_q8.

#include <cstring>

#include "../devices/cpu/quant_blocks.h"
#include "cpu_features.h"
#include "llmc/quants.h"
#include "row_dot.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMC_EXEC_X86 1
#include <immintrin.h>
#endif

namespace llmc::exec {

#if LLMC_EXEC_X86
namespace {

using cpu::BlockQ4_0;
using cpu::BlockQ6_K;
using cpu::BlockQ8_0;
using cpu::BlockQ8_K;

#define LLMC_AVX2 __attribute__((target("avx2,fma,f16c")))
#define LLMC_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))

// vec_dot_q8's summation of block terms.
struct FourPartialSums {
  float partial[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  void add(int64_t block, float term) { partial[block & 3] += term; }
  float total() const { return (partial[0] + partial[1]) + (partial[2] + partial[3]); }
};

LLMC_AVX2 inline __m256i load_256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

LLMC_AVX2 inline int sum_i32x8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// [sum(a), sum(b), sum(c), sum(d)] of four vectors of eight int32.
LLMC_AVX2 inline __m128i sum_each_of_four(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i pairs = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
}

// The same for lanes of magnitude below 2^13: two rounds of saturating pack (exact, since sums of
// two and of four lanes stay below 2^15) and pairwise add.
LLMC_AVX2 inline __m128i sum_each_of_four_small(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i ab = _mm256_madd_epi16(_mm256_packs_epi32(a, b), ones);  // [a01 a23 b01 b23 | a45 a67 b45 b67]
  const __m256i cd = _mm256_madd_epi16(_mm256_packs_epi32(c, d), ones);
  const __m256i abcd = _mm256_madd_epi16(_mm256_packs_epi32(ab, cd), ones);  // [a0-3 b0-3 c0-3 d0-3 | a4-7 ...]
  return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

// F16C converts every binary16 pattern exactly as fp16_to_fp32 does (NaNs come back quiet), and
// without the slow path the float multiply in fp16_to_fp32 takes on subnormal halves.
LLMC_AVX2 inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// Four binary16 scales at a stride of `stride` bytes, as floats.
LLMC_AVX2 inline __m128 four_half_scales(const uint8_t* first, size_t stride) {
  uint16_t h[4];
  for (int k = 0; k < 4; ++k) std::memcpy(&h[k], first + k * stride, 2);
  const uint64_t packed = uint64_t{h[0]} | uint64_t{h[1]} << 16 | uint64_t{h[2]} << 32 | uint64_t{h[3]} << 48;
  return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(packed)));
}

// A Q4_0 block's 32 codes as unsigned bytes 0..15, in element order: the 16 packed bytes in both
// lanes, the high lane shifted down a nibble.
LLMC_AVX2 inline __m256i q4_0_codes(const BlockQ4_0& b) {
  const __m256i both = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
  const __m256i shifted = _mm256_srlv_epi64(both, _mm256_setr_epi64x(0, 0, 4, 4));
  return _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F));
}

// Unsigned bytes times signed bytes, summed in groups of four into eight int32. The AVX2 form
// needs pairs of products to fit int16 (true for Q4_0's codes of at most 15).
LLMC_AVX2 inline __m256i dot_u8_s8_avx2(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
LLMC_VNNI inline __m256i dot_u8_s8_vnni(__m256i u, __m256i s) {
  return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s);
}

// Signed times signed through the sign trick: exact while activations avoid -128 (the Q8_0
// quantizer clamps to [-127, 127]).
LLMC_AVX2 inline __m256i dot_s8_s8_avx2(__m256i w, __m256i x) {
  return dot_u8_s8_avx2(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

// The weight codes + 128 (sign bit flipped) are unsigned; 128 * sum(x) comes off afterwards.
LLMC_VNNI inline __m256i dot_s8_s8_vnni(__m256i w, __m256i x) {
  return dot_u8_s8_vnni(_mm256_xor_si256(w, _mm256_set1_epi8(static_cast<char>(0x80))), x);
}

// A target attribute cannot depend on a template parameter, so the kernels are stamped out once
// per instruction set from these macros.
//
// Q4_0 and Q8_0 with Q8_0 activations: BLOCK_DOT(w_block, x_block) gives a block's eight int32
// partial sums, SUM_FOUR reduces four blocks' to four sums, and OFFSET * sum(activation codes)
// comes off each block's sum.
#define LLMC_DEFINE_Q8_0_DOT(NAME, TARGET, Block, BLOCK_DOT, SUM_FOUR, OFFSET)                                      \
  TARGET float NAME(GgmlType, const void* w_row, const PartnerRows& xr, int64_t r) {                                \
    const auto* w = static_cast<const Block*>(w_row);                                                               \
    const auto* x = reinterpret_cast<const BlockQ8_0*>(xr.row(r));                                                  \
    const int32_t* x_sums = xr.block_sums(r);                                                                       \
    const float* x_scales = xr.block_scales(r);                                                                     \
    const int64_t nb = xr.cols() / 32;                                                                              \
    const __m128i offset = _mm_set1_epi32(OFFSET);                                                                  \
    __m128 partial = _mm_setzero_ps();                                                                              \
    int64_t i = 0;                                                                                                  \
    for (; i + 4 <= nb; i += 4) {                                                                                   \
      __m128i isums = SUM_FOUR(BLOCK_DOT(w[i], x[i]), BLOCK_DOT(w[i + 1], x[i + 1]), BLOCK_DOT(w[i + 2], x[i + 2]), \
                               BLOCK_DOT(w[i + 3], x[i + 3]));                                                      \
      const __m128i sums = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x_sums + i));                           \
      isums = _mm_sub_epi32(isums, _mm_mullo_epi32(sums, offset));                                                  \
      const __m128 scales = _mm_mul_ps(four_half_scales(reinterpret_cast<const uint8_t*>(w + i), sizeof(Block)),    \
                                       _mm_loadu_ps(x_scales + i));                                                 \
      partial = _mm_add_ps(partial, _mm_mul_ps(_mm_cvtepi32_ps(isums), scales));                                    \
    }                                                                                                               \
    FourPartialSums sum;                                                                                            \
    _mm_storeu_ps(sum.partial, partial);                                                                            \
    for (; i < nb; ++i) {                                                                                           \
      const int isum = sum_i32x8(BLOCK_DOT(w[i], x[i])) - x_sums[i] * (OFFSET);                                     \
      sum.add(i, static_cast<float>(isum) * (half_to_float(w[i].d) * x_scales[i]));                                 \
    }                                                                                                               \
    return sum.total();                                                                                             \
  }

#define LLMC_Q4_0_BLOCK_AVX2(wb, xb) dot_u8_s8_avx2(q4_0_codes(wb), load_256((xb).qs))
#define LLMC_Q4_0_BLOCK_VNNI(wb, xb) dot_u8_s8_vnni(q4_0_codes(wb), load_256((xb).qs))
#define LLMC_Q8_0_BLOCK_AVX2(wb, xb) dot_s8_s8_avx2(load_256((wb).qs), load_256((xb).qs))
#define LLMC_Q8_0_BLOCK_VNNI(wb, xb) dot_s8_s8_vnni(load_256((wb).qs), load_256((xb).qs))

LLMC_DEFINE_Q8_0_DOT(dot_q4_0_avx2, LLMC_AVX2, BlockQ4_0, LLMC_Q4_0_BLOCK_AVX2, sum_each_of_four_small, 8)
LLMC_DEFINE_Q8_0_DOT(dot_q4_0_vnni, LLMC_VNNI, BlockQ4_0, LLMC_Q4_0_BLOCK_VNNI, sum_each_of_four_small, 8)
LLMC_DEFINE_Q8_0_DOT(dot_q8_0_avx2, LLMC_AVX2, BlockQ8_0, LLMC_Q8_0_BLOCK_AVX2, sum_each_of_four, 0)
LLMC_DEFINE_Q8_0_DOT(dot_q8_0_vnni, LLMC_VNNI, BlockQ8_0, LLMC_Q8_0_BLOCK_VNNI, sum_each_of_four, 128)

// Q6_K with Q8_K activations. Codes are taken unsigned (0..63) and the -32 offset comes back as
// 32 * sum(scale * bsum); pairs of code * activation products fit int16 (2 * 63 * 127), so
// maddubs is exact. ADD_SCALED(acc, products, scales) adds int16 products times int16 sub-block
// scales, pairwise, to eight int32.
LLMC_AVX2 inline __m256i add_scaled_avx2(__m256i acc, __m256i products, __m256i scales) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(products, scales));
}
LLMC_VNNI inline __m256i add_scaled_vnni(__m256i acc, __m256i products, __m256i scales) {
  return _mm256_dpwssd_avx_epi32(acc, products, scales);
}

// Shuffle of eight int16 scales (in both lanes) that puts, for the 32 codes starting at 32 * k of
// a half block, sub-block 2k's scale in the low lane and sub-block 2k + 1's in the high lane.
LLMC_AVX2 inline __m256i q6_k_scale_pick(char k) {
  const char lo = static_cast<char>(4 * k), hi = static_cast<char>(4 * k + 2);
  return _mm256_setr_epi8(lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo, lo + 1, lo,
                          lo + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1, hi, hi + 1,
                          hi, hi + 1);
}

#define LLMC_DEFINE_Q6_K_DOT(NAME, TARGET, ADD_SCALED)                                                                 \
  TARGET float NAME(GgmlType, const void* w_row, const PartnerRows& xr, int64_t r) {                                   \
    const auto* w = static_cast<const BlockQ6_K*>(w_row);                                                              \
    const auto* x = reinterpret_cast<const BlockQ8_K*>(xr.row(r));                                                     \
    const int64_t nb = xr.cols() / 256;                                                                                \
    const __m256i low_nibbles = _mm256_set1_epi8(0x0F);                                                                \
    const __m256i two_bits = _mm256_set1_epi8(0x03);                                                                   \
    const __m256i pick0 = q6_k_scale_pick(0), pick1 = q6_k_scale_pick(1);                                              \
    const __m256i pick2 = q6_k_scale_pick(2), pick3 = q6_k_scale_pick(3);                                              \
    FourPartialSums sum;                                                                                               \
    for (int64_t i = 0; i < nb; ++i) {                                                                                 \
      __m256i acc = _mm256_setzero_si256();                                                                            \
      for (int half = 0; half < 2; ++half) {                                                                           \
        const __m256i ql0 = load_256(w[i].ql + 64 * half);                                                             \
        const __m256i ql1 = load_256(w[i].ql + 64 * half + 32);                                                        \
        const __m256i qh = load_256(w[i].qh + 32 * half);                                                              \
        const int8_t* xq = x[i].qs + 128 * half;                                                                       \
        long long scale_bytes;                                                                                         \
        std::memcpy(&scale_bytes, w[i].scales + 8 * half, 8);                                                          \
        const __m256i scales = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_cvtsi64_si128(scale_bytes)));         \
        /* 16-bit shifts are safe: every field is masked to its byte after shifting. */                                \
        const __m256i c0 =                                                                                             \
            _mm256_or_si256(_mm256_and_si256(ql0, low_nibbles), _mm256_slli_epi16(_mm256_and_si256(qh, two_bits), 4)); \
        const __m256i c1 =                                                                                             \
            _mm256_or_si256(_mm256_and_si256(ql1, low_nibbles),                                                        \
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits), 4));               \
        const __m256i c2 =                                                                                             \
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_nibbles),                                  \
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two_bits), 4));               \
        const __m256i c3 =                                                                                             \
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_nibbles),                                  \
                            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two_bits), 4));               \
        acc = ADD_SCALED(acc, _mm256_maddubs_epi16(c0, load_256(xq)), _mm256_shuffle_epi8(scales, pick0));             \
        acc = ADD_SCALED(acc, _mm256_maddubs_epi16(c1, load_256(xq + 32)), _mm256_shuffle_epi8(scales, pick1));        \
        acc = ADD_SCALED(acc, _mm256_maddubs_epi16(c2, load_256(xq + 64)), _mm256_shuffle_epi8(scales, pick2));        \
        acc = ADD_SCALED(acc, _mm256_maddubs_epi16(c3, load_256(xq + 96)), _mm256_shuffle_epi8(scales, pick3));        \
      }                                                                                                                \
      const __m256i all_scales = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].scales))); \
      const __m256i offsets = _mm256_madd_epi16(all_scales, load_256(x[i].bsums));                                     \
      const int isum = sum_i32x8(_mm256_sub_epi32(acc, _mm256_slli_epi32(offsets, 5)));                                \
      sum.add(i, x[i].d* half_to_float(w[i].d) * static_cast<float>(isum));                                            \
    }                                                                                                                  \
    return sum.total();                                                                                                \
  }

LLMC_DEFINE_Q6_K_DOT(dot_q6_k_avx2, LLMC_AVX2, add_scaled_avx2)
LLMC_DEFINE_Q6_K_DOT(dot_q6_k_vnni, LLMC_VNNI, add_scaled_vnni)

#undef LLMC_DEFINE_Q8_0_DOT
#undef LLMC_Q4_0_BLOCK_AVX2
#undef LLMC_Q4_0_BLOCK_VNNI
#undef LLMC_Q8_0_BLOCK_AVX2
#undef LLMC_Q8_0_BLOCK_VNNI
#undef LLMC_DEFINE_Q6_K_DOT

}  // namespace

RowDotKernel row_dot_kernel_avx2(GgmlType wtype) {
  if (!cpu_features().avx2_fma_f16c) return nullptr;
  switch (wtype) {
    case GgmlType::Q4_0:
      return dot_q4_0_avx2;
    case GgmlType::Q8_0:
      return dot_q8_0_avx2;
    case GgmlType::Q6_K:
      return dot_q6_k_avx2;
    default:
      return nullptr;
  }
}

RowDotKernel row_dot_kernel_vnni(GgmlType wtype) {
  if (!cpu_features().avx_vnni) return nullptr;
  switch (wtype) {
    case GgmlType::Q4_0:
      return dot_q4_0_vnni;
    case GgmlType::Q8_0:
      return dot_q8_0_vnni;
    case GgmlType::Q6_K:
      return dot_q6_k_vnni;
    default:
      return nullptr;
  }
}

#else

RowDotKernel row_dot_kernel_avx2(GgmlType) { return nullptr; }
RowDotKernel row_dot_kernel_vnni(GgmlType) { return nullptr; }

#endif

}  // namespace llmc::exec
