// Model description: hyperparameters from GGUF metadata and the exact per-layer tensor bytes.
// It is what the planner sizes and what the runtime builds its graph from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "llmc/gguf.h"

namespace llmc {

enum class RopeType { None, Norm, Neox };
std::string_view rope_type_name(RopeType r);

struct HParams {
  std::string arch;            // general.architecture
  uint32_t n_layer = 0;
  uint32_t n_embd = 0;
  uint32_t n_vocab = 0;
  uint32_t n_ctx_train = 0;
  // Per layer, because some models vary them (a scalar key applies to every layer).
  std::vector<uint32_t> n_head;
  std::vector<uint32_t> n_head_kv;
  std::vector<uint32_t> n_ff;
  uint32_t head_dim_k = 0;     // attention.key_length, or n_embd / n_head
  uint32_t head_dim_v = 0;     // attention.value_length, or n_embd / n_head
  float rms_eps = 1e-5f;
  RopeType rope_type = RopeType::Norm;
  uint32_t rope_dim = 0;       // rope.dimension_count, or head_dim_k
  float rope_freq_base = 10000.0f;
  std::string rope_scaling;    // "none", "linear", "yarn", ...
  float rope_scaling_factor = 1.0f;
  uint32_t sliding_window = 0; // 0: every layer attends to the full context
  std::vector<bool> layer_is_swa;  // per layer: uses the sliding window
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  uint32_t n_ff_expert = 0;
  bool tied_output = false;    // no output.weight: the token embedding is reused

  uint32_t max_head() const;
  uint32_t max_head_kv() const;
  uint32_t max_ff() const;
};

struct LayerDesc {
  uint32_t index = 0;
  std::vector<const GgufTensorInfo*> tensors;
  uint64_t bytes = 0;
  uint64_t expert_bytes = 0;   // bytes of tensors holding all experts (MoE), part of `bytes`
};

class ModelDesc {
 public:
  // Reads hyperparameters and groups tensors by layer. Throws GgufError naming the file and the
  // key when a required key is missing or has the wrong type, or the architecture is unknown.
  // With `lenient`, an unknown architecture or missing hyperparameter keys are tolerated (values
  // stay 0 and supported() is false) so that any GGUF can be described.
  static ModelDesc from_gguf(const GgufFile& file, bool lenient = false);

  // True when the architecture is one llmc can plan and run.
  bool supported() const { return supported_; }

  const GgufFile& file() const { return *file_; }
  const HParams& hparams() const { return hp_; }
  const std::string& name() const { return name_; }
  const std::vector<LayerDesc>& layers() const { return layers_; }
  // Tensors outside the repeating blocks: token_embd, output_norm, output, ...
  const std::vector<const GgufTensorInfo*>& global_tensors() const { return global_; }

  uint64_t n_params() const { return n_params_; }
  uint64_t data_bytes() const { return data_bytes_; }
  // Bytes per ggml type across all tensors (the quant mix).
  const std::map<GgmlType, uint64_t>& bytes_by_type() const { return bytes_by_type_; }
  // The dominant weight type (most bytes among 2-D tensors), like llama.cpp's "file type".
  GgmlType main_type() const { return main_type_; }

  // KV cache bytes per token over all layers for a cache type (F16, Q8_0, Q4_0, F32, BF16, ...),
  // with rows rounded to whole blocks. Sliding-window layers are counted like full layers here;
  // kv_bytes_per_token_full_layers() counts only layers that keep the whole context.
  uint64_t kv_bytes_per_token(GgmlType k_type, GgmlType v_type) const;
  uint64_t kv_bytes_per_token_full_layers(GgmlType k_type, GgmlType v_type) const;
  uint64_t kv_bytes_per_token_layer(uint32_t layer, GgmlType k_type, GgmlType v_type) const;

  std::string tokenizer_model() const;  // tokenizer.ggml.model, or "" if absent
  std::string tokenizer_pre() const;    // tokenizer.ggml.pre, or ""

 private:
  const GgufFile* file_ = nullptr;
  bool supported_ = true;
  HParams hp_;
  std::string name_;
  std::vector<LayerDesc> layers_;
  std::vector<const GgufTensorInfo*> global_;
  uint64_t n_params_ = 0;
  uint64_t data_bytes_ = 0;
  std::map<GgmlType, uint64_t> bytes_by_type_;
  GgmlType main_type_ = GgmlType::F32;
};

// Architectures whose hyperparameters this build understands.
const std::vector<std::string>& supported_architectures();

}  // namespace llmc
