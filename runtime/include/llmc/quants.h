// Reference CPU kernels for ggml's block formats: dequantization, quantization and dot products.
//
// These kernels are the oracle that every generated kernel is checked against, and the CPU
// runtime's decode path. Block layouts follow ggml's block structs (ggml-common.h); dequantization
// and the simple quantizers reproduce ggml's reference routines (ggml-quants.c) bit for bit.
//
// Types covered: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
// Q8_K, IQ4_NL, IQ4_XS, MXFP4. Every entry point throws std::invalid_argument for another type, a
// negative n, or an n that is not a multiple of the type's block size (ggml_type_traits()).
//
// Rows are arrays of blocks as stored in GGUF; a row pointer must be aligned to 2 bytes for the
// types with 16-bit fields and to 4 bytes for F32 and Q8_K. The float arithmetic assumes the
// default floating-point environment (round to nearest even, subnormals not flushed).
#pragma once

#include <bit>
#include <cstdint>
#include <span>

#include "llmc/ggml_types.h"

namespace llmc {

class ThreadPool;

// ---- Scalar formats --------------------------------------------------------------------------

// IEEE binary16 -> binary32, exact for every pattern. A NaN keeps its sign and payload and comes
// back quiet, as the x86 conversion instruction (F16C) returns it.
inline float fp16_to_fp32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t magnitude = bits & 0x7FFFu;
  // Moved 13 bits up, the half's exponent and mantissa read as a float 2^112 times too small
  // (the exponent biases differ by 112); the multiplication by 2^112 is exact, subnormals included.
  const float rebased = std::bit_cast<float>(magnitude << 13) * 0x1p112f;
  const uint32_t inf_or_nan = 0x7F800000u | (magnitude & 0x3FFu) << 13 | (magnitude > 0x7C00u ? 0x00400000u : 0u);
  const uint32_t result = magnitude >= 0x7C00u ? inf_or_nan : std::bit_cast<uint32_t>(rebased);
  return std::bit_cast<float>(sign | result);
}

// binary32 -> binary16, round to nearest even; overflow gives infinity; a NaN stays a quiet NaN
// with the sign and the top payload bits (as F16C's vcvtps2ph).
inline uint16_t fp32_to_fp16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return sign | 0x7E00u | static_cast<uint16_t>((magnitude >> 13) & 0x3FFu);
  if (magnitude >= 0x477FF000u) return sign | 0x7C00u;  // >= 65520 rounds to infinity
  uint32_t kept;
  uint32_t dropped;
  uint32_t half;
  if (magnitude >= 0x38800000u) {  // a normal half: rebias the exponent, drop 13 mantissa bits
    kept = ((magnitude >> 23) - 112) << 10 | ((magnitude >> 13) & 0x3FFu);
    dropped = magnitude & 0x1FFFu;
    half = 0x1000u;
  } else {  // a subnormal half (or zero): value / 2^-24 rounded to an integer
    const uint32_t exponent = magnitude >> 23;
    if (exponent < 102) return sign;  // below 2^-25, rounds to zero
    const uint32_t significand = (magnitude & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - exponent;  // 14..24
    kept = significand >> shift;
    dropped = significand & ((1u << shift) - 1);
    half = 1u << (shift - 1);
  }
  // A carry out of the mantissa correctly bumps the exponent (and subnormal 0x3FF -> 0x400).
  if (dropped > half || (dropped == half && (kept & 1u))) ++kept;
  return static_cast<uint16_t>(sign | kept);
}

// bfloat16 -> binary32: the upper half of the float, exact.
inline float bf16_to_fp32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

// binary32 -> bfloat16 as ggml converts: round to nearest even, subnormals kept, a NaN made quiet.
inline uint16_t fp32_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

// MXFP4's E8M0 block exponent as ggml decodes it: 2^(e - 128), half the OCP value 2^(e - 127),
// because ggml's E2M1 table holds doubled values. e = 0 and 1 give the subnormals 2^-128 and
// 2^-127; e = 255 gives 2^127 (ggml does not decode the OCP NaN).
inline float e8m0_to_fp32_half(uint8_t e) {
  const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  return std::bit_cast<float>(bits);
}

// ---- Rows ------------------------------------------------------------------------------------

// The types these kernels cover, in ggml id order.
std::span<const GgmlType> cpu_kernel_types();
bool has_cpu_kernels(GgmlType type);

// Decodes n elements. Bit-identical to ggml's dequantize_row_* for every input, NaN scales included.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

// Encodes n elements into row_bytes(type, n) bytes at dst.
// - Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K, MXFP4, F16, BF16: the same bytes as ggml's
//   quantize_row_*_ref, except where ggml's C is undefined or leaves bytes unset: codes are
//   clamped when a tiny scale's inverse overflows, and an all-zero Q8_K block gets zero bsums.
// - Q2_K..Q6_K, IQ4_NL, IQ4_XS: a least-squares scale search of our own; valid blocks with an RMSE
//   close to ggml's, not the same bytes.
// A block holding a NaN or an infinity is poisoned: its scales (and mins) become NaN so that the
// whole block decodes to NaN and every dot product touching it is NaN. MXFP4 has no NaN encoding
// in ggml, so a non-finite input throws std::domain_error before anything is written.
void quantize_row_reference(GgmlType type, const float* src, void* dst, int64_t n);

// ---- Dot products ----------------------------------------------------------------------------

// Dot product of a weight row with an f32 vector, the oracle: each block is dequantized as
// dequantize_row does, every product and the running sum are taken in double in element order,
// and the sum is rounded to float once.
float vec_dot(GgmlType wtype, const void* w_row, const float* x, int64_t n);

// The format ggml quantizes activations to before a dot with `wtype` (ggml's vec_dot_type):
// Q8_0 for Q4_0, Q5_0, Q8_0, IQ4_NL, MXFP4; Q8_1 for Q4_1, Q5_1, Q8_1; Q8_K for Q2_K..Q8_K and
// IQ4_XS; F32, F16, BF16 pair with themselves.
GgmlType vec_dot_partner(GgmlType wtype);

// Dot product of a weight row with an activation row already encoded in vec_dot_partner(wtype),
// the CPU runtime's fast path. Within each block the products are summed in integers as ggml does
// (sum of q_w * q_x per sub-block, times the integer sub-block scales); each block then contributes
// one float term (scale_w * scale_x * isum, plus the min term m_w * s_x for Q4_1/Q5_1, minus
// dmin_w * d_x * sum(min * bsum) for Q2_K/Q4_K/Q5_K).
// Block terms are added into four partial sums by block index mod 4, combined as
// (s0 + s1) + (s2 + s3). For F32/F16/BF16 the products are taken in float and added into sixteen
// partial sums by element index mod 16, combined pairwise. Picks the AVX2 kernel when there is one
// and the CPU has it; it returns the same bits as vec_dot_q8_scalar.
float vec_dot_q8(GgmlType wtype, const void* w_row, const void* x_partner, int64_t n);

// The portable kernel vec_dot_q8 is defined by.
float vec_dot_q8_scalar(GgmlType wtype, const void* w_row, const void* x_partner, int64_t n);

// AVX2 kernels exist for Q4_0, Q8_0, IQ4_NL, MXFP4, Q4_K, Q5_K, Q6_K, IQ4_XS; true when this CPU
// runs them.
bool has_vec_dot_q8_avx2(GgmlType wtype);
// Throws std::invalid_argument when has_vec_dot_q8_avx2(wtype) is false.
float vec_dot_q8_avx2(GgmlType wtype, const void* w_row, const void* x_partner, int64_t n);

// y[r] = dot(row r of w, x) for a row-major matrix of `rows` rows of `cols` elements each
// (row stride row_bytes(wtype, cols)). x is encoded once in vec_dot_partner(wtype) and each row
// goes through vec_dot_q8, so y does not depend on the pool or its thread count. x and y must not
// overlap.
void matvec(GgmlType wtype, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
            ThreadPool* pool = nullptr);

}  // namespace llmc
