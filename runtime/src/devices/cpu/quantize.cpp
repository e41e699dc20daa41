// Row quantization. The 32-element formats, Q8_K and MXFP4 follow ggml's quantize_row_*_ref
// arithmetic step by step; the K-quants and IQ4 formats use a least-squares scale search of their
// own (see fit_symmetric, fit_affine, fit_nonlinear).

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "cpu_kernels.h"
#include "llmc/quants.h"
#include "quant_blocks.h"

namespace llmc {
namespace {

using namespace cpu;

constexpr uint16_t kFp16QuietNaN = 0x7E00;
constexpr float kQuietNaN = std::numeric_limits<float>::quiet_NaN();

bool all_finite(const float* x, int64_t n) {
  uint32_t non_finite = 0;
  for (int64_t i = 0; i < n; ++i) {
    non_finite |= (std::bit_cast<uint32_t>(x[i]) & 0x7F800000u) == 0x7F800000u;
  }
  return non_finite == 0;
}

// [lo, hi] clamp with NaN mapped to lo: keeps float -> int conversions defined where ggml's C is
// not (an inverse scale that overflows to infinity).
inline float clamp_to(float v, float lo, float hi) { return v >= lo ? (v <= hi ? v : hi) : lo; }

// roundf for |v| < 2^23, without a libm call: ties away from zero.
inline int round_half_away(float v) {
  const int truncated = static_cast<int>(v);
  const float fraction = v - static_cast<float>(truncated);  // exact
  return truncated + (fraction >= 0.5f) - (fraction <= -0.5f);
}

// Round to nearest, ties to even, for |v| < 2^22 (ggml's nearest_int): adding 1.5 * 2^23 leaves
// the rounded integer in the low mantissa bits.
inline int round_half_even(float v) {
  const float shifted = clamp_to(v, -4194303.0f, 4194303.0f) + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x7FFFFFu) - 0x400000;
}

inline int nearest_clamped(float v, int lo, int hi) { return std::clamp(round_half_even(v), lo, hi); }

// The element of largest magnitude, with its sign (the first one on ties), as ggml picks it.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// ---- 32-element formats: ggml's reference arithmetic ----------------------------------------

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    if (!all_finite(x, kBlock32)) {
      y[i] = BlockQ4_0{kFp16QuietNaN, {}};
      continue;
    }
    const float d = signed_absmax(x, kBlock32) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < 16; ++j) {
      // ggml truncates x/d + 8.5 towards zero and caps it at 15.
      const int q0 = static_cast<int>(clamp_to(x[j] * id + 8.5f, 0.0f, 15.0f));
      const int q1 = static_cast<int>(clamp_to(x[j + 16] * id + 8.5f, 0.0f, 15.0f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
    }
  }
}

struct MinMax {
  float min;
  float max;
};
MinMax min_max(const float* x, int n) {
  MinMax r{x[0], x[0]};
  for (int i = 1; i < n; ++i) {
    if (x[i] < r.min) r.min = x[i];
    if (x[i] > r.max) r.max = x[i];
  }
  return r;
}

void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    if (!all_finite(x, kBlock32)) {
      y[i] = BlockQ4_1{kFp16QuietNaN, kFp16QuietNaN, {}};
      continue;
    }
    const MinMax r = min_max(x, kBlock32);
    const float d = (r.max - r.min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(r.min);
    for (int j = 0; j < 16; ++j) {
      const int q0 = static_cast<int>(clamp_to((x[j] - r.min) * id + 0.5f, 0.0f, 15.0f));
      const int q1 = static_cast<int>(clamp_to((x[j + 16] - r.min) * id + 0.5f, 0.0f, 15.0f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | q1 << 4);
    }
  }
}

// Packs 32 five-bit codes into Q5 nibbles and the qh word.
void pack_q5_codes(const int codes[32], uint8_t qs[16], uint8_t qh[4]) {
  uint32_t high = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((codes[j] & 0x0F) | (codes[j + 16] & 0x0F) << 4);
  }
  for (int j = 0; j < 32; ++j) high |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  for (int b = 0; b < 4; ++b) qh[b] = static_cast<uint8_t>(high >> (8 * b));
}

void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    if (!all_finite(x, kBlock32)) {
      y[i] = BlockQ5_0{kFp16QuietNaN, {}, {}};
      continue;
    }
    const float d = signed_absmax(x, kBlock32) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    int codes[32];
    for (int j = 0; j < 32; ++j) codes[j] = static_cast<int>(clamp_to(x[j] * id + 16.5f, 0.0f, 31.0f));
    pack_q5_codes(codes, y[i].qs, y[i].qh);
  }
}

void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    if (!all_finite(x, kBlock32)) {
      y[i] = BlockQ5_1{kFp16QuietNaN, kFp16QuietNaN, {}, {}};
      continue;
    }
    const MinMax r = min_max(x, kBlock32);
    const float d = (r.max - r.min) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(r.min);
    int codes[32];
    for (int j = 0; j < 32; ++j) codes[j] = static_cast<int>(clamp_to((x[j] - r.min) * id + 0.5f, 0.0f, 31.0f));
    pack_q5_codes(codes, y[i].qs, y[i].qh);
  }
}

float absmax(const float* x, int n) {
  float amax = 0.0f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    if (!all_finite(x, kBlock32)) {
      y[i] = BlockQ8_0{kFp16QuietNaN, {}};
      continue;
    }
    const float d = absmax(x, kBlock32) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    for (int j = 0; j < kBlock32; ++j) {
      y[i].qs[j] = static_cast<int8_t>(round_half_away(clamp_to(x[j] * id, -127.0f, 127.0f)));
    }
  }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    if (!all_finite(x, kBlock32)) {
      y[i] = BlockQ8_1{kFp16QuietNaN, kFp16QuietNaN, {}};
      continue;
    }
    const float d = absmax(x, kBlock32) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = fp32_to_fp16(d);
    int sum = 0;
    for (int j = 0; j < kBlock32; ++j) {
      y[i].qs[j] = static_cast<int8_t>(round_half_away(clamp_to(x[j] * id, -127.0f, 127.0f)));
      sum += y[i].qs[j];
    }
    y[i].s = fp32_to_fp16(sum * d);
  }
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kSuperBlock) {
    std::memset(&y[i], 0, sizeof(BlockQ8_K));
    if (!all_finite(x, kSuperBlock)) {
      y[i].d = kQuietNaN;
      continue;
    }
    const float max = signed_absmax(x, kSuperBlock);
    if (max == 0.0f) continue;
    const float iscale = -127.0f / max;
    for (int j = 0; j < kSuperBlock; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::min(127, round_half_even(iscale * x[j])));
    }
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * g + l];
      y[i].bsums[g] = static_cast<int16_t>(sum);
    }
    y[i].d = 1 / iscale;
  }
}

// Nearest grid value, the first on ties (ggml's best_index_mxfp4 for the MXFP4 grid).
int nearest_index(const int8_t grid[16], float v) {
  int best = 0;
  float best_err = std::fabs(grid[0] - v);
  for (int k = 1; k < 16; ++k) {
    const float err = std::fabs(grid[k] - v);
    if (err < best_err) {
      best = k;
      best_err = err;
    }
  }
  return best;
}

void quantize_mxfp4(const float* x, BlockMxfp4* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    const float amax = absmax(x, kBlock32);
    // Scale 2^(floor(log2 amax) - 2) in OCP terms, so amax lands on the grid's top binade.
    const int e = amax > 0.0f ? std::clamp(static_cast<int>(std::floor(std::log2(amax))) - 2 + 127, 0, 254) : 0;
    const float d = e8m0_to_fp32_half(static_cast<uint8_t>(e));
    y[i].e = static_cast<uint8_t>(e);
    for (int j = 0; j < 16; ++j) {
      // ggml compares |grid * d - x|, not |grid - x / d|; the rounding of the two differs.
      int q[2];
      for (int h = 0; h < 2; ++h) {
        const float v = x[j + 16 * h];
        int best = 0;
        float best_err = std::fabs(kMxfp4Values[0] * d - v);
        for (int k = 1; k < 16; ++k) {
          const float err = std::fabs(kMxfp4Values[k] * d - v);
          if (err < best_err) {
            best = k;
            best_err = err;
          }
        }
        q[h] = best;
      }
      y[i].qs[j] = static_cast<uint8_t>(q[0] | q[1] << 4);
    }
  }
}

// ---- Scale searches for the K-quants and IQ4 formats -----------------------------------------

// Least-squares fit x ~= scale * q with integer q in [-nmax, nmax - 1]. Candidate inverse scales
// map the largest magnitude to about -nmax (the extra negative level); for each, q is rounded and
// the scale refitted; the candidate with the smallest squared error wins. 0 for an all-zero group.
float fit_symmetric(const float* x, int n, int nmax) {
  const float max = signed_absmax(x, n);
  if (max == 0.0f) return 0.0f;
  float best_scale = -max / nmax;
  float best_score = -1.0f;  // sum_xq^2 / sum_qq: the error is sum(x^2) minus this
  for (int step = -8; step <= 8; ++step) {
    const float iscale = -(nmax + 0.1f * step) / max;
    float sum_xq = 0.0f;
    float sum_qq = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int q = nearest_clamped(iscale * x[i], -nmax, nmax - 1);
      sum_xq += x[i] * q;
      sum_qq += static_cast<float>(q * q);
    }
    if (sum_qq > 0.0f && sum_xq * sum_xq / sum_qq > best_score) {
      best_score = sum_xq * sum_xq / sum_qq;
      best_scale = sum_xq / sum_qq;
    }
  }
  return best_scale;
}

// Least-squares fit x ~= scale * q - min with integer q in [0, nmax], scale >= 0 and min >= 0
// (the K-quants subtract a non-negative min). Candidates stretch the range [min(x, 0), max(x)]
// over nmax + 0.1 * step levels; each is refitted by least squares on its codes.
struct AffineFit {
  float scale;
  float min;
};
AffineFit fit_affine(const float* x, int n, int nmax) {
  const MinMax r = min_max(x, n);
  const float lo = std::min(r.min, 0.0f);
  const float range = r.max - lo;
  if (!(range > 0.0f)) return {0.0f, -lo};
  AffineFit best{range / nmax, -lo};
  float best_err = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int q = nearest_clamped((x[i] - lo) / best.scale, 0, nmax);
    const float diff = best.scale * q - best.min - x[i];
    best_err += diff * diff;
  }
  for (int step = -5; step <= 10; ++step) {
    const float iscale = (nmax + 0.1f * step) / range;
    float sum_q = 0, sum_qq = 0, sum_x = 0, sum_xq = 0;
    int q[32];
    for (int i = 0; i < n; ++i) {
      q[i] = nearest_clamped(iscale * (x[i] - lo), 0, nmax);
      sum_q += static_cast<float>(q[i]);
      sum_qq += static_cast<float>(q[i] * q[i]);
      sum_x += x[i];
      sum_xq += x[i] * q[i];
    }
    const float det = n * sum_qq - sum_q * sum_q;
    if (!(det > 0.0f)) continue;
    float scale = (n * sum_xq - sum_x * sum_q) / det;
    float offset = (sum_qq * sum_x - sum_q * sum_xq) / det;  // x ~= scale * q + offset
    if (offset > 0.0f) {
      offset = 0.0f;
      scale = sum_xq / sum_qq;
    }
    if (!(scale > 0.0f)) continue;
    float err = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = scale * q[i] + offset - x[i];
      err += diff * diff;
    }
    if (err < best_err) {
      best_err = err;
      best = {scale, -offset};
    }
  }
  return best;
}

// Least-squares fit x ~= scale * kIq4nlValues[k]. The grid is asymmetric (-127..113), so
// candidates map the largest magnitude near either end of it.
float fit_nonlinear(const float* x, int n) {
  const float max = signed_absmax(x, n);
  if (max == 0.0f) return 0.0f;
  float best_scale = max / kIq4nlValues[0];
  float best_score = -1.0f;
  for (const int end : {static_cast<int>(kIq4nlValues[0]), static_cast<int>(kIq4nlValues[15])}) {
    for (int step = -8; step <= 8; ++step) {
      const float iscale = (end + step) / max;
      float sum_xv = 0.0f;
      float sum_vv = 0.0f;
      for (int i = 0; i < n; ++i) {
        const int v = kIq4nlValues[nearest_index(kIq4nlValues, iscale * x[i])];
        sum_xv += x[i] * v;
        sum_vv += static_cast<float>(v * v);
      }
      if (sum_xv * sum_xv / sum_vv > best_score) {
        best_score = sum_xv * sum_xv / sum_vv;
        best_scale = sum_xv / sum_vv;
      }
    }
  }
  return best_scale;
}

// Codes for x given the effective (already rounded) step; a zero step codes everything as 0.
inline int symmetric_code(float x, float step, int nmax) {
  return step != 0.0f ? nearest_clamped(x / step, -nmax, nmax - 1) : 0;
}
inline int affine_code(float x, float step, float min, int nmax) {
  return step > 0.0f ? nearest_clamped((x + min) / step, 0, nmax) : 0;
}
inline int nonlinear_code(float x, float step) { return nearest_index(kIq4nlValues, step != 0.0f ? x / step : 0.0f); }

// A group maximum small enough that its inverse would overflow counts as zero.
constexpr float kNegligibleScale = 1e-30f;

// ---- K-quants ---------------------------------------------------------------------------------

// Packs 256 two-bit values as Q2_K / Q3_K lay them out (see dequantize_q2_k).
void pack_2bit_codes(const int codes[256], uint8_t qs[64]) {
  for (int half = 0; half < 2; ++half) {
    for (int l = 0; l < 32; ++l) {
      int byte = 0;
      for (int k = 0; k < 4; ++k) byte |= (codes[128 * half + 32 * k + l] & 3) << (2 * k);
      qs[32 * half + l] = static_cast<uint8_t>(byte);
    }
  }
}

void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kSuperBlock) {
    std::memset(&y[i], 0, sizeof(BlockQ2_K));
    if (!all_finite(x, kSuperBlock)) {
      y[i].d = y[i].dmin = kFp16QuietNaN;
      continue;
    }
    AffineFit fits[16];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int g = 0; g < 16; ++g) {
      fits[g] = fit_affine(x + 16 * g, 16, 3);
      max_scale = std::max(max_scale, fits[g].scale);
      max_min = std::max(max_min, fits[g].min);
    }
    const float d = max_scale > kNegligibleScale ? max_scale / 15 : 0.0f;
    const float dmin = max_min > kNegligibleScale ? max_min / 15 : 0.0f;
    y[i].d = fp32_to_fp16(d);
    y[i].dmin = fp32_to_fp16(dmin);
    const float d_eff = fp16_to_fp32(y[i].d), dmin_eff = fp16_to_fp32(y[i].dmin);
    int codes[256];
    for (int g = 0; g < 16; ++g) {
      const int sc = d > 0.0f ? nearest_clamped(fits[g].scale / d, 0, 15) : 0;
      const int mn = dmin > 0.0f ? nearest_clamped(fits[g].min / dmin, 0, 15) : 0;
      y[i].scales[g] = static_cast<uint8_t>(sc | mn << 4);
      for (int l = 0; l < 16; ++l) codes[16 * g + l] = affine_code(x[16 * g + l], d_eff * sc, dmin_eff * mn, 3);
    }
    pack_2bit_codes(codes, y[i].qs);
  }
}

void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kSuperBlock) {
    std::memset(&y[i], 0, sizeof(BlockQ3_K));
    if (!all_finite(x, kSuperBlock)) {
      y[i].d = kFp16QuietNaN;
      continue;
    }
    float scales[16];
    for (int g = 0; g < 16; ++g) scales[g] = fit_symmetric(x + 16 * g, 16, 4);
    const float max_scale = signed_absmax(scales, 16);
    uint8_t biased[16];
    int codes[256];
    if (std::fabs(max_scale) > kNegligibleScale) {
      const float iscale = -32 / max_scale;
      y[i].d = fp32_to_fp16(1 / iscale);
      const float d_eff = fp16_to_fp32(y[i].d);
      for (int g = 0; g < 16; ++g) {
        const int sc = nearest_clamped(iscale * scales[g], -32, 31);
        biased[g] = static_cast<uint8_t>(sc + 32);
        for (int l = 0; l < 16; ++l) codes[16 * g + l] = symmetric_code(x[16 * g + l], d_eff * sc, 4) + 4;
      }
    } else {
      std::fill(std::begin(biased), std::end(biased), uint8_t{32});
      std::fill(std::begin(codes), std::end(codes), 4);
    }
    pack_q3k_scales(biased, y[i].scales);
    pack_2bit_codes(codes, y[i].qs);
    // The third bit of element 128*half + 32*k + l is bit 4*half + k of hmask[l].
    for (int e = 0; e < kSuperBlock; ++e) {
      const int half = e / 128, k = (e % 128) / 32, l = e % 32;
      y[i].hmask[l] = static_cast<uint8_t>(y[i].hmask[l] | (codes[e] >> 2) << (4 * half + k));
    }
  }
}

// Q4_K and Q5_K share the super-block scale step: eight affine fits, their scales and mins
// quantized to 6 bits against the largest of each.
struct KQuantScales {
  uint8_t scales[8];
  uint8_t mins[8];
  uint16_t d;
  uint16_t dmin;
};
KQuantScales fit_q45_k_scales(const float* x, int nmax, AffineFit fits[8]) {
  KQuantScales s{};
  float max_scale = 0.0f, max_min = 0.0f;
  for (int g = 0; g < 8; ++g) {
    fits[g] = fit_affine(x + 32 * g, 32, nmax);
    max_scale = std::max(max_scale, fits[g].scale);
    max_min = std::max(max_min, fits[g].min);
  }
  const float d = max_scale > kNegligibleScale ? max_scale / 63 : 0.0f;
  const float dmin = max_min > kNegligibleScale ? max_min / 63 : 0.0f;
  for (int g = 0; g < 8; ++g) {
    s.scales[g] = static_cast<uint8_t>(d > 0.0f ? nearest_clamped(fits[g].scale / d, 0, 63) : 0);
    s.mins[g] = static_cast<uint8_t>(dmin > 0.0f ? nearest_clamped(fits[g].min / dmin, 0, 63) : 0);
  }
  s.d = fp32_to_fp16(d);
  s.dmin = fp32_to_fp16(dmin);
  return s;
}

void affine_codes_q45_k(const float* x, const KQuantScales& s, int nmax, int codes[256]) {
  const float d = fp16_to_fp32(s.d), dmin = fp16_to_fp32(s.dmin);
  for (int e = 0; e < kSuperBlock; ++e) {
    const int g = e / 32;
    codes[e] = affine_code(x[e], d * s.scales[g], dmin * s.mins[g], nmax);
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kSuperBlock) {
    std::memset(&y[i], 0, sizeof(BlockQ4_K));
    if (!all_finite(x, kSuperBlock)) {
      y[i].d = y[i].dmin = kFp16QuietNaN;
      continue;
    }
    AffineFit fits[8];
    const KQuantScales s = fit_q45_k_scales(x, 15, fits);
    y[i].d = s.d;
    y[i].dmin = s.dmin;
    pack_q4k_scale_mins(s.scales, s.mins, y[i].scales);
    int codes[256];
    affine_codes_q45_k(x, s, 15, codes);
    for (int chunk = 0; chunk < 4; ++chunk) {
      for (int l = 0; l < 32; ++l) {
        y[i].qs[32 * chunk + l] = static_cast<uint8_t>(codes[64 * chunk + l] | codes[64 * chunk + 32 + l] << 4);
      }
    }
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kSuperBlock) {
    std::memset(&y[i], 0, sizeof(BlockQ5_K));
    if (!all_finite(x, kSuperBlock)) {
      y[i].d = y[i].dmin = kFp16QuietNaN;
      continue;
    }
    AffineFit fits[8];
    const KQuantScales s = fit_q45_k_scales(x, 31, fits);
    y[i].d = s.d;
    y[i].dmin = s.dmin;
    pack_q4k_scale_mins(s.scales, s.mins, y[i].scales);
    int codes[256];
    affine_codes_q45_k(x, s, 31, codes);
    for (int chunk = 0; chunk < 4; ++chunk) {
      for (int l = 0; l < 32; ++l) {
        const int lo = codes[64 * chunk + l], hi = codes[64 * chunk + 32 + l];
        y[i].qs[32 * chunk + l] = static_cast<uint8_t>((lo & 0x0F) | (hi & 0x0F) << 4);
        y[i].qh[l] = static_cast<uint8_t>(y[i].qh[l] | (lo >> 4) << (2 * chunk) | (hi >> 4) << (2 * chunk + 1));
      }
    }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kSuperBlock) {
    std::memset(&y[i], 0, sizeof(BlockQ6_K));
    if (!all_finite(x, kSuperBlock)) {
      y[i].d = kFp16QuietNaN;
      continue;
    }
    float scales[16];
    for (int g = 0; g < 16; ++g) scales[g] = fit_symmetric(x + 16 * g, 16, 32);
    const float max_scale = signed_absmax(scales, 16);
    int codes[256];
    if (std::fabs(max_scale) > kNegligibleScale) {
      const float iscale = -128 / max_scale;
      y[i].d = fp32_to_fp16(1 / iscale);
      const float d_eff = fp16_to_fp32(y[i].d);
      for (int g = 0; g < 16; ++g) {
        const int sc = nearest_clamped(iscale * scales[g], -128, 127);
        y[i].scales[g] = static_cast<int8_t>(sc);
        for (int l = 0; l < 16; ++l) codes[16 * g + l] = symmetric_code(x[16 * g + l], d_eff * sc, 32) + 32;
      }
    } else {
      std::fill(std::begin(codes), std::end(codes), 32);
    }
    // Element 128*half + 32*k + l: low nibble in ql[64*half + 32*(k%2) + l] (high half of the
    // byte for k >= 2), top two bits in bits 2k..2k+1 of qh[32*half + l].
    for (int e = 0; e < kSuperBlock; ++e) {
      const int half = e / 128, k = (e % 128) / 32, l = e % 32;
      uint8_t& low = y[i].ql[64 * half + 32 * (k % 2) + l];
      uint8_t& high = y[i].qh[32 * half + l];
      low = static_cast<uint8_t>(low | (codes[e] & 0x0F) << (4 * (k / 2)));
      high = static_cast<uint8_t>(high | (codes[e] >> 4) << (2 * k));
    }
  }
}

// ---- IQ4 --------------------------------------------------------------------------------------

void quantize_iq4_nl(const float* x, BlockIq4Nl* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kBlock32) {
    if (!all_finite(x, kBlock32)) {
      y[i] = BlockIq4Nl{kFp16QuietNaN, {}};
      continue;
    }
    y[i].d = fp32_to_fp16(fit_nonlinear(x, kBlock32));
    const float d = fp16_to_fp32(y[i].d);
    for (int j = 0; j < 16; ++j) {
      y[i].qs[j] = static_cast<uint8_t>(nonlinear_code(x[j], d) | nonlinear_code(x[j + 16], d) << 4);
    }
  }
}

void quantize_iq4_xs(const float* x, BlockIq4Xs* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kSuperBlock) {
    std::memset(&y[i], 0, sizeof(BlockIq4Xs));
    if (!all_finite(x, kSuperBlock)) {
      y[i].d = kFp16QuietNaN;
      continue;
    }
    float scales[8];
    for (int ib = 0; ib < 8; ++ib) scales[ib] = fit_nonlinear(x + 32 * ib, 32);
    const float max_scale = signed_absmax(scales, 8);
    const float d = std::fabs(max_scale) > kNegligibleScale ? max_scale / -32 : 0.0f;
    y[i].d = fp32_to_fp16(d);
    const float d_eff = fp16_to_fp32(y[i].d);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = d != 0.0f ? nearest_clamped(scales[ib] / d, -32, 31) + 32 : 32;
      y[i].scales_l[ib / 2] = static_cast<uint8_t>(y[i].scales_l[ib / 2] | (ls & 0x0F) << (4 * (ib % 2)));
      y[i].scales_h = static_cast<uint16_t>(y[i].scales_h | (ls >> 4) << (2 * ib));
      const float step = d_eff * (ls - 32);
      const float* xb = x + 32 * ib;
      for (int j = 0; j < 16; ++j) {
        y[i].qs[16 * ib + j] =
            static_cast<uint8_t>(nonlinear_code(xb[j], step) | nonlinear_code(xb[j + 16], step) << 4);
      }
    }
  }
}

}  // namespace

void quantize_row_reference(GgmlType type, const float* src, void* dst, int64_t n) {
  const int64_t nb = checked_block_count("quantize_row_reference", type, n);
  switch (type) {
    case GgmlType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case GgmlType::F16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
      return;
    }
    case GgmlType::BF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
      return;
    }
    case GgmlType::Q4_0: return quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case GgmlType::Q4_1: return quantize_q4_1(src, static_cast<BlockQ4_1*>(dst), nb);
    case GgmlType::Q5_0: return quantize_q5_0(src, static_cast<BlockQ5_0*>(dst), nb);
    case GgmlType::Q5_1: return quantize_q5_1(src, static_cast<BlockQ5_1*>(dst), nb);
    case GgmlType::Q8_0: return quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), nb);
    case GgmlType::Q8_1: return quantize_q8_1(src, static_cast<BlockQ8_1*>(dst), nb);
    case GgmlType::Q2_K: return quantize_q2_k(src, static_cast<BlockQ2_K*>(dst), nb);
    case GgmlType::Q3_K: return quantize_q3_k(src, static_cast<BlockQ3_K*>(dst), nb);
    case GgmlType::Q4_K: return quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), nb);
    case GgmlType::Q5_K: return quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), nb);
    case GgmlType::Q6_K: return quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), nb);
    case GgmlType::Q8_K: return quantize_q8_k(src, static_cast<BlockQ8_K*>(dst), nb);
    case GgmlType::IQ4_NL: return quantize_iq4_nl(src, static_cast<BlockIq4Nl*>(dst), nb);
    case GgmlType::IQ4_XS: return quantize_iq4_xs(src, static_cast<BlockIq4Xs*>(dst), nb);
    case GgmlType::MXFP4:
      if (!all_finite(src, n)) {
        throw std::domain_error("quantize_row_reference: mxfp4 cannot encode NaN or infinity (row of " +
                                std::to_string(n) + " elements)");
      }
      return quantize_mxfp4(src, static_cast<BlockMxfp4*>(dst), nb);
    default: break;
  }
}

}  // namespace llmc
