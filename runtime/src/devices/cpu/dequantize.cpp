// Row dequantization for every covered type. Each loop mirrors the arithmetic of ggml's
// dequantize_row_* (same operand order, no fused multiply-add), so the results are bit-identical.

#include <cstring>

#include "cpu_kernels.h"
#include "llmc/quants.h"
#include "quant_blocks.h"

namespace llmc {
namespace {

using namespace cpu;

void dequantize_q4_0(const BlockQ4_0* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = fp16_to_fp32(blocks[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = ((blocks[i].qs[j] & 0x0F) - 8) * d;
      y[j + 16] = ((blocks[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const BlockQ4_1* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = fp16_to_fp32(blocks[i].d);
    const float m = fp16_to_fp32(blocks[i].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = (blocks[i].qs[j] & 0x0F) * d + m;
      y[j + 16] = (blocks[i].qs[j] >> 4) * d + m;
    }
  }
}

// Five-bit codes: low nibble from qs as Q4_0, fifth bit from the 32-bit word qh.
inline int q5_code(const uint8_t* qs, uint32_t qh, int j) {
  const int low = j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4;
  return low | static_cast<int>((qh >> j) & 1u) << 4;
}

void dequantize_q5_0(const BlockQ5_0* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = fp16_to_fp32(blocks[i].d);
    const uint32_t qh = load_u32(blocks[i].qh);
    for (int j = 0; j < kBlock32; ++j) y[j] = (q5_code(blocks[i].qs, qh, j) - 16) * d;
  }
}

void dequantize_q5_1(const BlockQ5_1* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = fp16_to_fp32(blocks[i].d);
    const float m = fp16_to_fp32(blocks[i].m);
    const uint32_t qh = load_u32(blocks[i].qh);
    for (int j = 0; j < kBlock32; ++j) y[j] = q5_code(blocks[i].qs, qh, j) * d + m;
  }
}

void dequantize_q8_0(const BlockQ8_0* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = fp16_to_fp32(blocks[i].d);
    for (int j = 0; j < kBlock32; ++j) y[j] = blocks[i].qs[j] * d;
  }
}

void dequantize_q8_1(const BlockQ8_1* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = fp16_to_fp32(blocks[i].d);
    for (int j = 0; j < kBlock32; ++j) y[j] = blocks[i].qs[j] * d;
  }
}

// Q2_K and Q3_K share the code layout: each 128-element half of the super-block uses 32 bytes of
// qs; element 32*k + l of the half (k = 0..3, l = 0..31) is bits 2k..2k+1 of byte l.
void dequantize_q2_k(const BlockQ2_K* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(blocks[i].d);
    const float dmin = fp16_to_fp32(blocks[i].dmin);
    const uint8_t* q = blocks[i].qs;
    int sub = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const uint8_t sc = blocks[i].scales[sub];
          const float dl = d * (sc & 0x0F);
          const float ml = dmin * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * ((q[16 * part + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void dequantize_q3_k(const BlockQ3_K* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(blocks[i].d);
    const uint8_t* q = blocks[i].qs;
    const uint8_t* hmask = blocks[i].hmask;
    int sub = 0;
    uint8_t high_bit = 1;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, high_bit = static_cast<uint8_t>(high_bit << 1)) {
        for (int part = 0; part < 2; ++part, ++sub) {
          const float dl = d * q3k_scale(blocks[i].scales, sub);
          for (int l = 0; l < 16; ++l) {
            const int low = (q[16 * part + l] >> shift) & 3;
            *y++ = dl * (low - ((hmask[16 * part + l] & high_bit) ? 0 : 4));
          }
        }
      }
    }
  }
}

// Q4_K and Q5_K: 64 elements per 32 bytes of qs, low nibbles first (sub-block 2c) then high
// nibbles (sub-block 2c + 1).
void dequantize_q4_k(const BlockQ4_K* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(blocks[i].d);
    const float dmin = fp16_to_fp32(blocks[i].dmin);
    const uint8_t* q = blocks[i].qs;
    for (int chunk = 0; chunk < 4; ++chunk, q += 32) {
      const ScaleMin lo = q4k_scale_min(blocks[i].scales, 2 * chunk);
      const ScaleMin hi = q4k_scale_min(blocks[i].scales, 2 * chunk + 1);
      const float d1 = d * lo.scale, m1 = dmin * lo.min;
      const float d2 = d * hi.scale, m2 = dmin * hi.min;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0x0F) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_k(const BlockQ5_K* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(blocks[i].d);
    const float dmin = fp16_to_fp32(blocks[i].dmin);
    const uint8_t* q = blocks[i].qs;
    const uint8_t* qh = blocks[i].qh;
    for (int chunk = 0; chunk < 4; ++chunk, q += 32) {
      const ScaleMin lo = q4k_scale_min(blocks[i].scales, 2 * chunk);
      const ScaleMin hi = q4k_scale_min(blocks[i].scales, 2 * chunk + 1);
      const float d1 = d * lo.scale, m1 = dmin * lo.min;
      const float d2 = d * hi.scale, m2 = dmin * hi.min;
      const int lo_bit = 2 * chunk, hi_bit = 2 * chunk + 1;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((q[l] & 0x0F) + (((qh[l] >> lo_bit) & 1) << 4)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((q[l] >> 4) + (((qh[l] >> hi_bit) & 1) << 4)) - m2;
    }
  }
}

// Q6_K: per 128 elements, 64 bytes of ql and 32 of qh. Element 32*k + l (k = 0..3) takes the low
// (k < 2) or high nibble of ql[32*(k%2) + l] and bits 2k..2k+1 of qh[l].
void dequantize_q6_k(const BlockQ6_K* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(blocks[i].d);
    const uint8_t* ql = blocks[i].ql;
    const uint8_t* qh = blocks[i].qh;
    const int8_t* sc = blocks[i].scales;
    for (int half = 0; half < 2; ++half, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = ((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32;
        const int q2 = ((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32;
        const int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        const int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        // (d * scale) * code, the grouping ggml's C uses.
        y[l] = d * sc[s] * q1;
        y[l + 32] = d * sc[s + 2] * q2;
        y[l + 64] = d * sc[s + 4] * q3;
        y[l + 96] = d * sc[s + 6] * q4;
      }
    }
  }
}

void dequantize_q8_k(const BlockQ8_K* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kSuperBlock) {
    for (int j = 0; j < kSuperBlock; ++j) y[j] = blocks[i].d * blocks[i].qs[j];
  }
}

void dequantize_iq4_nl(const BlockIq4Nl* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = fp16_to_fp32(blocks[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * kIq4nlValues[blocks[i].qs[j] & 0x0F];
      y[j + 16] = d * kIq4nlValues[blocks[i].qs[j] >> 4];
    }
  }
}

void dequantize_iq4_xs(const BlockIq4Xs* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = fp16_to_fp32(blocks[i].d);
    const uint8_t* qs = blocks[i].qs;
    for (int ib = 0; ib < 8; ++ib, y += 32, qs += 16) {
      const float dl = d * iq4xs_scale(blocks[i], ib);
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * kIq4nlValues[qs[j] & 0x0F];
        y[j + 16] = dl * kIq4nlValues[qs[j] >> 4];
      }
    }
  }
}

void dequantize_mxfp4(const BlockMxfp4* blocks, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kBlock32) {
    const float d = e8m0_to_fp32_half(blocks[i].e);
    for (int j = 0; j < 16; ++j) {
      y[j] = kMxfp4Values[blocks[i].qs[j] & 0x0F] * d;
      y[j + 16] = kMxfp4Values[blocks[i].qs[j] >> 4] * d;
    }
  }
}

}  // namespace

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  const int64_t nb = checked_block_count("dequantize_row", type, n);
  switch (type) {
    case GgmlType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case GgmlType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
      return;
    }
    case GgmlType::BF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
      return;
    }
    case GgmlType::Q4_0: return dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case GgmlType::Q4_1: return dequantize_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
    case GgmlType::Q5_0: return dequantize_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
    case GgmlType::Q5_1: return dequantize_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb);
    case GgmlType::Q8_0: return dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case GgmlType::Q8_1: return dequantize_q8_1(static_cast<const BlockQ8_1*>(src), dst, nb);
    case GgmlType::Q2_K: return dequantize_q2_k(static_cast<const BlockQ2_K*>(src), dst, nb);
    case GgmlType::Q3_K: return dequantize_q3_k(static_cast<const BlockQ3_K*>(src), dst, nb);
    case GgmlType::Q4_K: return dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb);
    case GgmlType::Q5_K: return dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb);
    case GgmlType::Q6_K: return dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb);
    case GgmlType::Q8_K: return dequantize_q8_k(static_cast<const BlockQ8_K*>(src), dst, nb);
    case GgmlType::IQ4_NL: return dequantize_iq4_nl(static_cast<const BlockIq4Nl*>(src), dst, nb);
    case GgmlType::IQ4_XS: return dequantize_iq4_xs(static_cast<const BlockIq4Xs*>(src), dst, nb);
    case GgmlType::MXFP4: return dequantize_mxfp4(static_cast<const BlockMxfp4*>(src), dst, nb);
    default: break;
  }
}

}  // namespace llmc
