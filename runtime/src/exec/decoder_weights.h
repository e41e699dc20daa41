// The tensors of a llama-family decoder, checked against the shapes its hyperparameters imply and
// bound to their bytes in the file's memory map. Internal to the executor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llmc/gguf.h"
#include "llmc/model.h"

namespace llmc::exec {

// A row-major matrix of `rows` rows of `cols` elements (GGUF ne = [cols, rows]).
struct WeightMatrix {
  const GgufTensorInfo* info = nullptr;
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  uint64_t row_bytes = 0;
  const uint8_t* row(int64_t r) const { return data + static_cast<uint64_t>(r) * row_bytes; }
};

// An f32 vector (norm weights, biases, RoPE frequency factors); nullptr when absent.
struct WeightVector {
  const GgufTensorInfo* info = nullptr;
  const float* data = nullptr;
  int64_t size = 0;
  explicit operator bool() const { return data != nullptr; }
};

struct LayerWeights {
  uint32_t n_head = 0;
  uint32_t n_head_kv = 0;
  uint32_t n_ff = 0;
  WeightVector attn_norm;
  WeightMatrix attn_q, attn_k, attn_v, attn_output;
  WeightVector bias_q, bias_k, bias_v;    // qwen2 (optional for llama, mistral, qwen3)
  WeightVector attn_q_norm, attn_k_norm;  // qwen3: RMSNorm over each head
  WeightVector ffn_norm;
  WeightMatrix ffn_gate, ffn_up, ffn_down;
};

struct DecoderWeights {
  HParams hp;
  uint32_t n_vocab = 0;  // rows of token_embd (and of output)
  WeightMatrix token_embd;
  WeightMatrix output;  // token_embd itself when the model ties them
  bool tied_output = false;
  WeightVector output_norm;
  WeightVector rope_freqs;  // per-pair frequency divisors (llama 3.1+), optional
  std::vector<LayerWeights> layers;
};

// Checks the architecture, every tensor's presence, shape and type, and that the data section is
// complete, then binds the tensors. Throws GgufError naming the file and the tensor or key.
DecoderWeights bind_decoder_weights(const GgufFile& file);

}  // namespace llmc::exec
