#include "llmc/ggml_types.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace llmc {
namespace {

// Block geometry from the block structs of ggml-common.h (bytes = sizeof(block_xxx)).
constexpr std::array kTable = {
    GgmlTypeTraits{GgmlType::F32, "f32", 1, 4, false, false},
    GgmlTypeTraits{GgmlType::F16, "f16", 1, 2, false, false},
    GgmlTypeTraits{GgmlType::Q4_0, "q4_0", 32, 18, true, false},
    GgmlTypeTraits{GgmlType::Q4_1, "q4_1", 32, 20, true, false},
    GgmlTypeTraits{GgmlType::Q4_2, "q4_2", 16, 10, true, true},
    GgmlTypeTraits{GgmlType::Q4_3, "q4_3", 16, 12, true, true},
    GgmlTypeTraits{GgmlType::Q5_0, "q5_0", 32, 22, true, false},
    GgmlTypeTraits{GgmlType::Q5_1, "q5_1", 32, 24, true, false},
    GgmlTypeTraits{GgmlType::Q8_0, "q8_0", 32, 34, true, false},
    GgmlTypeTraits{GgmlType::Q8_1, "q8_1", 32, 36, true, false},
    GgmlTypeTraits{GgmlType::Q2_K, "q2_K", 256, 84, true, false},
    GgmlTypeTraits{GgmlType::Q3_K, "q3_K", 256, 110, true, false},
    GgmlTypeTraits{GgmlType::Q4_K, "q4_K", 256, 144, true, false},
    GgmlTypeTraits{GgmlType::Q5_K, "q5_K", 256, 176, true, false},
    GgmlTypeTraits{GgmlType::Q6_K, "q6_K", 256, 210, true, false},
    GgmlTypeTraits{GgmlType::Q8_K, "q8_K", 256, 292, true, false},
    GgmlTypeTraits{GgmlType::IQ2_XXS, "iq2_xxs", 256, 66, true, false},
    GgmlTypeTraits{GgmlType::IQ2_XS, "iq2_xs", 256, 74, true, false},
    GgmlTypeTraits{GgmlType::IQ3_XXS, "iq3_xxs", 256, 98, true, false},
    GgmlTypeTraits{GgmlType::IQ1_S, "iq1_s", 256, 50, true, false},
    GgmlTypeTraits{GgmlType::IQ4_NL, "iq4_nl", 32, 18, true, false},
    GgmlTypeTraits{GgmlType::IQ3_S, "iq3_s", 256, 110, true, false},
    GgmlTypeTraits{GgmlType::IQ2_S, "iq2_s", 256, 82, true, false},
    GgmlTypeTraits{GgmlType::IQ4_XS, "iq4_xs", 256, 136, true, false},
    GgmlTypeTraits{GgmlType::I8, "i8", 1, 1, false, false},
    GgmlTypeTraits{GgmlType::I16, "i16", 1, 2, false, false},
    GgmlTypeTraits{GgmlType::I32, "i32", 1, 4, false, false},
    GgmlTypeTraits{GgmlType::I64, "i64", 1, 8, false, false},
    GgmlTypeTraits{GgmlType::F64, "f64", 1, 8, false, false},
    GgmlTypeTraits{GgmlType::IQ1_M, "iq1_m", 256, 56, true, false},
    GgmlTypeTraits{GgmlType::BF16, "bf16", 1, 2, false, false},
    GgmlTypeTraits{GgmlType::Q4_0_4_4, "q4_0_4x4", 32, 18, true, true},
    GgmlTypeTraits{GgmlType::Q4_0_4_8, "q4_0_4x8", 32, 18, true, true},
    GgmlTypeTraits{GgmlType::Q4_0_8_8, "q4_0_8x8", 32, 18, true, true},
    GgmlTypeTraits{GgmlType::TQ1_0, "tq1_0", 256, 54, true, false},
    GgmlTypeTraits{GgmlType::TQ2_0, "tq2_0", 256, 66, true, false},
    GgmlTypeTraits{GgmlType::IQ4_NL_4_4, "iq4_nl_4x4", 32, 18, true, true},
    GgmlTypeTraits{GgmlType::IQ4_NL_4_8, "iq4_nl_4x8", 32, 18, true, true},
    GgmlTypeTraits{GgmlType::IQ4_NL_8_8, "iq4_nl_8x8", 32, 18, true, true},
    GgmlTypeTraits{GgmlType::MXFP4, "mxfp4", 32, 17, true, false},
    GgmlTypeTraits{GgmlType::NVFP4, "nvfp4", 64, 36, true, false},
    GgmlTypeTraits{GgmlType::Q1_0, "q1_0", 128, 18, true, false},
};

constexpr bool table_is_dense() {
  for (size_t i = 0; i < kTable.size(); ++i)
    if (static_cast<size_t>(kTable[i].type) != i) return false;
  return true;
}
static_assert(table_is_dense(), "kTable must be indexed by type id");

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const GgmlTypeTraits* ggml_type_traits(uint32_t id) {
  return id < kTable.size() ? &kTable[id] : nullptr;
}

const GgmlTypeTraits& ggml_type_traits(GgmlType type) { return kTable[static_cast<uint32_t>(type)]; }

std::span<const GgmlTypeTraits> ggml_type_table() { return kTable; }

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& t : kTable)
    if (iequals(t.name, name)) return t.type;
  return std::nullopt;
}

std::string_view ggml_type_name(GgmlType type) { return ggml_type_traits(type).name; }

std::optional<uint64_t> ggml_row_bytes(GgmlType type, uint64_t n) {
  const auto& t = ggml_type_traits(type);
  if (n % t.block_size != 0) return std::nullopt;
  return n / t.block_size * t.type_size;
}

}  // namespace llmc
