// Weight matrices times a few activation rows, threaded over weight rows: each weight row is read
// from memory once and dotted with every activation row while it sits in cache. Internal to the
// executor.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "decoder_weights.h"
#include "llmc/thread_pool.h"
#include "row_dot.h"

namespace llmc::exec {

// The activations feeding one or more matrices, encoded once per partner format they need.
class EncodedActivations {
 public:
  // Room for `max_rows` rows of up to `max_cols` elements for every weight type in `weight_types`.
  EncodedActivations(int64_t max_cols, int64_t max_rows, std::span<const GgmlType> weight_types);

  // Encodes rows [0, count) of `x` (row stride cols) for the matrices in `for_weights`.
  void encode(const float* x, int64_t cols, int64_t count, std::span<const WeightMatrix* const> for_weights);

  const PartnerRows& for_weight(GgmlType wtype) const;
  uint64_t bytes() const;

 private:
  std::vector<PartnerRows> by_partner_;
};

// One matrix of a matmul and where its results go: y[t * y_stride + r] for activation row t.
struct MatmulOutput {
  const WeightMatrix* w;
  float* y;
  int64_t y_stride;
};

// y = W x for every output and activation rows [0, count), all in one parallel loop.
void matmul(ThreadPool& pool, const EncodedActivations& x, int64_t count, std::span<const MatmulOutput> outputs);

}  // namespace llmc::exec
