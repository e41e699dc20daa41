// How a weight matrix is laid out in a device's memory.
//
// `blocks` is the GGUF file's layout: each row is its ggml blocks one after the other. Many block
// types are 17, 18, 34, 110 or 210 bytes long, so most of their fields sit at 1- or 2-byte
// aligned addresses, and a GPU lane reads 16 bytes of codes with four or five narrow loads.
//
// `row_planar` keeps every row where it was (same row bytes, same row order) but stores the row's
// blocks field by field: first field 0 of every block of the row, then field 1 of every block, and
// so on. A Q6_K row of nb blocks becomes nb x 128 bytes of low nibbles, nb x 64 of high bits, nb x 16
// of scales and nb x 2 of d. Whenever nb x (field start) is a multiple of 16 the codes of every
// block are 16-byte aligned. The size is unchanged, so a matrix, a row range of it (a row split
// across devices) and one row (an embedding lookup) are cut exactly as in the file.
//
// Header only and free of compiler dependencies: the code generator (which addresses the fields)
// and the runtime (which repacks tensors when it uploads them) share this one table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "llmc/ggml_types.h"

namespace llmc {

enum class WeightLayout : uint32_t { Blocks = 0, RowPlanar = 1 };

inline std::string_view weight_layout_name(WeightLayout layout) {
  return layout == WeightLayout::RowPlanar ? "row_planar" : "blocks";
}

inline std::optional<WeightLayout> weight_layout_from_name(std::string_view name) {
  if (name == "blocks") return WeightLayout::Blocks;
  if (name == "row_planar") return WeightLayout::RowPlanar;
  return std::nullopt;
}

// A contiguous byte range of a block, as laid out in ggml-common.h's block_xxx struct.
struct BlockField {
  uint32_t offset;
  uint32_t bytes;
};

// The fields `row_planar` separates, in block order, covering the block exactly; empty for types
// that row_planar leaves as they are (float rows; Q4_K and Q5_K, whose 144- and 176-byte blocks
// already keep every field 16-byte aligned; types llmc has no kernel for).
inline std::span<const BlockField> row_planar_fields(GgmlType type) {
  static constexpr BlockField kQ4_0[] = {{0, 2}, {2, 16}};                       // d, qs
  static constexpr BlockField kQ4_1[] = {{0, 4}, {4, 16}};                       // d m, qs
  static constexpr BlockField kQ5_0[] = {{0, 2}, {2, 4}, {6, 16}};               // d, qh, qs
  static constexpr BlockField kQ5_1[] = {{0, 4}, {4, 4}, {8, 16}};               // d m, qh, qs
  static constexpr BlockField kQ8_0[] = {{0, 2}, {2, 32}};                       // d, qs
  static constexpr BlockField kQ2_K[] = {{0, 16}, {16, 64}, {80, 4}};            // scales, qs, d dmin
  static constexpr BlockField kQ3_K[] = {{0, 32}, {32, 64}, {96, 12}, {108, 2}};  // hmask, qs, scales, d
  static constexpr BlockField kQ6_K[] = {{0, 128}, {128, 64}, {192, 16}, {208, 2}};  // ql, qh, scales, d
  static constexpr BlockField kIQ4_NL[] = {{0, 2}, {2, 16}};                     // d, qs
  static constexpr BlockField kIQ4_XS[] = {{0, 8}, {8, 128}};                    // d, scales, qs
  static constexpr BlockField kMXFP4[] = {{0, 1}, {1, 16}};                      // e, qs
  switch (type) {
    case GgmlType::Q4_0: return kQ4_0;
    case GgmlType::Q4_1: return kQ4_1;
    case GgmlType::Q5_0: return kQ5_0;
    case GgmlType::Q5_1: return kQ5_1;
    case GgmlType::Q8_0: return kQ8_0;
    case GgmlType::Q2_K: return kQ2_K;
    case GgmlType::Q3_K: return kQ3_K;
    case GgmlType::Q6_K: return kQ6_K;
    case GgmlType::IQ4_NL: return kIQ4_NL;
    case GgmlType::IQ4_XS: return kIQ4_XS;
    case GgmlType::MXFP4: return kMXFP4;
    default: return {};
  }
}

// Where byte `offset` of block `block` of a row of `blocks_per_row` blocks lives, from the row's
// first byte, in `layout`.
inline uint64_t weight_byte_offset(GgmlType type, WeightLayout layout, uint64_t blocks_per_row, uint64_t block,
                                   uint32_t offset) {
  const uint32_t block_bytes = ggml_type_traits(type).type_size;
  if (layout == WeightLayout::Blocks || row_planar_fields(type).empty())
    return block * block_bytes + offset;
  for (const BlockField& field : row_planar_fields(type))
    if (offset < field.offset + field.bytes)
      return blocks_per_row * field.offset + block * field.bytes + (offset - field.offset);
  throw std::out_of_range("weight_byte_offset: offset " + std::to_string(offset) + " is past the " +
                          std::string(ggml_type_name(type)) + " block");
}

// Copies `rows` rows of `cols` values of `type` from `src` (layout `from`) to `dst` (layout `to`).
// Both spans must hold exactly rows x row bytes; throws std::invalid_argument otherwise.
void convert_weight_layout(GgmlType type, uint64_t rows, uint64_t cols, std::span<const uint8_t> src,
                           WeightLayout from, std::span<uint8_t> dst, WeightLayout to);

}  // namespace llmc
