// Shapes of well-known open models, so skeletons and random-weight models of real sizes can be
// written by name. Numbers come from each model's published config.json.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "llmc/model.h"

namespace llmc {

struct ModelPreset {
  std::string_view name;          // "llama-3.3-70b"
  std::string_view display_name;  // "Llama 3.3 70B Instruct"
  HParams hp;
  std::string_view tokenizer_model;  // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE)
  std::string_view tokenizer_pre;    // tokenizer.ggml.pre
};

const std::vector<ModelPreset>& model_presets();
const ModelPreset* find_model_preset(std::string_view name);

}  // namespace llmc
