#include "matmul.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "llmc/quants.h"

namespace llmc::exec {

EncodedActivations::EncodedActivations(int64_t max_cols, int64_t max_rows, std::span<const GgmlType> weight_types) {
  std::vector<GgmlType> partners;
  for (GgmlType t : weight_types) {
    const GgmlType p = vec_dot_partner(t);
    if (std::find(partners.begin(), partners.end(), p) == partners.end()) partners.push_back(p);
  }
  by_partner_.reserve(partners.size());
  for (GgmlType p : partners) by_partner_.emplace_back(p, max_cols, max_rows);
}

void EncodedActivations::encode(const float* x, int64_t cols, int64_t count,
                                std::span<const WeightMatrix* const> for_weights) {
  for (PartnerRows& rows : by_partner_) {
    const bool needed = std::any_of(for_weights.begin(), for_weights.end(), [&](const WeightMatrix* w) {
      return vec_dot_partner(w->type) == rows.partner_type();
    });
    if (needed) rows.encode(x, cols, count);
  }
}

const PartnerRows& EncodedActivations::for_weight(GgmlType wtype) const {
  const GgmlType p = vec_dot_partner(wtype);
  for (const PartnerRows& rows : by_partner_)
    if (rows.partner_type() == p) return rows;
  throw std::logic_error("EncodedActivations: no " + std::string(ggml_type_name(p)) + " rows for " +
                         std::string(ggml_type_name(wtype)) + " weights");
}

uint64_t EncodedActivations::bytes() const {
  uint64_t total = 0;
  for (const PartnerRows& rows : by_partner_) total += rows.bytes();
  return total;
}

namespace {

// Rows are prefetched one row's worth of bytes kPrefetchDistance ahead. Hardware prefetchers stop at
// 4 KiB page boundaries and ramp up again on every page; asking a page ahead made decode 15-25%
// faster in the measurements of docs/runtime.md.
constexpr uint64_t kPrefetchDistance = 4096;
constexpr uint64_t kCacheLine = 64;

// The bytes to prefetch while `row` is dotted: [first, last), empty near the end of the matrix.
std::pair<const uint8_t*, const uint8_t*> prefetch_range(const WeightMatrix& w, const uint8_t* row) {
  const uint8_t* end = w.data + w.row_bytes * static_cast<uint64_t>(w.rows);
  if (static_cast<uint64_t>(end - row) <= kPrefetchDistance) return {end, end};
  const uint8_t* first = row + kPrefetchDistance;
  return {first, first + std::min<uint64_t>(w.row_bytes, static_cast<uint64_t>(end - first))};
}

}  // namespace

void matmul(ThreadPool& pool, const EncodedActivations& x, int64_t count, std::span<const MatmulOutput> outputs) {
  struct Job {
    const WeightMatrix* w;
    const PartnerRows* x;
    RowDotKernel kernel;
    float* y;
    int64_t y_stride;
    int64_t first_row;  // in the concatenation of all outputs' rows
  };
  Job jobs[4];
  if (outputs.size() > std::size(jobs)) throw std::logic_error("matmul: more than four outputs");
  int64_t total_rows = 0;
  for (size_t j = 0; j < outputs.size(); ++j) {
    const MatmulOutput& o = outputs[j];
    jobs[j] = {o.w, &x.for_weight(o.w->type), row_dot_kernel(o.w->type), o.y, o.y_stride, total_rows};
    total_rows += o.w->rows;
  }
  const auto run_rows = [&](int64_t begin, int64_t end) {
    size_t j = 0;
    for (int64_t g = begin; g < end; ++g) {
      while (g >= jobs[j].first_row + jobs[j].w->rows) ++j;
      const Job& job = jobs[j];
      const int64_t r = g - job.first_row;
      const uint8_t* w_row = job.w->row(r);
      // The loop stays here: a function doing nothing but prefetch counts as having no effect
      // and GCC drops calls to it.
      const auto [first, last] = prefetch_range(*job.w, w_row);
      for (const uint8_t* p = first; p < last; p += kCacheLine) __builtin_prefetch(p);
      for (int64_t t = 0; t < count; ++t) job.y[t * job.y_stride + r] = job.kernel(job.w->type, w_row, *job.x, t);
    }
  };
  // Ranges of at least this many rows keep the hand-off cost small next to the dots.
  constexpr int64_t kMinRowsPerRange = 32;
  pool.parallel_for(total_rows, kMinRowsPerRange, run_rows);
}

}  // namespace llmc::exec
