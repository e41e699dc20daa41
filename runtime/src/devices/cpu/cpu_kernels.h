// Plumbing shared by the CPU kernel sources: argument checks, per-type dot-kernel tables and the
// fixed summation order of block terms. Internal to the CPU device.
#pragma once

#include <cstdint>

#include "llmc/ggml_types.h"

namespace llmc::cpu {

// Number of blocks in n elements; throws std::invalid_argument naming `operation` when `type` has
// no CPU kernels or n is negative or not a whole number of blocks.
int64_t checked_block_count(const char* operation, GgmlType type, int64_t n);

// Dot product of a weight row with an activation row in the partner format; `blocks` counts
// blocks of the weight type (elements for F32/F16/BF16).
using RowDotFn = float (*)(const void* w_row, const void* x_row, int64_t blocks);

RowDotFn scalar_row_dot(GgmlType wtype);
// nullptr when there is no AVX2 kernel for wtype or this CPU lacks AVX2/FMA.
RowDotFn avx2_row_dot(GgmlType wtype);
inline RowDotFn fastest_row_dot(GgmlType wtype) {
  const RowDotFn avx2 = avx2_row_dot(wtype);
  return avx2 ? avx2 : scalar_row_dot(wtype);
}

// Block terms are added into four partial sums by block index mod 4 and combined as
// (s0 + s1) + (s2 + s3): an order vector code reproduces exactly (one 4-lane add per four blocks)
// and that keeps four independent additions in flight.
struct BlockTermSum {
  float partial[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  void add(int64_t block, float term) { partial[block & 3] += term; }
  float total() const { return (partial[0] + partial[1]) + (partial[2] + partial[3]); }
};

}  // namespace llmc::cpu
