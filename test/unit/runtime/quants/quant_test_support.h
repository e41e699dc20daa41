// Shared helpers of the quantization kernel tests: seeds, random rows, NaN-rejecting comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "llmc/ggml_types.h"
#include "llmc/quants.h"

namespace llmc::quants_test {

// Fixed seeds for reproducibility plus one fresh seed per run for coverage. Each randomized check
// runs under SCOPED_TRACE(seed_trace(seed)), so a failure names the seed; LLMC_TEST_SEED=<seed>
// replaces the fresh one to replay it.
inline std::vector<uint64_t> test_seeds() {
  static const uint64_t fresh = []() -> uint64_t {
    if (const char* env = std::getenv("LLMC_TEST_SEED")) return std::strtoull(env, nullptr, 10);
    return (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  }();
  return {1, 2, 20240601, fresh};
}
inline std::string seed_trace(uint64_t seed) {
  return "seed " + std::to_string(seed) + " (replay with LLMC_TEST_SEED=" + std::to_string(seed) + ")";
}

// Normal values whose magnitude changes from one 256-element stretch to the next (10^-2..10^2),
// as weights and activations do across channels; a few stretches get large outliers.
inline std::vector<float> random_row(uint64_t seed, int64_t n) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> exponent(-2.0f, 2.0f);
  std::bernoulli_distribution outlier(0.01);
  std::vector<float> x(static_cast<size_t>(n));
  float scale = 1.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (i % 256 == 0) scale = std::pow(10.0f, exponent(rng));
    x[i] = normal(rng) * scale * (outlier(rng) ? 8.0f : 1.0f);
  }
  return x;
}

inline size_t row_bytes(GgmlType type, int64_t n) {
  return static_cast<size_t>(*ggml_row_bytes(type, static_cast<uint64_t>(n)));
}

inline std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(row_bytes(type, static_cast<int64_t>(x.size())));
  quantize_row_reference(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

inline std::vector<float> dequantize(GgmlType type, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  dequantize_row(type, q.data(), y.data(), n);
  return y;
}

inline double dot_double(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}
inline double abs_dot_double(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::fabs(static_cast<double>(a[i]) * b[i]);
  return sum;
}

// |actual - expected| <= bound, failing whenever any operand is NaN (and for infinite operands,
// whose difference is NaN or infinite): a NaN must never pass as "close".
inline ::testing::AssertionResult within(double actual, double expected, double bound) {
  const double diff = std::fabs(actual - expected);
  if (diff <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual " << actual << " vs expected " << expected << ": |diff| " << diff
                                       << " exceeds " << bound;
}

inline uint16_t load_u16(const std::vector<uint8_t>& bytes, size_t offset) {
  uint16_t v;
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}
inline void store_u16(std::vector<uint8_t>& bytes, size_t offset, uint16_t v) {
  std::memcpy(bytes.data() + offset, &v, sizeof v);
}

// Byte offset of a block's (super-block) scale d, from ggml's block structs: f16 for most types,
// f32 for Q8_K, the E8M0 byte for MXFP4, element 0 for F32/F16/BF16.
inline size_t scale_offset_in_block(GgmlType type) {
  switch (type) {
    case GgmlType::Q2_K: return 80;
    case GgmlType::Q3_K: return 108;
    case GgmlType::Q6_K: return 208;
    default: return 0;
  }
}

inline std::string type_param_name(const ::testing::TestParamInfo<GgmlType>& info) {
  return std::string(ggml_type_name(info.param));
}

inline std::vector<GgmlType> all_kernel_types() { return {cpu_kernel_types().begin(), cpu_kernel_types().end()}; }

}  // namespace llmc::quants_test
