// The ggml tensor type table: ids as stored in GGUF files, block sizes and bytes per block.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace llmc {

// Values are the on-disk ids of ggml's `enum ggml_type`. Ids 4, 5 (Q4_2, Q4_3), 31-33 (Q4_0_4_4,
// Q4_0_4_8, Q4_0_8_8) and 36-38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) were retired upstream; they are
// known to the table so that a file using them gets a precise error rather than "unknown type".
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q4_2 = 4,
  Q4_3 = 5,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  Q4_0_4_4 = 31,
  Q4_0_4_8 = 32,
  Q4_0_8_8 = 33,
  TQ1_0 = 34,
  TQ2_0 = 35,
  IQ4_NL_4_4 = 36,
  IQ4_NL_4_8 = 37,
  IQ4_NL_8_8 = 38,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;  // as llama.cpp prints it: "q4_K", "f16", "iq4_xs", ...
  uint32_t block_size;    // elements per block
  uint32_t type_size;     // bytes per block
  bool quantized;
  bool retired;           // no longer readable by current ggml
};

// Traits for an on-disk id, or nullptr when the id is not a ggml type.
const GgmlTypeTraits* ggml_type_traits(uint32_t id);
const GgmlTypeTraits& ggml_type_traits(GgmlType type);
std::span<const GgmlTypeTraits> ggml_type_table();

// Case-insensitive lookup by name ("Q4_K", "q4_k", "bf16").
std::optional<GgmlType> ggml_type_from_name(std::string_view name);
std::string_view ggml_type_name(GgmlType type);

// Bytes of a row of `n` elements; nullopt when n is not a multiple of the block size.
std::optional<uint64_t> ggml_row_bytes(GgmlType type, uint64_t n);

}  // namespace llmc
