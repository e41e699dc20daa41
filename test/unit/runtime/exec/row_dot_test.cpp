// The executor's row dots must return exactly what vec_dot_q8 returns, for every weight type and
// for each x86 variant this CPU runs, including rows whose block count is not a multiple of four,
// subnormal and NaN scales, and extreme codes.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/gguf_writer.h"
#include "llmc/quants.h"
#include "matmul.h"
#include "row_dot.h"

namespace llmc::exec {
namespace {

std::vector<float> random_activations(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  x[0] = 40.0f;  // one large value, so that most codes of its block are small
  return x;
}

// Random weight rows: random blocks from the writer, with a few blocks given subnormal or NaN
// binary16 scales and extreme codes where the layout has a leading scale.
std::vector<uint8_t> random_rows(GgmlType t, int64_t rows, int64_t cols, uint64_t seed) {
  const uint64_t row_bytes = *ggml_row_bytes(t, static_cast<uint64_t>(cols));
  std::vector<uint8_t> w(row_bytes * static_cast<uint64_t>(rows));
  fill_random_blocks(t, w, seed);
  const auto& traits = ggml_type_traits(t);
  const uint64_t blocks = w.size() / traits.type_size;
  if (t == GgmlType::Q4_0 || t == GgmlType::Q8_0) {
    for (uint64_t b = 0; b < blocks; b += 5) {
      uint8_t* block = w.data() + b * traits.type_size;
      const uint16_t scale = b % 15 == 0 ? 0x7E00 : b % 10 == 0 ? 0x0003 : 0x2C00;  // NaN, subnormal, 1/16
      std::memcpy(block, &scale, 2);
      std::memset(block + 2, t == GgmlType::Q8_0 ? 0x80 : 0xFF, traits.type_size - 2);  // -128 / code 15
    }
  } else if (t == GgmlType::Q6_K) {
    for (uint64_t b = 0; b < blocks; b += 3) {
      uint8_t* block = w.data() + b * traits.type_size;
      const uint16_t scale = b % 9 == 0 ? 0x0001 : 0x1400;
      std::memcpy(block + 208, &scale, 2);
      std::memset(block, 0xFF, 192);       // every code 63
      std::memset(block + 192, 0x80, 16);  // every sub-block scale -128
    }
  }
  return w;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_matches_reference(GgmlType t, RowDotKernel kernel, const char* variant) {
  for (int64_t blocks : {1, 3, 4, 5, 8, 11}) {
    const int64_t cols = blocks * ggml_type_traits(t).block_size;
    const int64_t rows = 24;
    const std::vector<uint8_t> w = random_rows(t, rows, cols, static_cast<uint64_t>(cols));
    const std::vector<float> x = random_activations(cols * 2, static_cast<uint64_t>(blocks));
    PartnerRows encoded(vec_dot_partner(t), cols, 2);
    encoded.encode(x.data(), cols, 2);
    const uint64_t row_bytes = *ggml_row_bytes(t, static_cast<uint64_t>(cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t xr = 0; xr < 2; ++xr) {
        const float expected = vec_dot_q8(t, w.data() + r * row_bytes, encoded.row(xr), cols);
        const float got = kernel(t, w.data() + r * row_bytes, encoded, xr);
        EXPECT_TRUE(same_bits(got, expected)) << ggml_type_name(t) << " " << variant << ": " << blocks
                                              << " blocks, row " << r << ": " << got << " vs " << expected;
      }
  }
}

TEST(RowDot, EveryTypeMatchesVecDotQ8) {
  for (GgmlType t : cpu_kernel_types()) expect_matches_reference(t, row_dot_kernel(t), row_dot_kernel_name(t));
}

TEST(RowDot, X86VariantsMatchVecDotQ8) {
  int checked = 0;
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q6_K}) {
    if (RowDotKernel k = row_dot_kernel_avx2(t)) {
      expect_matches_reference(t, k, "avx2");
      ++checked;
    }
    if (RowDotKernel k = row_dot_kernel_vnni(t)) {
      expect_matches_reference(t, k, "avx-vnni");
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "this CPU has neither AVX2 nor AVX-VNNI";
}

TEST(RowDot, KernelNames) {
  EXPECT_STREQ(row_dot_kernel_name(GgmlType::Q5_1), "reference");
  const std::string q4 = row_dot_kernel_name(GgmlType::Q4_0);
  EXPECT_TRUE(q4 == "avx-vnni" || q4 == "avx2" || q4 == "reference") << q4;
}

TEST(RowDot, PartnerRowsRejectWhatDoesNotFit) {
  EXPECT_THROW(PartnerRows(GgmlType::Q8_0, 48, 1), std::invalid_argument);  // not whole blocks
  PartnerRows rows(GgmlType::Q8_K, 512, 2);
  std::vector<float> x(1024, 1.0f);
  EXPECT_THROW(rows.encode(x.data(), 1024, 1), std::invalid_argument);  // wider than allocated
  EXPECT_THROW(rows.encode(x.data(), 256, 3), std::invalid_argument);   // more rows than allocated
  EXPECT_THROW(rows.encode(x.data(), 100, 1), std::invalid_argument);   // not whole blocks
  rows.encode(x.data(), 256, 2);
  EXPECT_EQ(rows.cols(), 256);
}

// matmul: several matrices of different types fed by one input, several activation rows, outputs
// strided per row; every element equals the single dot.
TEST(Matmul, MatchesRowDotsForEveryOutput) {
  ThreadPool pool(2);
  const int64_t cols = 512, count = 3;
  struct Owned {
    std::vector<uint8_t> bytes;
    WeightMatrix w;
  };
  std::vector<Owned> mats;
  const std::pair<GgmlType, int64_t> shapes[] = {{GgmlType::Q4_0, 70}, {GgmlType::Q6_K, 33}, {GgmlType::F16, 5}};
  for (const auto& [type, rows] : shapes) {
    Owned o;
    o.bytes = random_rows(type, rows, cols, static_cast<uint64_t>(rows));
    o.w.type = type;
    o.w.rows = rows;
    o.w.cols = cols;
    o.w.row_bytes = *ggml_row_bytes(type, cols);
    mats.push_back(std::move(o));
  }
  for (Owned& o : mats) o.w.data = o.bytes.data();
  const std::vector<float> x = random_activations(cols * count, 9);
  const GgmlType types[] = {GgmlType::Q4_0, GgmlType::Q6_K, GgmlType::F16};
  EncodedActivations encoded(cols, count, types);
  const WeightMatrix* ws[] = {&mats[0].w, &mats[1].w, &mats[2].w};
  encoded.encode(x.data(), cols, count, ws);
  const int64_t stride = 80;
  std::vector<float> y0(stride * count, -1.0f), y1(stride * count, -1.0f), y2(stride * count, -1.0f);
  const MatmulOutput outputs[] = {{ws[0], y0.data(), stride}, {ws[1], y1.data(), stride}, {ws[2], y2.data(), stride}};
  matmul(pool, encoded, count, outputs);
  std::vector<float>* ys[] = {&y0, &y1, &y2};
  for (int m = 0; m < 3; ++m)
    for (int64_t t = 0; t < count; ++t)
      for (int64_t r = 0; r < stride; ++r) {
        const float got = (*ys[m])[static_cast<size_t>(t * stride + r)];
        if (r >= ws[m]->rows) {
          EXPECT_EQ(got, -1.0f) << "matrix " << m << " wrote past its rows";
          continue;
        }
        const PartnerRows& xr = encoded.for_weight(ws[m]->type);
        EXPECT_TRUE(same_bits(got, vec_dot_q8(ws[m]->type, ws[m]->row(r), xr.row(t), cols)))
            << m << " " << t << " " << r;
      }
}

}  // namespace
}  // namespace llmc::exec
