// matvec: every row equals vec_dot_q8 of that row, and the result is bit-identical whatever the
// thread pool. ThreadPool: coverage, range sizes, exceptions, reuse.

#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "llmc/quants.h"
#include "llmc/thread_pool.h"
#include "quant_test_support.h"

namespace llmc {
namespace {

using namespace quants_test;

std::vector<uint8_t> random_matrix(GgmlType wtype, int64_t rows, int64_t cols, uint64_t seed) {
  const std::vector<float> values = random_row(seed, rows * cols);
  std::vector<uint8_t> w(row_bytes(wtype, cols) * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row_reference(wtype, values.data() + r * cols, w.data() + r * row_bytes(wtype, cols), cols);
  }
  return w;
}

class Matvec : public ::testing::TestWithParam<GgmlType> {};

TEST_P(Matvec, ThreadedEqualsSingleThreadedAndRowDots) {
  const GgmlType wtype = GetParam();
  const int64_t cols = 512;
  ThreadPool two(2), three(3), eight(8);
  for (const uint64_t seed : test_seeds()) {
    SCOPED_TRACE(seed_trace(seed));
    for (const int64_t rows : {1, 3, 17, 100, 257}) {
      const std::vector<uint8_t> w = random_matrix(wtype, rows, cols, seed);
      const std::vector<float> x = random_row(seed + 1, cols);
      const float poison = std::numeric_limits<float>::quiet_NaN();
      std::vector<float> single(rows, poison);
      matvec(wtype, w.data(), rows, cols, x.data(), single.data());

      const std::vector<uint8_t> x_partner = quantize(vec_dot_partner(wtype), x);
      for (int64_t r = 0; r < rows; ++r) {
        const float row = vec_dot_q8(wtype, w.data() + r * row_bytes(wtype, cols), x_partner.data(), cols);
        ASSERT_FALSE(std::isnan(single[r])) << "row " << r << " not written";
        ASSERT_EQ(std::bit_cast<uint32_t>(single[r]), std::bit_cast<uint32_t>(row)) << "row " << r;
      }
      for (ThreadPool* pool : {&two, &three, &eight}) {
        std::vector<float> threaded(rows, poison);
        matvec(wtype, w.data(), rows, cols, x.data(), threaded.data(), pool);
        for (int64_t r = 0; r < rows; ++r) {
          ASSERT_EQ(std::bit_cast<uint32_t>(threaded[r]), std::bit_cast<uint32_t>(single[r]))
              << "row " << r << " of " << rows << " with " << pool->threads() << " threads";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, Matvec, ::testing::ValuesIn(all_kernel_types()), type_param_name);

TEST(MatvecArguments, ZeroRowsIsANoOpAndBadShapesThrow) {
  std::vector<float> x(256, 1.0f), y(4, 7.0f);
  std::vector<uint8_t> w(4096);
  matvec(GgmlType::Q4_K, w.data(), 0, 256, x.data(), y.data());
  EXPECT_EQ(y[0], 7.0f);
  EXPECT_THROW(matvec(GgmlType::Q4_K, w.data(), 1, 100, x.data(), y.data()), std::invalid_argument);
  EXPECT_THROW(matvec(GgmlType::Q4_0, w.data(), -1, 32, x.data(), y.data()), std::invalid_argument);
  EXPECT_THROW(matvec(GgmlType::IQ2_XXS, w.data(), 1, 256, x.data(), y.data()), std::invalid_argument);
}

TEST(ThreadPool, CoversEveryIndexExactlyOnceInRangesOfAtLeastTheGrain) {
  for (int threads : {1, 2, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (int64_t count : {0, 1, 7, 64, 1000, 100003}) {
      for (int64_t grain : {1, 16, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
        std::mutex mutex;
        std::vector<std::pair<int64_t, int64_t>> ranges;
        pool.parallel_for(count, grain, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
          std::lock_guard lock(mutex);
          ranges.emplace_back(begin, end);
        });
        for (int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << "index " << i << " of " << count;
        for (const auto& [begin, end] : ranges) {
          ASSERT_LT(begin, end);
          if (end != count) {
            ASSERT_GE(end - begin, grain);
          }
        }
      }
    }
  }
}

TEST(ThreadPool, RethrowsTheFirstExceptionAndStaysUsable) {
  ThreadPool pool(4);
  EXPECT_THROW(pool.parallel_for(1000, 1,
                                 [](int64_t begin, int64_t) {
                                   if (begin >= 500) throw std::runtime_error("range failed");
                                 }),
               std::runtime_error);
  std::atomic<int64_t> total{0};
  pool.parallel_for(1000, 1, [&](int64_t begin, int64_t end) { total += end - begin; });
  EXPECT_EQ(total.load(), 1000);
}

TEST(ThreadPool, ManyCallsInARow) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  for (int call = 0; call < 2000; ++call) {
    pool.parallel_for(64, 1, [&](int64_t begin, int64_t end) { total += end - begin; });
  }
  EXPECT_EQ(total.load(), 2000 * 64);
}

}  // namespace
}  // namespace llmc
