#include "llmc/weight_layout.h"

#include <cstring>

#include <fmt/format.h>

namespace llmc {

void convert_weight_layout(GgmlType type, uint64_t rows, uint64_t cols, std::span<const uint8_t> src,
                           WeightLayout from, std::span<uint8_t> dst, WeightLayout to) {
  const std::optional<uint64_t> row_bytes = ggml_row_bytes(type, cols);
  if (!row_bytes)
    throw std::invalid_argument(fmt::format("convert_weight_layout: {} columns are not whole {} blocks", cols,
                                            ggml_type_name(type)));
  if (rows != 0 && *row_bytes > UINT64_MAX / rows)
    throw std::invalid_argument("convert_weight_layout: the matrix size overflows");
  const uint64_t total = rows * *row_bytes;
  if (src.size() != total || dst.size() != total)
    throw std::invalid_argument(fmt::format("convert_weight_layout: {} x {} {} is {} bytes; got {} in, {} out", rows,
                                            cols, ggml_type_name(type), total, src.size(), dst.size()));
  if (src.data() == dst.data() && total != 0) throw std::invalid_argument("convert_weight_layout: src and dst overlap");
  const auto fields = row_planar_fields(type);
  if (from == to || fields.empty()) {
    if (total != 0) std::memcpy(dst.data(), src.data(), total);
    return;
  }
  const uint64_t blocks = cols / ggml_type_traits(type).block_size;
  const uint32_t block_bytes = ggml_type_traits(type).type_size;
  for (uint64_t r = 0; r < rows; ++r) {
    const uint8_t* in = src.data() + r * *row_bytes;
    uint8_t* out = dst.data() + r * *row_bytes;
    for (const BlockField& field : fields) {
      for (uint64_t b = 0; b < blocks; ++b) {
        const uint64_t block_at = b * block_bytes + field.offset;
        const uint64_t plane_at = blocks * field.offset + b * field.bytes;
        if (to == WeightLayout::RowPlanar) {
          std::memcpy(out + plane_at, in + block_at, field.bytes);
        } else {
          std::memcpy(out + block_at, in + plane_at, field.bytes);
        }
      }
    }
  }
}

}  // namespace llmc
