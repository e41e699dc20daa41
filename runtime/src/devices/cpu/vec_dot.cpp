// Dot products: the double-precision oracle (vec_dot) and the portable integer kernels that
// define vec_dot_q8. Block arithmetic follows ggml's ggml_vec_dot_*_q8_* reference kernels.

#include <array>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu_kernels.h"
#include "llmc/quants.h"
#include "quant_blocks.h"

namespace llmc {
namespace cpu {

int64_t checked_block_count(const char* operation, GgmlType type, int64_t n) {
  if (!has_cpu_kernels(type)) {
    throw std::invalid_argument(std::string(operation) + ": " + std::string(ggml_type_name(type)) +
                                " has no CPU kernel");
  }
  const int64_t block = ggml_type_traits(type).block_size;
  if (n < 0 || n % block != 0) {
    throw std::invalid_argument(std::string(operation) + ": " + std::string(ggml_type_name(type)) +
                                ": n = " + std::to_string(n) + " is not a non-negative multiple of the block size " +
                                std::to_string(block));
  }
  return n / block;
}

namespace {

// ---- 32-element formats with Q8_0 / Q8_1 activations ------------------------------------------

float dot_q4_0_q8_0(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ4_0*>(w_row);
  const auto* x = static_cast<const BlockQ8_0*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += ((w[i].qs[j] & 0x0F) - 8) * x[i].qs[j];
      isum += ((w[i].qs[j] >> 4) - 8) * x[i].qs[j + 16];
    }
    sum.add(i, static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d)));
  }
  return sum.total();
}

float dot_q4_1_q8_1(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ4_1*>(w_row);
  const auto* x = static_cast<const BlockQ8_1*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += (w[i].qs[j] & 0x0F) * x[i].qs[j];
      isum += (w[i].qs[j] >> 4) * x[i].qs[j + 16];
    }
    // sum((q*d + m) * x) = d_w*d_x*isum + m * (d_x * sum(q_x)), the last factor being Q8_1's s.
    const float dd = fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d);
    sum.add(i, dd * static_cast<float>(isum) + fp16_to_fp32(w[i].m) * fp16_to_fp32(x[i].s));
  }
  return sum.total();
}

// For each byte value, eight bytes that are 0x10 where the byte has a bit set (bit k -> byte k):
// spreads Q5's fifth bits to byte lanes with four table loads instead of 32 variable shifts.
constexpr std::array<uint64_t, 256> kFifthBitSpread = [] {
  std::array<uint64_t, 256> table{};
  for (int v = 0; v < 256; ++v)
    for (int k = 0; k < 8; ++k)
      if (v & (1 << k)) table[v] |= uint64_t{0x10} << (8 * k);
  return table;
}();

// Five-bit codes of a Q5 block as int8 (the fifth bit of element j is bit j of qh).
inline void unpack_q5_codes(const uint8_t* qs, const uint8_t* qh, int8_t codes[32]) {
  uint8_t fifth_bits[32];
  for (int b = 0; b < 4; ++b) std::memcpy(fifth_bits + 8 * b, &kFifthBitSpread[qh[b]], 8);
  for (int j = 0; j < 16; ++j) {
    codes[j] = static_cast<int8_t>((qs[j] & 0x0F) | fifth_bits[j]);
    codes[j + 16] = static_cast<int8_t>((qs[j] >> 4) | fifth_bits[j + 16]);
  }
}

float dot_q5_0_q8_0(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ5_0*>(w_row);
  const auto* x = static_cast<const BlockQ8_0*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int8_t codes[32];
    unpack_q5_codes(w[i].qs, w[i].qh, codes);
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += (codes[j] - 16) * x[i].qs[j];
    sum.add(i, static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d)));
  }
  return sum.total();
}

float dot_q5_1_q8_1(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ5_1*>(w_row);
  const auto* x = static_cast<const BlockQ8_1*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int8_t codes[32];
    unpack_q5_codes(w[i].qs, w[i].qh, codes);
    int isum = 0;
    for (int j = 0; j < 32; ++j) isum += codes[j] * x[i].qs[j];
    const float dd = fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d);
    sum.add(i, dd * static_cast<float>(isum) + fp16_to_fp32(w[i].m) * fp16_to_fp32(x[i].s));
  }
  return sum.total();
}

inline int dot_i8_32(const int8_t* a, const int8_t* b) {
  int isum = 0;
  for (int j = 0; j < 32; ++j) isum += a[j] * b[j];
  return isum;
}

float dot_q8_0_q8_0(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ8_0*>(w_row);
  const auto* x = static_cast<const BlockQ8_0*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    const int isum = dot_i8_32(w[i].qs, x[i].qs);
    sum.add(i, static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d)));
  }
  return sum.total();
}

float dot_q8_1_q8_1(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ8_1*>(w_row);
  const auto* x = static_cast<const BlockQ8_1*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    const int isum = dot_i8_32(w[i].qs, x[i].qs);
    sum.add(i, static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d)));
  }
  return sum.total();
}

float dot_iq4_nl_q8_0(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockIq4Nl*>(w_row);
  const auto* x = static_cast<const BlockQ8_0*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += kIq4nlValues[w[i].qs[j] & 0x0F] * x[i].qs[j];
      isum += kIq4nlValues[w[i].qs[j] >> 4] * x[i].qs[j + 16];
    }
    sum.add(i, static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d)));
  }
  return sum.total();
}

float dot_mxfp4_q8_0(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockMxfp4*>(w_row);
  const auto* x = static_cast<const BlockQ8_0*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += kMxfp4Values[w[i].qs[j] & 0x0F] * x[i].qs[j];
      isum += kMxfp4Values[w[i].qs[j] >> 4] * x[i].qs[j + 16];
    }
    sum.add(i, static_cast<float>(isum) * (fp16_to_fp32(x[i].d) * e8m0_to_fp32_half(w[i].e)));
  }
  return sum.total();
}

// ---- Super-block formats with Q8_K activations -------------------------------------------------
// Codes are unpacked to int8 in element order, then every sub-block's integer dot is weighted by
// its integer scale. A min term uses Q8_K's bsums: sum(m * d_min * x) = d_min * m * sum(q_x).

inline int dot_i8_16(const int8_t* a, const int8_t* b) {
  int isum = 0;
  for (int j = 0; j < 16; ++j) isum += a[j] * b[j];
  return isum;
}

float dot_q2_k_q8_k(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ2_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int8_t codes[256];
    for (int half = 0; half < 2; ++half) {
      for (int k = 0; k < 4; ++k) {
        for (int l = 0; l < 32; ++l)
          codes[128 * half + 32 * k + l] = static_cast<int8_t>((w[i].qs[32 * half + l] >> (2 * k)) & 3);
      }
    }
    int isum = 0;
    int min_sum = 0;
    for (int g = 0; g < 16; ++g) {
      isum += (w[i].scales[g] & 0x0F) * dot_i8_16(codes + 16 * g, x[i].qs + 16 * g);
      min_sum += (w[i].scales[g] >> 4) * x[i].bsums[g];
    }
    const float d = x[i].d * fp16_to_fp32(w[i].d);
    const float dmin = x[i].d * fp16_to_fp32(w[i].dmin);
    sum.add(i, d * static_cast<float>(isum) - dmin * static_cast<float>(min_sum));
  }
  return sum.total();
}

float dot_q3_k_q8_k(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ3_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int8_t codes[256];
    for (int half = 0; half < 2; ++half) {
      for (int k = 0; k < 4; ++k) {
        const int high_bit = 4 * half + k;
        for (int l = 0; l < 32; ++l) {
          const int low = (w[i].qs[32 * half + l] >> (2 * k)) & 3;
          const int high = (w[i].hmask[l] >> high_bit) & 1;
          codes[128 * half + 32 * k + l] = static_cast<int8_t>(low - 4 + 4 * high);
        }
      }
    }
    int isum = 0;
    for (int g = 0; g < 16; ++g) isum += q3k_scale(w[i].scales, g) * dot_i8_16(codes + 16 * g, x[i].qs + 16 * g);
    sum.add(i, x[i].d * fp16_to_fp32(w[i].d) * static_cast<float>(isum));
  }
  return sum.total();
}

// Q4_K and Q5_K share the block term: eight groups of 32 unsigned codes, each with a 6-bit scale
// and a 6-bit min, against Q8_K activations whose per-16 sums give the min correction.
float k_block_term(const uint8_t* scales, uint16_t d16, uint16_t dmin16, const int8_t* codes, const BlockQ8_K& x) {
  int isum = 0;
  int min_sum = 0;
  for (int g = 0; g < 8; ++g) {
    const ScaleMin sm = q4k_scale_min(scales, g);
    isum += sm.scale * dot_i8_32(codes + 32 * g, x.qs + 32 * g);
    min_sum += sm.min * (x.bsums[2 * g] + x.bsums[2 * g + 1]);
  }
  const float d = x.d * fp16_to_fp32(d16);
  const float dmin = x.d * fp16_to_fp32(dmin16);
  return d * static_cast<float>(isum) - dmin * static_cast<float>(min_sum);
}

float dot_q4_k_q8_k(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ4_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int8_t codes[256];
    for (int chunk = 0; chunk < 4; ++chunk) {
      for (int l = 0; l < 32; ++l) {
        codes[64 * chunk + l] = static_cast<int8_t>(w[i].qs[32 * chunk + l] & 0x0F);
        codes[64 * chunk + 32 + l] = static_cast<int8_t>(w[i].qs[32 * chunk + l] >> 4);
      }
    }
    sum.add(i, k_block_term(w[i].scales, w[i].d, w[i].dmin, codes, x[i]));
  }
  return sum.total();
}

float dot_q5_k_q8_k(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ5_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int8_t codes[256];
    for (int chunk = 0; chunk < 4; ++chunk) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q = w[i].qs[32 * chunk + l], qh = w[i].qh[l];
        codes[64 * chunk + l] = static_cast<int8_t>((q & 0x0F) | ((qh >> (2 * chunk)) & 1) << 4);
        codes[64 * chunk + 32 + l] = static_cast<int8_t>((q >> 4) | ((qh >> (2 * chunk + 1)) & 1) << 4);
      }
    }
    sum.add(i, k_block_term(w[i].scales, w[i].d, w[i].dmin, codes, x[i]));
  }
  return sum.total();
}

float dot_q6_k_q8_k(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ6_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int8_t codes[256];
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = w[i].ql + 64 * half;
      const uint8_t* qh = w[i].qh + 32 * half;
      int8_t* c = codes + 128 * half;
      for (int l = 0; l < 32; ++l) {
        c[l] = static_cast<int8_t>(((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32);
        c[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32);
        c[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
        c[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
      }
    }
    int isum = 0;
    for (int g = 0; g < 16; ++g) isum += w[i].scales[g] * dot_i8_16(codes + 16 * g, x[i].qs + 16 * g);
    sum.add(i, x[i].d * fp16_to_fp32(w[i].d) * static_cast<float>(isum));
  }
  return sum.total();
}

float dot_q8_k_q8_k(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockQ8_K*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int isum = 0;
    for (int j = 0; j < kSuperBlock; ++j) isum += w[i].qs[j] * x[i].qs[j];
    sum.add(i, w[i].d * x[i].d * static_cast<float>(isum));
  }
  return sum.total();
}

float dot_iq4_xs_q8_k(const void* w_row, const void* x_row, int64_t nb) {
  const auto* w = static_cast<const BlockIq4Xs*>(w_row);
  const auto* x = static_cast<const BlockQ8_K*>(x_row);
  BlockTermSum sum;
  for (int64_t i = 0; i < nb; ++i) {
    int isum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* qs = w[i].qs + 16 * ib;
      const int8_t* q8 = x[i].qs + 32 * ib;
      int block_sum = 0;
      for (int j = 0; j < 16; ++j) {
        block_sum += kIq4nlValues[qs[j] & 0x0F] * q8[j];
        block_sum += kIq4nlValues[qs[j] >> 4] * q8[j + 16];
      }
      isum += iq4xs_scale(w[i], ib) * block_sum;
    }
    sum.add(i, fp16_to_fp32(w[i].d) * x[i].d * static_cast<float>(isum));
  }
  return sum.total();
}

// ---- Float formats: products in float, sixteen partial sums by element index mod 16 ----------

constexpr int kFloatLanes = 16;

inline float combine_lanes(float lanes[kFloatLanes]) {
  for (int width = kFloatLanes / 2; width >= 1; width /= 2) {
    for (int k = 0; k < width; ++k) lanes[k] += lanes[k + width];
  }
  return lanes[0];
}

template <typename Product>
float dot_float_lanes(int64_t n, Product product) {
  float lanes[kFloatLanes] = {};
  int64_t i = 0;
  for (; i + kFloatLanes <= n; i += kFloatLanes) {
    for (int k = 0; k < kFloatLanes; ++k) lanes[k] += product(i + k);
  }
  for (int k = 0; i < n; ++i, ++k) lanes[k] += product(i);
  return combine_lanes(lanes);
}

float dot_f32_f32(const void* w_row, const void* x_row, int64_t n) {
  const auto* w = static_cast<const float*>(w_row);
  const auto* x = static_cast<const float*>(x_row);
  return dot_float_lanes(n, [&](int64_t i) { return w[i] * x[i]; });
}

float dot_f16_f16(const void* w_row, const void* x_row, int64_t n) {
  const auto* w = static_cast<const uint16_t*>(w_row);
  const auto* x = static_cast<const uint16_t*>(x_row);
  return dot_float_lanes(n, [&](int64_t i) { return fp16_to_fp32(w[i]) * fp16_to_fp32(x[i]); });
}

float dot_bf16_bf16(const void* w_row, const void* x_row, int64_t n) {
  const auto* w = static_cast<const uint16_t*>(w_row);
  const auto* x = static_cast<const uint16_t*>(x_row);
  return dot_float_lanes(n, [&](int64_t i) { return bf16_to_fp32(w[i]) * bf16_to_fp32(x[i]); });
}

constexpr std::array kCpuKernelTypes = {
    GgmlType::F32,  GgmlType::F16,  GgmlType::Q4_0,   GgmlType::Q4_1,   GgmlType::Q5_0, GgmlType::Q5_1,
    GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q2_K,   GgmlType::Q3_K,   GgmlType::Q4_K, GgmlType::Q5_K,
    GgmlType::Q6_K, GgmlType::Q8_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::BF16, GgmlType::MXFP4,
};

}  // namespace

RowDotFn scalar_row_dot(GgmlType wtype) {
  switch (wtype) {
    case GgmlType::F32: return dot_f32_f32;
    case GgmlType::F16: return dot_f16_f16;
    case GgmlType::BF16: return dot_bf16_bf16;
    case GgmlType::Q4_0: return dot_q4_0_q8_0;
    case GgmlType::Q4_1: return dot_q4_1_q8_1;
    case GgmlType::Q5_0: return dot_q5_0_q8_0;
    case GgmlType::Q5_1: return dot_q5_1_q8_1;
    case GgmlType::Q8_0: return dot_q8_0_q8_0;
    case GgmlType::Q8_1: return dot_q8_1_q8_1;
    case GgmlType::Q2_K: return dot_q2_k_q8_k;
    case GgmlType::Q3_K: return dot_q3_k_q8_k;
    case GgmlType::Q4_K: return dot_q4_k_q8_k;
    case GgmlType::Q5_K: return dot_q5_k_q8_k;
    case GgmlType::Q6_K: return dot_q6_k_q8_k;
    case GgmlType::Q8_K: return dot_q8_k_q8_k;
    case GgmlType::IQ4_NL: return dot_iq4_nl_q8_0;
    case GgmlType::IQ4_XS: return dot_iq4_xs_q8_k;
    case GgmlType::MXFP4: return dot_mxfp4_q8_0;
    default: return nullptr;
  }
}

}  // namespace cpu

std::span<const GgmlType> cpu_kernel_types() { return cpu::kCpuKernelTypes; }

bool has_cpu_kernels(GgmlType type) {
  for (const GgmlType t : cpu::kCpuKernelTypes)
    if (t == type) return true;
  return false;
}

GgmlType vec_dot_partner(GgmlType wtype) {
  cpu::checked_block_count("vec_dot_partner", wtype, 0);
  switch (wtype) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0:
    case GgmlType::IQ4_NL:
    case GgmlType::MXFP4: return GgmlType::Q8_0;
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::Q8_1: return GgmlType::Q8_1;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::Q8_K:
    case GgmlType::IQ4_XS: return GgmlType::Q8_K;
    default: return wtype;  // F32, F16, BF16
  }
}

float vec_dot(GgmlType wtype, const void* w_row, const float* x, int64_t n) {
  cpu::checked_block_count("vec_dot", wtype, n);
  const auto& traits = ggml_type_traits(wtype);
  // Decode a few blocks at a time (256 elements for the 1-element float "blocks").
  const int64_t chunk = traits.block_size >= 256 ? traits.block_size : 256 / traits.block_size * traits.block_size;
  const int64_t chunk_bytes = chunk / traits.block_size * traits.type_size;
  const auto* w = static_cast<const uint8_t*>(w_row);
  float decoded[256];
  double sum = 0.0;
  for (int64_t start = 0; start < n; start += chunk, w += chunk_bytes) {
    const int64_t count = n - start < chunk ? n - start : chunk;
    dequantize_row(wtype, w, decoded, count);
    for (int64_t j = 0; j < count; ++j) sum += static_cast<double>(decoded[j]) * static_cast<double>(x[start + j]);
  }
  return static_cast<float>(sum);
}

float vec_dot_q8_scalar(GgmlType wtype, const void* w_row, const void* x_partner, int64_t n) {
  const int64_t nb = cpu::checked_block_count("vec_dot_q8_scalar", wtype, n);
  return cpu::scalar_row_dot(wtype)(w_row, x_partner, nb);
}

float vec_dot_q8(GgmlType wtype, const void* w_row, const void* x_partner, int64_t n) {
  const int64_t nb = cpu::checked_block_count("vec_dot_q8", wtype, n);
  return cpu::fastest_row_dot(wtype)(w_row, x_partner, nb);
}

bool has_vec_dot_q8_avx2(GgmlType wtype) { return cpu::avx2_row_dot(wtype) != nullptr; }

float vec_dot_q8_avx2(GgmlType wtype, const void* w_row, const void* x_partner, int64_t n) {
  const int64_t nb = cpu::checked_block_count("vec_dot_q8_avx2", wtype, n);
  const cpu::RowDotFn kernel = cpu::avx2_row_dot(wtype);
  if (!kernel) {
    throw std::invalid_argument("vec_dot_q8_avx2: no AVX2 kernel for " + std::string(ggml_type_name(wtype)) +
                                " on this CPU");
  }
  return kernel(w_row, x_partner, nb);
}

}  // namespace llmc
