#include "kv_cache.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu_features.h"
#include "llmc/quants.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMC_EXEC_X86 1
#include <immintrin.h>
#endif

namespace llmc::exec {
namespace {

// The vector loops of attention, for f32 and f16 rows. The x86 forms are picked at run time; the
// choice is fixed per process, so results do not depend on how tokens are batched.
struct AttentionOps {
  float (*dot_f32)(const float* q, const float* k, int n);
  float (*dot_f16)(const float* q, const uint16_t* k, int n);
  void (*axpy_f32)(float a, const float* v, float* out, int n);
  void (*axpy_f16)(float a, const uint16_t* v, float* out, int n);
  void (*to_f16)(const float* x, uint16_t* y, int n);
};

float dot_f32_scalar(const float* q, const float* k, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; ++i) s += q[i] * k[i];
  return s;
}
float dot_f16_scalar(const float* q, const uint16_t* k, int n) {
  float s = 0.0f;
  for (int i = 0; i < n; ++i) s += q[i] * fp16_to_fp32(k[i]);
  return s;
}
void axpy_f32_scalar(float a, const float* v, float* out, int n) {
  for (int i = 0; i < n; ++i) out[i] += a * v[i];
}
void axpy_f16_scalar(float a, const uint16_t* v, float* out, int n) {
  for (int i = 0; i < n; ++i) out[i] += a * fp16_to_fp32(v[i]);
}
void to_f16_scalar(const float* x, uint16_t* y, int n) {
  for (int i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

#if LLMC_EXEC_X86
#define LLMC_AVX2 __attribute__((target("avx2,fma,f16c")))

LLMC_AVX2 float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

LLMC_AVX2 float dot_f32_avx2(const float* q, const float* k, int n) {
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), acc);
  float s = horizontal_sum(acc);
  for (; i < n; ++i) s += q[i] * k[i];
  return s;
}
LLMC_AVX2 float dot_f16_avx2(const float* q, const uint16_t* k, int n) {
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 kf = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i)));
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), kf, acc);
  }
  float s = horizontal_sum(acc);
  for (; i < n; ++i) s += q[i] * _cvtsh_ss(k[i]);
  return s;
}
LLMC_AVX2 void axpy_f32_avx2(float a, const float* v, float* out, int n) {
  const __m256 av = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(v + i), _mm256_loadu_ps(out + i)));
  for (; i < n; ++i) out[i] += a * v[i];
}
LLMC_AVX2 void axpy_f16_avx2(float a, const uint16_t* v, float* out, int n) {
  const __m256 av = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vf = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
    _mm256_storeu_ps(out + i, _mm256_fmadd_ps(av, vf, _mm256_loadu_ps(out + i)));
  }
  for (; i < n; ++i) out[i] += a * _cvtsh_ss(v[i]);
}
LLMC_AVX2 void to_f16_avx2(const float* x, uint16_t* y, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}
#endif

const AttentionOps& attention_ops() {
  static const AttentionOps ops = [] {
#if LLMC_EXEC_X86
    if (cpu_features().avx2_fma_f16c)
      return AttentionOps{dot_f32_avx2, dot_f16_avx2, axpy_f32_avx2, axpy_f16_avx2, to_f16_avx2};
#endif
    return AttentionOps{dot_f32_scalar, dot_f16_scalar, axpy_f32_scalar, axpy_f16_scalar, to_f16_scalar};
  }();
  return ops;
}

}  // namespace

KvCache::KvCache(const DecoderWeights& weights, uint32_t n_ctx, KvCacheType type)
    : type_(type),
      n_ctx_(n_ctx),
      head_dim_k_(weights.hp.head_dim_k),
      head_dim_v_(weights.hp.head_dim_v),
      elem_bytes_(type == KvCacheType::F16 ? 2 : 4) {
  uint64_t offset = 0;
  for (const LayerWeights& l : weights.layers) {
    LayerSlots s;
    s.n_head_kv = l.n_head_kv;
    s.k_offset = offset;
    offset += uint64_t{l.n_head_kv} * n_ctx * head_dim_k_ * elem_bytes_;
    s.v_offset = offset;
    offset += uint64_t{l.n_head_kv} * n_ctx * head_dim_v_ * elem_bytes_;
    layers_.push_back(s);
  }
  storage_.resize(offset);
}

uint64_t KvCache::key_offset(uint32_t layer, uint32_t kv_head, uint32_t pos) const {
  return layers_[layer].k_offset + (uint64_t{kv_head} * n_ctx_ + pos) * head_dim_k_ * elem_bytes_;
}
uint64_t KvCache::value_offset(uint32_t layer, uint32_t kv_head, uint32_t pos) const {
  return layers_[layer].v_offset + (uint64_t{kv_head} * n_ctx_ + pos) * head_dim_v_ * elem_bytes_;
}

void KvCache::store(uint32_t layer, uint32_t pos, const float* k, const float* v) {
  const AttentionOps& ops = attention_ops();
  for (uint32_t h = 0; h < layers_[layer].n_head_kv; ++h) {
    uint8_t* k_dst = storage_.data() + key_offset(layer, h, pos);
    uint8_t* v_dst = storage_.data() + value_offset(layer, h, pos);
    const float* k_src = k + uint64_t{h} * head_dim_k_;
    const float* v_src = v + uint64_t{h} * head_dim_v_;
    if (type_ == KvCacheType::F16) {
      ops.to_f16(k_src, reinterpret_cast<uint16_t*>(k_dst), static_cast<int>(head_dim_k_));
      ops.to_f16(v_src, reinterpret_cast<uint16_t*>(v_dst), static_cast<int>(head_dim_v_));
    } else {
      std::memcpy(k_dst, k_src, head_dim_k_ * sizeof(float));
      std::memcpy(v_dst, v_src, head_dim_v_ * sizeof(float));
    }
  }
}

void KvCache::attend(uint32_t layer, uint32_t kv_head, const float* q, uint32_t n_pos, float scale, float* scores,
                     float* out) const {
  const AttentionOps& ops = attention_ops();
  const bool f16 = type_ == KvCacheType::F16;
  const int dk = static_cast<int>(head_dim_k_);
  const int dv = static_cast<int>(head_dim_v_);
  const uint8_t* keys = storage_.data() + key_offset(layer, kv_head, 0);
  const uint64_t k_stride = head_dim_k_ * elem_bytes_;
  float max_score = -std::numeric_limits<float>::infinity();
  for (uint32_t t = 0; t < n_pos; ++t) {
    const uint8_t* k = keys + t * k_stride;
    const float dot = f16 ? ops.dot_f16(q, reinterpret_cast<const uint16_t*>(k), dk)
                          : ops.dot_f32(q, reinterpret_cast<const float*>(k), dk);
    scores[t] = dot * scale;
    max_score = std::max(max_score, scores[t]);
  }
  double total = 0.0;
  for (uint32_t t = 0; t < n_pos; ++t) {
    scores[t] = std::exp(scores[t] - max_score);
    total += scores[t];
  }
  const float inv_total = static_cast<float>(1.0 / total);
  std::fill(out, out + dv, 0.0f);
  const uint8_t* values = storage_.data() + value_offset(layer, kv_head, 0);
  const uint64_t v_stride = head_dim_v_ * elem_bytes_;
  for (uint32_t t = 0; t < n_pos; ++t) {
    const uint8_t* v = values + t * v_stride;
    if (f16)
      ops.axpy_f16(scores[t] * inv_total, reinterpret_cast<const uint16_t*>(v), out, dv);
    else
      ops.axpy_f32(scores[t] * inv_total, reinterpret_cast<const float*>(v), out, dv);
  }
}

}  // namespace llmc::exec
