// Row dot products for the decode path: a weight row against an activation already encoded in the
// weight type's partner format (llmc/quants.h: vec_dot_partner). For Q4_0, Q8_0 and Q6_K there are
// x86 kernels (AVX2, and AVX-VNNI where the CPU has it) that return exactly the bits vec_dot_q8
// returns; every other type goes through vec_dot_q8 itself. Internal to the executor.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "llmc/ggml_types.h"

namespace llmc::exec {

// Activation rows encoded for one weight type: vec_dot_partner(wtype) blocks and, for Q8_0 blocks,
// each block's scale as a float and the sum of its 32 codes (which the x86 kernels use to undo
// their unsigned weight offset).
class PartnerRows {
 public:
  // Room for `max_rows` rows of up to `max_cols` elements in `partner_type`, allocated once.
  PartnerRows(GgmlType partner_type, int64_t max_cols, int64_t max_rows);

  // Encodes rows [0, count) of `x` (row stride cols); cols must fill whole partner blocks.
  void encode(const float* x, int64_t cols, int64_t count);

  GgmlType partner_type() const { return partner_type_; }
  int64_t cols() const { return cols_; }
  const uint8_t* row(int64_t r) const { return blocks_.data() + r * row_bytes_; }
  const int32_t* block_sums(int64_t r) const { return block_sums_.data() + r * blocks_per_row_; }
  const float* block_scales(int64_t r) const { return block_scales_.data() + r * blocks_per_row_; }
  uint64_t bytes() const {
    return blocks_.size() + block_sums_.size() * sizeof(int32_t) + block_scales_.size() * sizeof(float);
  }

 private:
  GgmlType partner_type_;
  int64_t max_cols_;
  int64_t max_rows_;
  int64_t cols_ = 0;
  uint64_t row_bytes_ = 0;
  int64_t blocks_per_row_ = 0;
  std::vector<uint8_t> blocks_;
  std::vector<int32_t> block_sums_;
  std::vector<float> block_scales_;
};

// Dot of weight row `w_row` (x.cols() elements of `wtype`) with activation row `r` of `x`, which
// must be encoded in vec_dot_partner(wtype).
using RowDotKernel = float (*)(GgmlType wtype, const void* w_row, const PartnerRows& x, int64_t r);

// The fastest kernel for `wtype` on this CPU. Always returns a kernel for a type with CPU kernels.
RowDotKernel row_dot_kernel(GgmlType wtype);

// Which implementation row_dot_kernel picks for `wtype`: "avx-vnni", "avx2" or "reference".
const char* row_dot_kernel_name(GgmlType wtype);

// The x86 kernel of `wtype` for the given instruction set, or nullptr when there is none or the CPU
// lacks the instructions; for tests that compare every variant with vec_dot_q8.
RowDotKernel row_dot_kernel_avx2(GgmlType wtype);
RowDotKernel row_dot_kernel_vnni(GgmlType wtype);

}  // namespace llmc::exec
