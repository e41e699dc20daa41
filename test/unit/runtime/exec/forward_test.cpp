// End-to-end checks of the CPU decoder against the double-precision reference, on tiny models
// written here for every weight type, architecture and output tying.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/forward.h"
#include "llmc/gguf.h"
#include "reference_decoder.h"
#include "test_models.h"

namespace llmc::test {
namespace {

// Largest accepted max|logit - reference| / max|reference| per weight type. The decoder encodes
// activations in each weight type's dot partner (llmc/quants.h: vec_dot_partner) while the
// reference keeps them exact, so the bounds follow the partner: F32 is exact up to float rounding,
// F16 and BF16 activations keep 11 and 8 significant bits, Q8_0 and Q8_1 about 7 bits per block of
// 32 and Q8_K about 7 bits per block of 256. Each bound is about twice the largest error measured
// for any weight type with that partner over the three architectures, tied and untied
// (docs/runtime.md lists the measurements).
double error_bound(GgmlType t) {
  switch (vec_dot_partner(t)) {
    case GgmlType::F32:
      return 1e-4;
    case GgmlType::F16:
      return 2e-3;
    case GgmlType::BF16:
      return 1.5e-2;
    case GgmlType::Q8_K:
      return 1e-1;
    default:
      return 6e-2;
  }
}

struct ForwardCase {
  GgmlType type;
  const char* arch;
  bool tied;
};

std::string case_name(const ::testing::TestParamInfo<ForwardCase>& info) {
  return std::string(ggml_type_name(info.param.type)) + "_" + info.param.arch + (info.param.tied ? "_tied" : "_untied");
}

std::vector<ForwardCase> all_cases() {
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,    GgmlType::BF16,   GgmlType::Q4_0,
                            GgmlType::Q4_1, GgmlType::Q5_0,   GgmlType::Q5_1,   GgmlType::Q8_0,
                            GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,   GgmlType::Q5_K,
                            GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::MXFP4};
  std::vector<ForwardCase> cases;
  for (GgmlType t : types)
    for (const char* arch : {"llama", "qwen2", "qwen3"})
      for (bool tied : {false, true}) cases.push_back({t, arch, tied});
  return cases;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// The gap between the two largest values.
double top_margin(const std::vector<double>& v) {
  std::vector<double> s(v);
  std::partial_sort(s.begin(), s.begin() + 2, s.end(), std::greater<>());
  return s[0] - s[1];
}

struct Comparison {
  double max_rel_error = 0.0;
  int steps = 0;
  int greedy_checked = 0;
};

// Feeds `prompt`, then `steps` greedy tokens chosen by the decoder, to both passes. Each step's
// logits must be within `bound` of the reference's, and the decoder's greedy token must be the
// reference's wherever the reference's top two logits are further apart than twice the error
// measured at that step (closer than that, either token is a correct answer).
Comparison compare_with_reference(const GgufFile& file, const DecoderOptions& options, double bound,
                                  const std::vector<int32_t>& prompt, int steps) {
  CpuDecoder decoder(file, options);
  ReferenceDecoder reference(file);
  EXPECT_EQ(static_cast<int>(decoder.n_vocab()), reference.n_vocab());
  std::span<const float> logits = decoder.eval(prompt);
  std::vector<double> ref;
  for (int32_t id : prompt) ref = reference.step(id);
  Comparison c;
  for (int step = 0; step < steps; ++step) {
    double err = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_FALSE(std::isnan(logits[i])) << "logit " << i << " at step " << step;
      err = std::max(err, std::fabs(logits[i] - ref[i]));
    }
    const double rel = err / max_abs(ref);
    c.max_rel_error = std::max(c.max_rel_error, rel);
    EXPECT_LT(rel, bound) << "step " << step;
    const auto chosen = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (top_margin(ref) > 2.0 * err) {
      const auto expected = static_cast<int32_t>(std::max_element(ref.begin(), ref.end()) - ref.begin());
      EXPECT_EQ(chosen, expected) << "step " << step;
      ++c.greedy_checked;
    }
    ++c.steps;
    logits = decoder.eval(std::span<const int32_t>(&chosen, 1));
    ref = reference.step(chosen);
  }
  return c;
}

class ForwardVsReference : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(ForwardVsReference, LogitsAndGreedyTokens) {
  const ForwardCase& p = GetParam();
  TempModelDir dir;
  TestModelSpec spec;
  spec.arch = p.arch;
  spec.weight_type = p.type;
  spec.tied = p.tied;
  spec.rope_freq_base = spec.arch == "llama" ? 10000.0f : 1000000.0f;
  spec.seed = 7 + static_cast<uint64_t>(p.type);
  const std::string path = dir.file("model.gguf");
  write_test_model(path, spec);
  const GgufFile file = GgufFile::open(path);
  const Comparison c =
      compare_with_reference(file, {64, 2, KvCacheType::F32}, error_bound(p.type), {1, 17, 42, 7, 99, 3}, 8);
  RecordProperty("max_rel_error", std::to_string(c.max_rel_error));
  std::printf("  %-8s %-6s %-6s max rel error %.3g, greedy token checked at %d of %d steps\n",
              std::string(ggml_type_name(p.type)).c_str(), p.arch, p.tied ? "tied" : "untied", c.max_rel_error,
              c.greedy_checked, c.steps);
  // With float weights and activations the errors are far below any margin of these models.
  if (p.type == GgmlType::F32) {
    EXPECT_EQ(c.greedy_checked, c.steps);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ForwardVsReference, ::testing::ValuesIn(all_cases()), case_name);

TEST(Forward, RopeFrequencyFactorsAndLinearScaling) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.rope_freqs = true;
  spec.rope_scaling_factor = 4.0f;
  const std::string path = dir.file("model.gguf");
  write_test_model(path, spec);
  const GgufFile file = GgufFile::open(path);
  const Comparison c =
      compare_with_reference(file, {64, 1, KvCacheType::F32}, 1e-4, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 6);
  EXPECT_EQ(c.greedy_checked, c.steps);
}

TEST(Forward, F16KvCacheStaysCloseToReference) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.arch = "qwen3";
  const std::string path = dir.file("model.gguf");
  write_test_model(path, spec);
  const GgufFile file = GgufFile::open(path);
  // Keys and values rounded to binary16 (11 significant bits).
  const Comparison c = compare_with_reference(file, {64, 2, KvCacheType::F16}, 2e-3, {1, 17, 42, 7, 99, 3}, 8);
  std::printf("  f16 KV cache: max rel error %.3g\n", c.max_rel_error);
}

// Splitting a sequence across eval() calls, crossing the internal batch of 32 tokens, or changing
// the thread count gives bit-identical logits.
TEST(Forward, LogitsDoNotDependOnBatchingOrThreads) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.arch = "qwen2";
  spec.weight_type = GgmlType::Q4_0;
  const std::string path = dir.file("model.gguf");
  write_test_model(path, spec);
  const GgufFile file = GgufFile::open(path);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 45; ++i) tokens.push_back((i * 37 + 11) % 300);

  CpuDecoder whole(file, {64, 2, KvCacheType::F16});
  const auto first = whole.eval(tokens);
  const std::vector<float> expected(first.begin(), first.end());
  EXPECT_EQ(whole.n_past(), 45u);

  CpuDecoder pieces(file, {64, 1, KvCacheType::F16});
  std::span<const float> last;
  for (size_t start = 0; start < tokens.size();) {
    const size_t n = std::min<size_t>(start % 2 ? 1 : 7, tokens.size() - start);
    last = pieces.eval(std::span<const int32_t>(tokens.data() + start, n));
    start += n;
  }
  ASSERT_EQ(last.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(last[i], expected[i]) << "logit " << i;

  // reset() starts over from position 0.
  whole.reset();
  const auto again = whole.eval(tokens);
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(again[i], expected[i]) << "logit " << i;
}

TEST(Forward, RefusesWhatDoesNotFitWithoutEvaluating) {
  TempModelDir dir;
  TestModelSpec spec;
  const std::string path = dir.file("model.gguf");
  write_test_model(path, spec);
  const GgufFile file = GgufFile::open(path);
  CpuDecoder decoder(file, {8, 1, KvCacheType::F32});
  EXPECT_EQ(decoder.n_ctx(), 8u);
  const std::vector<int32_t> nine(9, 1);
  EXPECT_THROW(decoder.eval(nine), std::invalid_argument);
  EXPECT_EQ(decoder.n_past(), 0u);
  const std::vector<int32_t> bad = {1, 300};
  EXPECT_THROW(decoder.eval(bad), std::invalid_argument);
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(decoder.eval(negative), std::invalid_argument);
  EXPECT_THROW(decoder.eval({}), std::invalid_argument);
  EXPECT_EQ(decoder.n_past(), 0u);
  const std::vector<int32_t> eight(8, 2);
  EXPECT_EQ(decoder.eval(eight).size(), 300u);
  const std::vector<int32_t> one = {1};
  EXPECT_THROW(decoder.eval(one), std::invalid_argument);
}

TEST(Forward, DefaultsAndAccounting) {
  TempModelDir dir;
  TestModelSpec spec;
  spec.weight_type = GgmlType::Q8_0;
  const std::string path = dir.file("model.gguf");
  write_test_model(path, spec);
  const GgufFile file = GgufFile::open(path);
  CpuDecoder decoder(file, {});
  EXPECT_EQ(decoder.n_ctx(), 256u);  // the training context when it is below 4096
  EXPECT_EQ(decoder.kv_type(), KvCacheType::F16);
  EXPECT_GE(decoder.threads(), 1);
  // Two layers of 2 KV heads x 64 dims, keys and values, binary16, 256 positions.
  EXPECT_EQ(decoder.kv_cache_bytes(), 2u * 2 * 2 * 64 * 2 * 256);
  // Everything but the token embedding, plus one of its rows.
  uint64_t expected = 0;
  for (const GgufTensorInfo& t : file.tensors())
    expected += t.name == "token_embd.weight" ? *ggml_row_bytes(t.type, t.ne[0]) : t.n_bytes;
  EXPECT_EQ(decoder.weight_bytes_per_token(), expected);
  EXPECT_GT(decoder.activation_bytes(), 0u);
}

}  // namespace
}  // namespace llmc::test
