// The forward pass of llama-family decoders on the CPU. Tokens go through the blocks in batches
// of up to kMaxBatch: every weight row is read once per batch and dotted with each token's
// activations (matmul.h), so a long prompt reads the weights once per batch rather than once per
// token. Each token's arithmetic is the same whatever the batch, so the logits do not depend on
// how a sequence is split across eval() calls.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "decoder_weights.h"
#include "kv_cache.h"
#include "llmc/forward.h"
#include "llmc/quants.h"
#include "llmc/thread_pool.h"
#include "matmul.h"

namespace llmc {
namespace {

constexpr int64_t kMaxBatch = 32;
constexpr uint32_t kDefaultMaxContext = 4096;

// y = x / sqrt(mean(x^2) + eps) * weight, the sum of squares taken in double as ggml does.
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* y) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(n)) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * weight[i];
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

// The types of one matrix of every layer, for sizing the activations that feed them.
std::vector<GgmlType> layer_matrix_types(const exec::DecoderWeights& w,
                                         std::initializer_list<exec::WeightMatrix exec::LayerWeights::*> members) {
  std::vector<GgmlType> types;
  for (const exec::LayerWeights& l : w.layers)
    for (auto member : members) types.push_back((l.*member).type);
  return types;
}

}  // namespace

std::string_view kv_cache_type_name(KvCacheType t) { return t == KvCacheType::F16 ? "f16" : "f32"; }

std::optional<KvCacheType> kv_cache_type_from_name(std::string_view name) {
  if (name == "f16" || name == "F16") return KvCacheType::F16;
  if (name == "f32" || name == "F32") return KvCacheType::F32;
  return std::nullopt;
}

const std::vector<std::string>& cpu_decoder_architectures() {
  static const std::vector<std::string> names{"llama", "mistral", "qwen2", "qwen3"};
  return names;
}

struct CpuDecoder::Impl {
  exec::DecoderWeights w;
  uint32_t n_ctx;
  ThreadPool pool;
  exec::KvCache kv;
  uint32_t n_past = 0;

  int64_t n_embd, q_width, k_width, v_width, attn_width, ff_width;
  uint32_t n_rot;                // rotated pairs per head
  std::vector<double> inv_freq;  // per rotated pair
  float attn_scale;

  // Activations for up to kMaxBatch tokens, allocated once.
  std::vector<float> x, x_norm, q, k, v, attn, proj, gate, up, rope_cos, rope_sin, scores, logits;
  exec::EncodedActivations in_norm;    // attention and feed-forward inputs (n_embd wide)
  exec::EncodedActivations in_attn;    // attention output
  exec::EncodedActivations in_ffn;     // SwiGLU output
  exec::EncodedActivations in_output;  // final norm, one token

  Impl(exec::DecoderWeights weights, uint32_t ctx, int threads, KvCacheType kv_type)
      : w(std::move(weights)),
        n_ctx(ctx),
        pool(threads),
        kv(w, ctx, kv_type),
        n_embd(w.hp.n_embd),
        q_width(int64_t{w.hp.max_head()} * w.hp.head_dim_k),
        k_width(int64_t{w.hp.max_head_kv()} * w.hp.head_dim_k),
        v_width(int64_t{w.hp.max_head_kv()} * w.hp.head_dim_v),
        attn_width(int64_t{w.hp.max_head()} * w.hp.head_dim_v),
        ff_width(w.hp.max_ff()),
        n_rot(w.hp.rope_dim / 2),
        attn_scale(1.0f / std::sqrt(static_cast<float>(w.hp.head_dim_k))),
        in_norm(n_embd, kMaxBatch,
                layer_matrix_types(
                    w, {&exec::LayerWeights::attn_q, &exec::LayerWeights::attn_k, &exec::LayerWeights::attn_v,
                        &exec::LayerWeights::ffn_gate, &exec::LayerWeights::ffn_up})),
        in_attn(attn_width, kMaxBatch, layer_matrix_types(w, {&exec::LayerWeights::attn_output})),
        in_ffn(ff_width, kMaxBatch, layer_matrix_types(w, {&exec::LayerWeights::ffn_down})),
        in_output(n_embd, 1, std::vector<GgmlType>{w.output.type}) {
    x.resize(kMaxBatch * n_embd);
    x_norm.resize(kMaxBatch * n_embd);
    q.resize(kMaxBatch * q_width);
    k.resize(kMaxBatch * k_width);
    v.resize(kMaxBatch * v_width);
    attn.resize(kMaxBatch * attn_width);
    proj.resize(kMaxBatch * n_embd);
    gate.resize(kMaxBatch * ff_width);
    up.resize(kMaxBatch * ff_width);
    rope_cos.resize(kMaxBatch * n_rot);
    rope_sin.resize(kMaxBatch * n_rot);
    scores.resize(static_cast<size_t>(w.hp.max_head()) * n_ctx);
    logits.resize(w.n_vocab);
    // theta_i = pos * base^(-2i / rope_dim) [/ rope_freqs[i]] [/ linear scaling factor].
    inv_freq.resize(n_rot);
    const double scaling = w.hp.rope_scaling == "linear" ? w.hp.rope_scaling_factor : 1.0;
    for (uint32_t i = 0; i < n_rot; ++i) {
      double f = std::pow(static_cast<double>(w.hp.rope_freq_base), -2.0 * i / w.hp.rope_dim) / scaling;
      if (w.rope_freqs) f /= w.rope_freqs.data[i];
      inv_freq[i] = f;
    }
  }

  // Rotates each head's first rope_dim values: adjacent pairs (NORM, llama) or the two halves
  // (NEOX, qwen2/qwen3).
  void rope(float* vec, uint32_t n_heads, int64_t b) const {
    const float* c = rope_cos.data() + b * n_rot;
    const float* s = rope_sin.data() + b * n_rot;
    const bool neox = w.hp.rope_type == RopeType::Neox;
    for (uint32_t h = 0; h < n_heads; ++h) {
      float* head = vec + int64_t{h} * w.hp.head_dim_k;
      for (uint32_t i = 0; i < n_rot; ++i) {
        float* a = neox ? head + i : head + 2 * i;
        float* bb = neox ? head + i + n_rot : head + 2 * i + 1;
        const float x0 = *a, x1 = *bb;
        *a = x0 * c[i] - x1 * s[i];
        *bb = x0 * s[i] + x1 * c[i];
      }
    }
  }

  void forward_batch(const int32_t* tokens, int64_t count, bool want_logits) {
    const HParams& hp = w.hp;
    const uint32_t pos0 = n_past;
    for (int64_t b = 0; b < count; ++b) {
      dequantize_row(w.token_embd.type, w.token_embd.row(tokens[b]), x.data() + b * n_embd, n_embd);
      for (uint32_t i = 0; i < n_rot; ++i) {
        const double theta = static_cast<double>(pos0 + b) * inv_freq[i];
        rope_cos[b * n_rot + i] = static_cast<float>(std::cos(theta));
        rope_sin[b * n_rot + i] = static_cast<float>(std::sin(theta));
      }
    }

    for (uint32_t li = 0; li < hp.n_layer; ++li) {
      const exec::LayerWeights& l = w.layers[li];
      const int64_t qn = int64_t{l.n_head} * hp.head_dim_k;
      const int64_t kn = int64_t{l.n_head_kv} * hp.head_dim_k;
      const int64_t vn = int64_t{l.n_head_kv} * hp.head_dim_v;
      const int64_t on = int64_t{l.n_head} * hp.head_dim_v;

      // Attention.
      for (int64_t b = 0; b < count; ++b)
        rms_norm(x.data() + b * n_embd, l.attn_norm.data, n_embd, hp.rms_eps, x_norm.data() + b * n_embd);
      const exec::WeightMatrix* qkv[] = {&l.attn_q, &l.attn_k, &l.attn_v};
      in_norm.encode(x_norm.data(), n_embd, count, qkv);
      const exec::MatmulOutput qkv_out[] = {
          {&l.attn_q, q.data(), q_width}, {&l.attn_k, k.data(), k_width}, {&l.attn_v, v.data(), v_width}};
      exec::matmul(pool, in_norm, count, qkv_out);
      for (int64_t b = 0; b < count; ++b) {
        float* qb = q.data() + b * q_width;
        float* kb = k.data() + b * k_width;
        float* vb = v.data() + b * v_width;
        if (l.bias_q)
          for (int64_t i = 0; i < qn; ++i) qb[i] += l.bias_q.data[i];
        if (l.bias_k)
          for (int64_t i = 0; i < kn; ++i) kb[i] += l.bias_k.data[i];
        if (l.bias_v)
          for (int64_t i = 0; i < vn; ++i) vb[i] += l.bias_v.data[i];
        if (l.attn_q_norm)
          for (uint32_t h = 0; h < l.n_head; ++h) {
            float* head = qb + int64_t{h} * hp.head_dim_k;
            rms_norm(head, l.attn_q_norm.data, hp.head_dim_k, hp.rms_eps, head);
          }
        if (l.attn_k_norm)
          for (uint32_t h = 0; h < l.n_head_kv; ++h) {
            float* head = kb + int64_t{h} * hp.head_dim_k;
            rms_norm(head, l.attn_k_norm.data, hp.head_dim_k, hp.rms_eps, head);
          }
        rope(qb, l.n_head, b);
        rope(kb, l.n_head_kv, b);
        kv.store(li, pos0 + static_cast<uint32_t>(b), kb, vb);
      }
      const uint32_t group = l.n_head / l.n_head_kv;
      for (int64_t b = 0; b < count; ++b) {
        const uint32_t n_pos = pos0 + static_cast<uint32_t>(b) + 1;
        const float* qb = q.data() + b * q_width;
        float* ob = attn.data() + b * attn_width;
        pool.parallel_for(l.n_head, 1, [&](int64_t h0, int64_t h1) {
          for (int64_t h = h0; h < h1; ++h)
            kv.attend(li, static_cast<uint32_t>(h) / group, qb + h * hp.head_dim_k, n_pos, attn_scale,
                      scores.data() + h * n_ctx, ob + h * hp.head_dim_v);
        });
      }
      const exec::WeightMatrix* o[] = {&l.attn_output};
      in_attn.encode(attn.data(), on, count, o);
      const exec::MatmulOutput o_out[] = {{&l.attn_output, proj.data(), n_embd}};
      exec::matmul(pool, in_attn, count, o_out);
      for (int64_t i = 0; i < count * n_embd; ++i) x[i] += proj[i];

      // SwiGLU feed-forward.
      for (int64_t b = 0; b < count; ++b)
        rms_norm(x.data() + b * n_embd, l.ffn_norm.data, n_embd, hp.rms_eps, x_norm.data() + b * n_embd);
      const exec::WeightMatrix* gate_up[] = {&l.ffn_gate, &l.ffn_up};
      in_norm.encode(x_norm.data(), n_embd, count, gate_up);
      const exec::MatmulOutput gate_up_out[] = {{&l.ffn_gate, gate.data(), ff_width}, {&l.ffn_up, up.data(), ff_width}};
      exec::matmul(pool, in_norm, count, gate_up_out);
      for (int64_t b = 0; b < count; ++b) {
        float* g = gate.data() + b * ff_width;
        const float* u = up.data() + b * ff_width;
        for (uint32_t i = 0; i < l.n_ff; ++i) g[i] = silu(g[i]) * u[i];
      }
      const exec::WeightMatrix* down[] = {&l.ffn_down};
      in_ffn.encode(gate.data(), l.n_ff, count, down);
      const exec::MatmulOutput down_out[] = {{&l.ffn_down, proj.data(), n_embd}};
      exec::matmul(pool, in_ffn, count, down_out);
      for (int64_t i = 0; i < count * n_embd; ++i) x[i] += proj[i];
    }
    n_past += static_cast<uint32_t>(count);

    if (!want_logits) return;
    const float* last = x.data() + (count - 1) * n_embd;
    rms_norm(last, w.output_norm.data, n_embd, hp.rms_eps, x_norm.data());
    const exec::WeightMatrix* out[] = {&w.output};
    in_output.encode(x_norm.data(), n_embd, 1, out);
    const exec::MatmulOutput logits_out[] = {{&w.output, logits.data(), 0}};
    exec::matmul(pool, in_output, 1, logits_out);
  }
};

CpuDecoder::CpuDecoder(const GgufFile& file, const DecoderOptions& options) {
  exec::DecoderWeights weights = exec::bind_decoder_weights(file);
  uint32_t n_ctx = options.n_ctx;
  if (n_ctx == 0)
    n_ctx = weights.hp.n_ctx_train ? std::min(weights.hp.n_ctx_train, kDefaultMaxContext) : kDefaultMaxContext;
  const int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl_ = std::make_unique<Impl>(std::move(weights), n_ctx, threads, options.kv_type);
}

CpuDecoder::~CpuDecoder() = default;
CpuDecoder::CpuDecoder(CpuDecoder&&) noexcept = default;
CpuDecoder& CpuDecoder::operator=(CpuDecoder&&) noexcept = default;

const HParams& CpuDecoder::hparams() const { return impl_->w.hp; }
uint32_t CpuDecoder::n_ctx() const { return impl_->n_ctx; }
uint32_t CpuDecoder::n_vocab() const { return impl_->w.n_vocab; }
uint32_t CpuDecoder::n_past() const { return impl_->n_past; }
int CpuDecoder::threads() const { return impl_->pool.threads(); }
KvCacheType CpuDecoder::kv_type() const { return impl_->kv.type(); }

std::span<const float> CpuDecoder::eval(std::span<const int32_t> tokens) {
  Impl& m = *impl_;
  if (tokens.empty()) throw std::invalid_argument("eval: no tokens");
  if (tokens.size() > m.n_ctx - m.n_past)
    throw std::invalid_argument(fmt::format("eval: {} tokens do not fit: {} of the context's {} positions are in use",
                                            tokens.size(), m.n_past, m.n_ctx));
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || static_cast<uint32_t>(tokens[i]) >= m.w.n_vocab)
      throw std::invalid_argument(
          fmt::format("eval: token {} (at {}) is outside the vocabulary [0, {})", tokens[i], i, m.w.n_vocab));
  for (size_t start = 0; start < tokens.size(); start += kMaxBatch) {
    const int64_t count = std::min<int64_t>(kMaxBatch, static_cast<int64_t>(tokens.size() - start));
    m.forward_batch(tokens.data() + start, count, start + count == tokens.size());
  }
  return m.logits;
}

void CpuDecoder::reset() { impl_->n_past = 0; }

uint64_t CpuDecoder::weight_bytes_per_token() const {
  const exec::DecoderWeights& w = impl_->w;
  uint64_t bytes = w.output.info->n_bytes + w.output_norm.info->n_bytes;
  if (!w.tied_output) bytes += w.token_embd.row_bytes;
  for (const exec::LayerWeights& l : w.layers) {
    for (const exec::WeightVector* v :
         {&l.attn_norm, &l.bias_q, &l.bias_k, &l.bias_v, &l.attn_q_norm, &l.attn_k_norm, &l.ffn_norm})
      if (v->info) bytes += v->info->n_bytes;
    for (const exec::WeightMatrix* m :
         {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      bytes += m->info->n_bytes;
  }
  return bytes;
}

uint64_t CpuDecoder::kv_cache_bytes() const { return impl_->kv.bytes(); }

uint64_t CpuDecoder::activation_bytes() const {
  const Impl& m = *impl_;
  uint64_t bytes = 0;
  for (const std::vector<float>* v : {&m.x, &m.x_norm, &m.q, &m.k, &m.v, &m.attn, &m.proj, &m.gate, &m.up, &m.rope_cos,
                                      &m.rope_sin, &m.scores, &m.logits})
    bytes += v->size() * sizeof(float);
  for (const exec::EncodedActivations* e : {&m.in_norm, &m.in_attn, &m.in_ffn, &m.in_output}) bytes += e->bytes();
  return bytes;
}

}  // namespace llmc
