// The tensor layout of a model from its hyperparameters and a llama.cpp file type (quant recipe),
// used to write skeletons of real models and random-weight models of real shapes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/ggml_types.h"
#include "llmc/gguf_writer.h"
#include "llmc/model.h"

namespace llmc {

// llama.cpp's `llama_ftype` values (general.file_type) for the recipes llmc can reproduce.
enum class FileType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 7,
  Q5_0 = 8,
  Q5_1 = 9,
  Q2_K = 10,
  Q3_K_S = 11,
  Q3_K_M = 12,
  Q3_K_L = 13,
  Q4_K_S = 14,
  Q4_K_M = 15,
  Q5_K_S = 16,
  Q5_K_M = 17,
  Q6_K = 18,
  IQ4_NL = 25,
  IQ4_XS = 30,
  BF16 = 32,
  MXFP4_MOE = 38,
};

std::optional<FileType> file_type_from_name(std::string_view name);  // "Q4_K_M", "q8_0", "BF16"
std::string file_type_name(FileType t);
// Name for a general.file_type id found in a file ("Q4_K_M"), or "" when unknown.
std::string file_type_name_from_id(uint64_t id);
std::vector<std::string> file_type_names();

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> ne;
  GgmlType type;
};

// Every tensor of the model in llama.cpp's order, with the type llama.cpp's quantizer would pick for
// `ftype` (its per-tensor rules for output, attn_v, ffn_down, attn_output, and the fallbacks for
// rows that are not a multiple of 256).
std::vector<TensorSpec> tensor_layout(const HParams& hp, FileType ftype);

// Writes the metadata a GGUF of this model carries (architecture keys, vocab size, file type).
void write_model_metadata(GgufWriter& w, const HParams& hp, FileType ftype, std::string_view name);

}  // namespace llmc
