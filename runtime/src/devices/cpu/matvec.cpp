// matvec: the activation is encoded once in the partner format, then rows are dotted in parallel ranges.

#include <stdexcept>
#include <string>
#include <vector>

#include "cpu_kernels.h"
#include "llmc/quants.h"
#include "llmc/thread_pool.h"

namespace llmc {

void matvec(GgmlType wtype, const void* w, int64_t rows, int64_t cols, const float* x, float* y, ThreadPool* pool) {
  const int64_t blocks = cpu::checked_block_count("matvec", wtype, cols);
  if (rows < 0) throw std::invalid_argument("matvec: rows = " + std::to_string(rows) + " is negative");
  const GgmlType partner = vec_dot_partner(wtype);
  // The partner's block size divides every weight block size it pairs with.
  cpu::checked_block_count("matvec (activation)", partner, cols);
  const uint64_t row_bytes = *ggml_row_bytes(wtype, static_cast<uint64_t>(cols));

  std::vector<uint8_t> x_partner(*ggml_row_bytes(partner, static_cast<uint64_t>(cols)));
  quantize_row_reference(partner, x, x_partner.data(), cols);

  const cpu::RowDotFn row_dot = cpu::fastest_row_dot(wtype);
  const auto* weights = static_cast<const uint8_t*>(w);
  const auto run_rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) y[r] = row_dot(weights + r * row_bytes, x_partner.data(), blocks);
  };
  // Small ranges would spend more on hand-off than on the dots.
  constexpr int64_t kMinRowsPerRange = 16;
  if (pool) {
    pool->parallel_for(rows, kMinRowsPerRange, run_rows);
  } else {
    run_rows(0, rows);
  }
}

}  // namespace llmc
