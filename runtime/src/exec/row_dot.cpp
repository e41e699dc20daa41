#include "row_dot.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "llmc/quants.h"

namespace llmc::exec {
namespace {

// A Q8_0 block: a binary16 scale, then 32 signed codes.
constexpr uint64_t kQ8_0BlockBytes = 34;

float reference_row_dot(GgmlType wtype, const void* w_row, const PartnerRows& x, int64_t r) {
  return vec_dot_q8(wtype, w_row, x.row(r), x.cols());
}

}  // namespace

PartnerRows::PartnerRows(GgmlType partner_type, int64_t max_cols, int64_t max_rows)
    : partner_type_(partner_type), max_cols_(max_cols), max_rows_(max_rows) {
  const auto bytes = ggml_row_bytes(partner_type_, static_cast<uint64_t>(max_cols));
  if (!bytes || max_cols <= 0 || max_rows <= 0)
    throw std::invalid_argument("PartnerRows: " + std::to_string(max_cols) + " columns do not fill whole " +
                                std::string(ggml_type_name(partner_type_)) + " blocks");
  blocks_.resize(*bytes * static_cast<uint64_t>(max_rows));
  if (partner_type_ == GgmlType::Q8_0) {
    block_sums_.resize(static_cast<size_t>(max_cols / 32 * max_rows));
    block_scales_.resize(static_cast<size_t>(max_cols / 32 * max_rows));
  }
}

void PartnerRows::encode(const float* x, int64_t cols, int64_t count) {
  const auto bytes = ggml_row_bytes(partner_type_, static_cast<uint64_t>(cols));
  if (!bytes || cols <= 0 || cols > max_cols_ || count < 0 || count > max_rows_)
    throw std::invalid_argument("PartnerRows::encode: " + std::to_string(count) + " rows of " + std::to_string(cols) +
                                " columns do not fit");
  cols_ = cols;
  row_bytes_ = *bytes;
  const bool q8_0 = partner_type_ == GgmlType::Q8_0;
  blocks_per_row_ = q8_0 ? cols / 32 : 0;
  for (int64_t r = 0; r < count; ++r) {
    uint8_t* dst = blocks_.data() + r * row_bytes_;
    quantize_row_reference(partner_type_, x + r * cols, dst, cols);
    if (!q8_0) continue;
    int32_t* sums = block_sums_.data() + r * blocks_per_row_;
    float* scales = block_scales_.data() + r * blocks_per_row_;
    for (int64_t b = 0; b < blocks_per_row_; ++b) {
      const uint8_t* block = dst + b * kQ8_0BlockBytes;
      uint16_t half;
      std::memcpy(&half, block, 2);
      scales[b] = fp16_to_fp32(half);
      const auto* codes = reinterpret_cast<const int8_t*>(block + 2);
      int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += codes[j];
      sums[b] = s;
    }
  }
}

RowDotKernel row_dot_kernel(GgmlType wtype) {
  if (RowDotKernel k = row_dot_kernel_vnni(wtype)) return k;
  if (RowDotKernel k = row_dot_kernel_avx2(wtype)) return k;
  return reference_row_dot;
}

const char* row_dot_kernel_name(GgmlType wtype) {
  if (row_dot_kernel_vnni(wtype)) return "avx-vnni";
  if (row_dot_kernel_avx2(wtype)) return "avx2";
  return "reference";
}

}  // namespace llmc::exec
