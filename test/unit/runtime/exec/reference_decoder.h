// A straightforward double-precision forward pass of llama-family decoders, the oracle the CPU
// decoder is checked against: weights are dequantized with dequantize_row and widened to double,
// activations are never quantized, and every step is a plain loop over the whole history.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "llmc/gguf.h"
#include "llmc/model.h"
#include "llmc/quants.h"

namespace llmc::test {

class ReferenceDecoder {
 public:
  explicit ReferenceDecoder(const GgufFile& file)
      : file_(file), desc_(ModelDesc::from_gguf(file)), hp_(desc_.hparams()) {
    embd_ = matrix("token_embd.weight");
    n_vocab_ = static_cast<int>(file.find_tensor("token_embd.weight")->ne[1]);
    output_ = file.find_tensor("output.weight") ? matrix("output.weight") : embd_;
    output_norm_ = vec("output_norm.weight");
    if (file.find_tensor("rope_freqs.weight")) rope_freqs_ = vec("rope_freqs.weight");
    for (uint32_t i = 0; i < hp_.n_layer; ++i) {
      const std::string p = "blk." + std::to_string(i) + ".";
      Layer l;
      l.attn_norm = vec(p + "attn_norm.weight");
      l.wq = matrix(p + "attn_q.weight");
      l.wk = matrix(p + "attn_k.weight");
      l.wv = matrix(p + "attn_v.weight");
      l.wo = matrix(p + "attn_output.weight");
      if (file.find_tensor(p + "attn_q.bias")) {
        l.bq = vec(p + "attn_q.bias");
        l.bk = vec(p + "attn_k.bias");
        l.bv = vec(p + "attn_v.bias");
      }
      if (file.find_tensor(p + "attn_q_norm.weight")) {
        l.q_norm = vec(p + "attn_q_norm.weight");
        l.k_norm = vec(p + "attn_k_norm.weight");
      }
      l.ffn_norm = vec(p + "ffn_norm.weight");
      l.gate = matrix(p + "ffn_gate.weight");
      l.up = matrix(p + "ffn_up.weight");
      l.down = matrix(p + "ffn_down.weight");
      layers_.push_back(std::move(l));
    }
    keys_.resize(hp_.n_layer);
    values_.resize(hp_.n_layer);
  }

  int n_vocab() const { return n_vocab_; }

  // Appends one token and returns the logits that follow it.
  std::vector<double> step(int32_t token) {
    const int E = static_cast<int>(hp_.n_embd);
    const int dk = static_cast<int>(hp_.head_dim_k), dv = static_cast<int>(hp_.head_dim_v);
    const int pos = n_past_++;
    std::vector<double> x(embd_.row(token), embd_.row(token) + E);
    for (uint32_t li = 0; li < hp_.n_layer; ++li) {
      const Layer& l = layers_[li];
      const int H = static_cast<int>(hp_.n_head[li]), Hkv = static_cast<int>(hp_.n_head_kv[li]);
      std::vector<double> xn = rms_norm(x, l.attn_norm);
      std::vector<double> q = l.wq.times(xn), k = l.wk.times(xn), v = l.wv.times(xn);
      if (!l.bq.empty()) {
        add(q, l.bq);
        add(k, l.bk);
        add(v, l.bv);
      }
      for (int h = 0; h < H; ++h) head_transform(q.data() + h * dk, l.q_norm, pos);
      for (int h = 0; h < Hkv; ++h) head_transform(k.data() + h * dk, l.k_norm, pos);
      keys_[li].push_back(k);
      values_[li].push_back(v);

      std::vector<double> attn(static_cast<size_t>(H * dv), 0.0);
      for (int h = 0; h < H; ++h) {
        const int kvh = h / (H / Hkv);
        std::vector<double> scores(static_cast<size_t>(pos + 1));
        double max_score = -1e300;
        for (int t = 0; t <= pos; ++t) {
          double s = 0.0;
          for (int d = 0; d < dk; ++d)
            s += q[static_cast<size_t>(h * dk + d)] *
                 keys_[li][static_cast<size_t>(t)][static_cast<size_t>(kvh * dk + d)];
          scores[static_cast<size_t>(t)] = s / std::sqrt(static_cast<double>(dk));
          max_score = std::max(max_score, scores[static_cast<size_t>(t)]);
        }
        double total = 0.0;
        for (double& s : scores) total += (s = std::exp(s - max_score));
        for (int t = 0; t <= pos; ++t)
          for (int d = 0; d < dv; ++d)
            attn[static_cast<size_t>(h * dv + d)] +=
                scores[static_cast<size_t>(t)] / total *
                values_[li][static_cast<size_t>(t)][static_cast<size_t>(kvh * dv + d)];
      }
      add(x, l.wo.times(attn));

      xn = rms_norm(x, l.ffn_norm);
      std::vector<double> g = l.gate.times(xn);
      const std::vector<double> u = l.up.times(xn);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      add(x, l.down.times(g));
    }
    return output_.times(rms_norm(x, output_norm_));
  }

 private:
  struct Matrix {
    int rows = 0, cols = 0;
    std::vector<double> values;
    const double* row(int r) const { return values.data() + static_cast<size_t>(r) * static_cast<size_t>(cols); }
    std::vector<double> times(const std::vector<double>& x) const {
      std::vector<double> y(static_cast<size_t>(rows), 0.0);
      for (int r = 0; r < rows; ++r) {
        const double* w = row(r);
        double s = 0.0;
        for (int c = 0; c < cols; ++c) s += w[c] * x[static_cast<size_t>(c)];
        y[static_cast<size_t>(r)] = s;
      }
      return y;
    }
  };
  struct Layer {
    std::vector<double> attn_norm, bq, bk, bv, q_norm, k_norm, ffn_norm;
    Matrix wq, wk, wv, wo, gate, up, down;
  };

  Matrix matrix(const std::string& name) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    Matrix m;
    m.cols = static_cast<int>(t->ne[0]);
    m.rows = static_cast<int>(t->ne[1]);
    const uint64_t row_bytes = *ggml_row_bytes(t->type, t->ne[0]);
    const uint8_t* data = file_.tensor_data(*t).data();
    std::vector<float> row(static_cast<size_t>(m.cols));
    m.values.reserve(static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols));
    for (int r = 0; r < m.rows; ++r) {
      dequantize_row(t->type, data + static_cast<uint64_t>(r) * row_bytes, row.data(), m.cols);
      m.values.insert(m.values.end(), row.begin(), row.end());
    }
    return m;
  }
  std::vector<double> vec(const std::string& name) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    std::vector<float> v(t->n_elements);
    dequantize_row(t->type, file_.tensor_data(*t).data(), v.data(), static_cast<int64_t>(t->n_elements));
    return {v.begin(), v.end()};
  }

  std::vector<double> rms_norm(const std::vector<double>& x, const std::vector<double>& w) const {
    double ss = 0.0;
    for (double v : x) ss += v * v;
    const double scale = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + hp_.rms_eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
    return y;
  }
  static void add(std::vector<double>& x, const std::vector<double>& y) {
    for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
  }

  // qwen3's per-head RMSNorm (when `norm` is given), then RoPE at `pos`.
  void head_transform(double* head, const std::vector<double>& norm, int pos) const {
    const int dk = static_cast<int>(hp_.head_dim_k);
    if (!norm.empty()) {
      std::vector<double> h(head, head + dk);
      h = rms_norm(h, norm);
      std::copy(h.begin(), h.end(), head);
    }
    const int n_rot = static_cast<int>(hp_.rope_dim / 2);
    const double scaling = hp_.rope_scaling == "linear" ? hp_.rope_scaling_factor : 1.0;
    for (int i = 0; i < n_rot; ++i) {
      double freq = std::pow(static_cast<double>(hp_.rope_freq_base), -2.0 * i / hp_.rope_dim) / scaling;
      if (!rope_freqs_.empty()) freq /= rope_freqs_[static_cast<size_t>(i)];
      const double theta = pos * freq;
      const bool neox = hp_.rope_type == RopeType::Neox;
      double& a = neox ? head[i] : head[2 * i];
      double& b = neox ? head[i + n_rot] : head[2 * i + 1];
      const double a0 = a, b0 = b;
      a = a0 * std::cos(theta) - b0 * std::sin(theta);
      b = a0 * std::sin(theta) + b0 * std::cos(theta);
    }
  }

  const GgufFile& file_;
  ModelDesc desc_;
  HParams hp_;
  int n_vocab_ = 0;
  int n_past_ = 0;
  Matrix embd_, output_;
  std::vector<double> output_norm_, rope_freqs_;
  std::vector<Layer> layers_;
  std::vector<std::vector<std::vector<double>>> keys_, values_;  // [layer][position][kv values]
};

}  // namespace llmc::test
