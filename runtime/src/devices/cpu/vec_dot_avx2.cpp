// AVX2 versions of the common decode dots (Q4_0, Q8_0, IQ4_NL, MXFP4 with Q8_0; Q4_K, Q5_K, Q6_K,
// IQ4_XS with Q8_K). They are compiled for AVX2 through function attributes and picked at run
// time, so the library still runs on any x86-64. Each computes the same integer block sums as the
// scalar kernel and then the same float operations in the same order (BlockTermSum), so the
// results are bit-identical to it.
//
// The int8 products use the sign trick (|w| * (x * sign(w)) through maddubs), which is exact as
// long as activations never hold -128: the Q8_0 and Q8_K quantizers clamp to [-127, 127].

#include "cpu_kernels.h"
#include "llmc/quants.h"
#include "quant_blocks.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMC_HAVE_AVX2_KERNELS 1
#include <immintrin.h>
#endif

namespace llmc::cpu {

#if LLMC_HAVE_AVX2_KERNELS
namespace {

#define LLMC_TARGET_AVX2 __attribute__((target("avx2")))

// Eight int32 partial sums of the products of 32 signed bytes.
LLMC_TARGET_AVX2 inline __m256i dot_i8x32(__m256i w, __m256i x) {
  const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

// [sum(a), sum(b), sum(c), sum(d)] of four vectors of eight int32.
LLMC_TARGET_AVX2 inline __m128i sum_each_of_four(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i pairs = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
}

LLMC_TARGET_AVX2 inline int sum_i32x8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

LLMC_TARGET_AVX2 inline __m256i load_256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// A block's 32 codes as signed bytes in element order.
struct Q4_0Codes {
  LLMC_TARGET_AVX2 __m256i operator()(const BlockQ4_0& block) const {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.qs));
    const __m128i low_nibbles = _mm_set1_epi8(0x0F);
    const __m256i codes =
        _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low_nibbles), _mm_and_si128(packed, low_nibbles));
    return _mm256_sub_epi8(codes, _mm256_set1_epi8(8));
  }
};
struct Q8_0Codes {
  LLMC_TARGET_AVX2 __m256i operator()(const BlockQ8_0& block) const { return load_256(block.qs); }
};

// Shared driver of the 32-element formats with Q8_0 activations: four blocks at a time, their
// integer sums times their scales added lane-wise into BlockTermSum's four partial sums.
template <typename Block, typename Codes, typename Scale>
LLMC_TARGET_AVX2 inline float dot_blocks_q8_0(const Block* w, const BlockQ8_0* x, int64_t nb, Codes codes,
                                              Scale scale) {
  __m128 partial = _mm_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    const __m128i isums = sum_each_of_four(
        dot_i8x32(codes(w[i]), load_256(x[i].qs)), dot_i8x32(codes(w[i + 1]), load_256(x[i + 1].qs)),
        dot_i8x32(codes(w[i + 2]), load_256(x[i + 2].qs)), dot_i8x32(codes(w[i + 3]), load_256(x[i + 3].qs)));
    const __m128 scales = scale.four(w + i, x + i);
    partial = _mm_add_ps(partial, _mm_mul_ps(_mm_cvtepi32_ps(isums), scales));
  }
  BlockTermSum sum;
  _mm_storeu_ps(sum.partial, partial);
  for (; i < nb; ++i) {
    const int isum = sum_i32x8(dot_i8x32(codes(w[i]), load_256(x[i].qs)));
    sum.add(i, static_cast<float>(isum) * scale(w[i], x[i]));
  }
  return sum.total();
}

// Four binary16 values (in the low 16 bits of each lane) to float, exactly as fp16_to_fp32 does.
LLMC_TARGET_AVX2 inline __m128 fp16x4_to_fp32(__m128i halves) {
  const __m128i magnitude = _mm_and_si128(halves, _mm_set1_epi32(0x7FFF));
  const __m128i sign = _mm_slli_epi32(_mm_and_si128(halves, _mm_set1_epi32(0x8000)), 16);
  const __m128 rebased = _mm_mul_ps(_mm_castsi128_ps(_mm_slli_epi32(magnitude, 13)), _mm_set1_ps(0x1p112f));
  const __m128i is_nan = _mm_cmpgt_epi32(magnitude, _mm_set1_epi32(0x7C00));
  const __m128i inf_or_nan = _mm_or_si128(
      _mm_or_si128(_mm_set1_epi32(0x7F800000), _mm_slli_epi32(_mm_and_si128(magnitude, _mm_set1_epi32(0x3FF)), 13)),
      _mm_and_si128(is_nan, _mm_set1_epi32(0x00400000)));
  const __m128i is_special = _mm_cmpgt_epi32(magnitude, _mm_set1_epi32(0x7BFF));
  const __m128i result = _mm_blendv_epi8(_mm_castps_si128(rebased), inf_or_nan, is_special);
  return _mm_castsi128_ps(_mm_or_si128(sign, result));
}

// The block scale times the activation scale, as the scalar kernels compute it: one block at a
// time, or four at once.
struct Fp16Scales {
  template <typename Block>
  float operator()(const Block& w, const BlockQ8_0& x) const {
    return fp16_to_fp32(w.d) * fp16_to_fp32(x.d);
  }
  template <typename Block>
  LLMC_TARGET_AVX2 __m128 four(const Block* w, const BlockQ8_0* x) const {
    return _mm_mul_ps(fp16x4_to_fp32(_mm_setr_epi32(w[0].d, w[1].d, w[2].d, w[3].d)),
                      fp16x4_to_fp32(_mm_setr_epi32(x[0].d, x[1].d, x[2].d, x[3].d)));
  }
};
struct Mxfp4Scales {
  float operator()(const BlockMxfp4& w, const BlockQ8_0& x) const { return fp16_to_fp32(x.d) * e8m0_to_fp32_half(w.e); }
  LLMC_TARGET_AVX2 __m128 four(const BlockMxfp4* w, const BlockQ8_0* x) const {
    return _mm_mul_ps(fp16x4_to_fp32(_mm_setr_epi32(x[0].d, x[1].d, x[2].d, x[3].d)),
                      _mm_setr_ps(e8m0_to_fp32_half(w[0].e), e8m0_to_fp32_half(w[1].e), e8m0_to_fp32_half(w[2].e),
                                  e8m0_to_fp32_half(w[3].e)));
  }
};

// 4-bit indices (16 bytes, halves split as Q4_0) looked up in a 16-entry int8 table.
LLMC_TARGET_AVX2 inline __m256i lookup_nibbles(const uint8_t* packed_bytes, const int8_t* table_values) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed_bytes));
  const __m128i low_nibbles = _mm_set1_epi8(0x0F);
  const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table_values));
  return _mm256_set_m128i(_mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(packed, 4), low_nibbles)),
                          _mm_shuffle_epi8(table, _mm_and_si128(packed, low_nibbles)));
}
struct Iq4NlCodes {
  LLMC_TARGET_AVX2 __m256i operator()(const BlockIq4Nl& block) const { return lookup_nibbles(block.qs, kIq4nlValues); }
};
struct Mxfp4Codes {
  LLMC_TARGET_AVX2 __m256i operator()(const BlockMxfp4& block) const { return lookup_nibbles(block.qs, kMxfp4Values); }
};

LLMC_TARGET_AVX2 float dot_q4_0_q8_0_avx2(const void* w_row, const void* x_row, int64_t nb) {
  return dot_blocks_q8_0(static_cast<const BlockQ4_0*>(w_row), static_cast<const BlockQ8_0*>(x_row), nb, Q4_0Codes{},
                         Fp16Scales{});
}

LLMC_TARGET_AVX2 float dot_q8_0_q8_0_avx2(const void* w_row, const void* x_row, int64_t nb) {
  return dot_blocks_q8_0(static_cast<const BlockQ8_0*>(w_row), static_cast<const BlockQ8_0*>(x_row), nb, Q8_0Codes{},
                         Fp16Scales{});
}

LLMC_TARGET_AVX2 float dot_iq4_nl_q8_0_avx2(const void* w_row, const void* x_row, int64_t nb) {
  return dot_blocks_q8_0(static_cast<const BlockIq4Nl*>(w_row), static_cast<const BlockQ8_0*>(x_row), nb, Iq4NlCodes{},
                         Fp16Scales{});
}

LLMC_TARGET_AVX2 float dot_mxfp4_q8_0_avx2(const void* w_row, const void* x_row, int64_t nb) {
  return dot_blocks_q8_0(static_cast<const BlockMxfp4*>(w_row), static_cast<const BlockQ8_0*>(x_row), nb, Mxfp4Codes{},
                         Mxfp4Scales{});
}

LLMC_TARGET_AVX2 float dot_q4_k_q8_k_avx2(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ4_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    ScaleMin sm[8];
    int min_sum = 0;
    for (int g = 0; g < 8; ++g) {
      sm[g] = q4k_scale_min(w[i].scales, g);
      min_sum += sm[g].min * (x[i].bsums[2 * g] + x[i].bsums[2 * g + 1]);
    }
    __m256i acc = _mm256_setzero_si256();
    for (int chunk = 0; chunk < 4; ++chunk) {
      // Codes are unsigned nibbles (0..15), so maddubs takes them directly.
      const __m256i packed = load_256(w[i].qs + 32 * chunk);
      const __m256i low = _mm256_and_si256(packed, low_nibbles);
      const __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
      const __m256i p_low = _mm256_maddubs_epi16(low, load_256(x[i].qs + 64 * chunk));
      const __m256i p_high = _mm256_maddubs_epi16(high, load_256(x[i].qs + 64 * chunk + 32));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p_low, _mm256_set1_epi16(sm[2 * chunk].scale)));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p_high, _mm256_set1_epi16(sm[2 * chunk + 1].scale)));
    }
    const int isum = sum_i32x8(acc);
    const float d = x[i].d * fp16_to_fp32(w[i].d);
    const float dmin = x[i].d * fp16_to_fp32(w[i].dmin);
    sum.add(i, d * static_cast<float>(isum) - dmin * static_cast<float>(min_sum));
  }
  return sum.total();
}

LLMC_TARGET_AVX2 float dot_q5_k_q8_k_avx2(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ5_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
  const __m256i low_bit = _mm256_set1_epi8(0x01);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    ScaleMin sm[8];
    int min_sum = 0;
    for (int g = 0; g < 8; ++g) {
      sm[g] = q4k_scale_min(w[i].scales, g);
      min_sum += sm[g].min * (x[i].bsums[2 * g] + x[i].bsums[2 * g + 1]);
    }
    const __m256i qh = load_256(w[i].qh);
    __m256i acc = _mm256_setzero_si256();
    for (int chunk = 0; chunk < 4; ++chunk) {
      // As Q4_K, plus the fifth bit: bit 2*chunk (low nibbles) or 2*chunk + 1 (high) of qh[l].
      // The 16-bit shifts move bits across bytes only into positions the 0x01 mask drops.
      const __m256i packed = load_256(w[i].qs + 32 * chunk);
      const __m256i high_low = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * chunk), low_bit), 4);
      const __m256i high_high = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * chunk + 1), low_bit), 4);
      const __m256i low = _mm256_or_si256(_mm256_and_si256(packed, low_nibbles), high_low);
      const __m256i high = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles), high_high);
      const __m256i p_low = _mm256_maddubs_epi16(low, load_256(x[i].qs + 64 * chunk));
      const __m256i p_high = _mm256_maddubs_epi16(high, load_256(x[i].qs + 64 * chunk + 32));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p_low, _mm256_set1_epi16(sm[2 * chunk].scale)));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p_high, _mm256_set1_epi16(sm[2 * chunk + 1].scale)));
    }
    const int isum = sum_i32x8(acc);
    const float d = x[i].d * fp16_to_fp32(w[i].d);
    const float dmin = x[i].d * fp16_to_fp32(w[i].dmin);
    sum.add(i, d * static_cast<float>(isum) - dmin * static_cast<float>(min_sum));
  }
  return sum.total();
}

LLMC_TARGET_AVX2 float dot_iq4_xs_q8_k_avx2(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockIq4Xs*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    __m256i acc = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const __m256i codes = lookup_nibbles(w[i].qs + 16 * ib, kIq4nlValues);
      const __m256i x8 = load_256(x[i].qs + 32 * ib);
      // Grid values lie in [-127, 113], so |code| * (x * sign(code)) pairs fit int16.
      const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(codes, codes), _mm256_sign_epi8(x8, codes));
      acc = _mm256_add_epi32(
          acc, _mm256_madd_epi16(products, _mm256_set1_epi16(static_cast<int16_t>(iq4xs_scale(w[i], ib)))));
    }
    const int isum = sum_i32x8(acc);
    sum.add(i, fp16_to_fp32(w[i].d) * x[i].d * static_cast<float>(isum));
  }
  return sum.total();
}

LLMC_TARGET_AVX2 float dot_q6_k_q8_k_avx2(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ6_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
  const __m256i two_bits = _mm256_set1_epi8(0x03);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    // Codes are taken unsigned (0..63); the -32 offset comes back as 32 * sum(scale * bsum).
    int offset_sum = 0;
    for (int g = 0; g < 16; ++g) offset_sum += w[i].scales[g] * x[i].bsums[g];
    __m256i acc = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i ql0 = load_256(w[i].ql + 64 * half);
      const __m256i ql1 = load_256(w[i].ql + 64 * half + 32);
      const __m256i qh = load_256(w[i].qh + 32 * half);
      // 16-bit shifts are safe: every field is masked to its byte before or after shifting.
      const __m256i codes[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low_nibbles), _mm256_slli_epi16(_mm256_and_si256(qh, two_bits), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, low_nibbles),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), two_bits), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low_nibbles),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), two_bits), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low_nibbles),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), two_bits), 4)),
      };
      const int8_t* scales = w[i].scales + 8 * half;
      for (int k = 0; k < 4; ++k) {
        const __m256i products = _mm256_maddubs_epi16(codes[k], load_256(x[i].qs + 128 * half + 32 * k));
        // The low 16 bytes are one 16-element sub-block, the high 16 bytes the next.
        const __m256i sub_scales = _mm256_set_m128i(_mm_set1_epi16(scales[2 * k + 1]), _mm_set1_epi16(scales[2 * k]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(products, sub_scales));
      }
    }
    const int isum = sum_i32x8(acc) - 32 * offset_sum;
    sum.add(i, x[i].d * fp16_to_fp32(w[i].d) * static_cast<float>(isum));
  }
  return sum.total();
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

}  // namespace

RowDotFn avx2_row_dot(GgmlType wtype) {
  if (!cpu_has_avx2()) return nullptr;
  switch (wtype) {
    case GgmlType::Q4_0: return dot_q4_0_q8_0_avx2;
    case GgmlType::Q8_0: return dot_q8_0_q8_0_avx2;
    case GgmlType::Q4_K: return dot_q4_k_q8_k_avx2;
    case GgmlType::Q5_K: return dot_q5_k_q8_k_avx2;
    case GgmlType::Q6_K: return dot_q6_k_q8_k_avx2;
    case GgmlType::IQ4_NL: return dot_iq4_nl_q8_0_avx2;
    case GgmlType::IQ4_XS: return dot_iq4_xs_q8_k_avx2;
    case GgmlType::MXFP4: return dot_mxfp4_q8_0_avx2;
    default: return nullptr;
  }
}

#else

RowDotFn avx2_row_dot(GgmlType) { return nullptr; }

#endif

}  // namespace llmc::cpu
