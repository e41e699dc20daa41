// Tiny llama-family GGUF models with random weights of a realistic scale, written by the tests
// themselves: every matrix in one ggml type, norms near 1, biases and q/k norms where the
// architecture has them.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/gguf_writer.h"
#include "llmc/model_layout.h"
#include "llmc/quants.h"

namespace llmc::test {

// A fresh directory per test (parameterized names included), removed with everything in it.
class TempModelDir {
 public:
  TempModelDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? std::string(info->test_suite_name()) + "-" + info->name() : "x";
    for (char& c : name)
      if (c == '/') c = '_';
    path_ = std::filesystem::temp_directory_path() / ("llmc-exec-test-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempModelDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct TestModelSpec {
  std::string arch = "llama";
  GgmlType weight_type = GgmlType::F32;  // every matrix, token_embd and output included
  bool tied = false;
  uint32_t n_layer = 2;
  uint32_t n_embd = 256;
  uint32_t n_head = 4;
  uint32_t n_head_kv = 2;
  uint32_t n_ff = 512;
  uint32_t n_vocab = 300;
  float rope_freq_base = 10000.0f;
  float rope_scaling_factor = 0.0f;  // > 0: RoPE scaling of rope_scaling_type by this factor
  std::string rope_scaling_type = "linear";
  bool rope_freqs = false;  // write a rope_freqs.weight tensor (llama 3.1 style)
  uint64_t seed = 1;
};

inline HParams test_hparams(const TestModelSpec& s) {
  HParams hp;
  hp.arch = s.arch;
  hp.n_layer = s.n_layer;
  hp.n_embd = s.n_embd;
  hp.n_vocab = s.n_vocab;
  hp.n_ctx_train = 256;
  hp.n_head.assign(s.n_layer, s.n_head);
  hp.n_head_kv.assign(s.n_layer, s.n_head_kv);
  hp.n_ff.assign(s.n_layer, s.n_ff);
  hp.head_dim_k = hp.head_dim_v = s.n_embd / s.n_head;
  hp.rope_dim = hp.head_dim_k;
  hp.rope_freq_base = s.rope_freq_base;
  hp.rms_eps = 1e-5f;
  hp.rope_scaling = s.rope_scaling_factor > 0.0f ? s.rope_scaling_type : "none";
  hp.rope_scaling_factor = s.rope_scaling_factor > 0.0f ? s.rope_scaling_factor : 1.0f;
  hp.tied_output = s.tied;
  hp.layer_is_swa.assign(s.n_layer, false);
  return hp;
}

// Float values of one tensor: matrices ~ N(0, 1/cols) so activations stay of order one, norm
// weights 1 + N(0, 0.1^2), biases N(0, 0.1^2), RoPE frequency factors in [1, 4].
inline std::vector<float> test_tensor_values(const TensorSpec& t, std::mt19937_64& rng) {
  uint64_t n = 1;
  for (uint64_t d : t.ne) n *= d;
  std::vector<float> v(n);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const bool is_norm = t.name.find("norm") != std::string::npos;
  const bool is_bias = t.name.find(".bias") != std::string::npos;
  if (t.name == "rope_freqs.weight") {
    for (size_t i = 0; i < n; ++i) v[i] = 1.0f + 3.0f * static_cast<float>(i) / static_cast<float>(n);
  } else if (is_norm) {
    for (float& x : v) x = 1.0f + 0.1f * normal(rng);
  } else if (is_bias) {
    for (float& x : v) x = 0.1f * normal(rng);
  } else {
    const float scale = 1.0f / std::sqrt(static_cast<float>(t.ne[0]));
    for (float& x : v) x = scale * normal(rng);
  }
  return v;
}

// The tensor list of `spec` in llama.cpp's order, matrices in spec.weight_type.
inline std::vector<TensorSpec> test_layout(const TestModelSpec& spec) {
  std::vector<TensorSpec> layout = tensor_layout(test_hparams(spec), FileType::F32);
  for (TensorSpec& t : layout)
    if (t.ne.size() == 2) t.type = spec.weight_type;
  if (spec.rope_freqs)
    layout.insert(layout.begin() + 1,
                  TensorSpec{"rope_freqs.weight", {test_hparams(spec).rope_dim / 2}, GgmlType::F32});
  return layout;
}

// Writes `layout` with metadata for `spec`: the float values of each tensor are encoded in its
// type with the reference quantizer.
inline void write_test_model(const std::string& path, const TestModelSpec& spec,
                             const std::vector<TensorSpec>& layout) {
  const HParams hp = test_hparams(spec);
  GgufWriter w;
  write_model_metadata(w, hp, FileType::F32, "exec test model");
  for (const TensorSpec& t : layout) w.add_tensor(t.name, t.ne, t.type);
  std::mt19937_64 rng(spec.seed);
  std::vector<std::vector<float>> values;
  for (const TensorSpec& t : layout) values.push_back(test_tensor_values(t, rng));
  w.write(path, [&](size_t index, std::span<uint8_t> dst) {
    const TensorSpec& t = layout[index];
    const std::vector<float>& v = values[index];
    const int64_t cols = static_cast<int64_t>(t.ne[0]);
    const uint64_t row_bytes = *ggml_row_bytes(t.type, static_cast<uint64_t>(cols));
    for (size_t r = 0; r < v.size() / static_cast<size_t>(cols); ++r)
      quantize_row_reference(t.type, v.data() + r * static_cast<size_t>(cols), dst.data() + r * row_bytes, cols);
  });
}

inline void write_test_model(const std::string& path, const TestModelSpec& spec) {
  write_test_model(path, spec, test_layout(spec));
}

}  // namespace llmc::test
