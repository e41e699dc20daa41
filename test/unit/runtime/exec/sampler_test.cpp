// The sampler's steps with llama.cpp's semantics, and reproducibility of the draws.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/sampler.h"

namespace llmc {
namespace {

std::vector<float> test_logits() {
  // Token 3 is the largest, then 0, 5, 1, ...
  return {2.0f, 0.5f, -1.0f, 3.0f, -0.5f, 1.0f, -2.0f, 0.0f};
}

std::vector<TokenCandidate> candidates_of(const std::vector<float>& logits) {
  std::vector<TokenCandidate> c;
  for (size_t i = 0; i < logits.size(); ++i) c.push_back({static_cast<int32_t>(i), logits[i], 0.0f});
  return c;
}

std::vector<int32_t> ids_of(const std::vector<TokenCandidate>& c) {
  std::vector<int32_t> ids;
  for (const TokenCandidate& t : c) ids.push_back(t.id);
  return ids;
}

TEST(Sampler, GreedyIsArgmax) {
  SamplerOptions o;
  o.temperature = 0.0f;
  Sampler s(o);
  EXPECT_EQ(s.sample(test_logits()), 3);
  // Ties go to the lower id; NaNs are never chosen.
  EXPECT_EQ(s.sample(std::vector<float>{1.0f, 4.0f, 4.0f}), 1);
  EXPECT_EQ(s.sample(std::vector<float>{NAN, -5.0f, NAN}), 1);
  EXPECT_EQ(argmax(std::vector<float>{-3.0f, -1.0f, -2.0f}), 1);
}

TEST(Sampler, TopKOneIsGreedyWhateverTheSeed) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SamplerOptions o;
    o.temperature = 1.5f;
    o.top_k = 1;
    o.seed = seed;
    Sampler s(o);
    EXPECT_EQ(s.sample(test_logits()), 3) << "seed " << seed;
  }
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.seed = 42;
  Sampler a(o), b(o);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 64; ++i) {
    ta.push_back(a.sample(test_logits()));
    tb.push_back(b.sample(test_logits()));
  }
  EXPECT_EQ(ta, tb);
  // Not always the same token: the draws do sample.
  EXPECT_NE(std::count(ta.begin(), ta.end(), ta.front()), 64);
  // reset() replays the stream.
  a.reset();
  std::vector<int32_t> again;
  for (int i = 0; i < 64; ++i) again.push_back(a.sample(test_logits()));
  EXPECT_EQ(again, ta);
  // Another seed gives another sequence.
  o.seed = 43;
  Sampler c(o);
  std::vector<int32_t> tc;
  for (int i = 0; i < 64; ++i) tc.push_back(c.sample(test_logits()));
  EXPECT_NE(tc, ta);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.seed = 7;
  Sampler s(o);
  const std::vector<float> logits = {0.0f, std::log(3.0f)};  // p = 1/4, 3/4
  int ones = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ones += s.sample(logits);
  EXPECT_NEAR(static_cast<double>(ones) / n, 0.75, 0.015);
}

TEST(Sampler, RepetitionPenaltyMath) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f, 0.0f, 4.0f};
  const std::vector<int32_t> history = {4, 0, 1, 1, 3};
  apply_repetition_penalty(logits, history, 2.0f, 4);  // looks at 0, 1, 1, 3: token 4 is out of reach
  EXPECT_FLOAT_EQ(logits[0], 1.0f);                    // positive: divided
  EXPECT_FLOAT_EQ(logits[1], -4.0f);                   // negative: multiplied, once although seen twice
  EXPECT_FLOAT_EQ(logits[2], 1.0f);                    // not in the history
  EXPECT_FLOAT_EQ(logits[3], 0.0f);                    // zero stays zero
  EXPECT_FLOAT_EQ(logits[4], 4.0f);

  std::vector<float> all = {2.0f, -2.0f, 1.0f, 0.0f, 4.0f};
  apply_repetition_penalty(all, history, 2.0f, -1);
  EXPECT_FLOAT_EQ(all[4], 2.0f);
  std::vector<float> none = {2.0f};
  apply_repetition_penalty(none, std::vector<int32_t>{0}, 2.0f, 0);
  EXPECT_FLOAT_EQ(none[0], 2.0f);

  // Through the sampler: the repeated best token loses to the runner-up.
  SamplerOptions o;
  o.temperature = 0.0f;
  o.repeat_penalty = 2.0f;
  Sampler s(o);
  s.accept(3);
  EXPECT_EQ(s.sample(test_logits()), 0);  // 3.0 / 2 = 1.5 < 2.0
  EXPECT_EQ(s.history(), std::vector<int32_t>{3});
}

TEST(Sampler, TopKKeepsTheLargestSorted) {
  std::vector<TokenCandidate> c = candidates_of(test_logits());
  keep_top_k(c, 3);
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{3, 0, 5}));
  keep_top_k(c, 0);
  EXPECT_EQ(c.size(), 3u);
  keep_top_k(c, 10);
  EXPECT_EQ(c.size(), 3u);
}

TEST(Sampler, TopPKeepsTheSmallestSufficientPrefix) {
  // Probabilities 0.5, 0.25, 0.125, 0.125.
  const std::vector<float> logits = {std::log(0.25f), std::log(0.5f), std::log(0.125f), std::log(0.125f)};
  std::vector<TokenCandidate> c = candidates_of(logits);
  keep_top_p(c, 0.7f);
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{1, 0}));
  EXPECT_NEAR(c[0].p, 0.5f, 1e-6);

  c = candidates_of(logits);
  keep_top_p(c, 0.75f);  // reached exactly by the first two
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{1, 0}));
  c = candidates_of(logits);
  keep_top_p(c, 0.1f);  // at least one
  EXPECT_EQ(ids_of(c), (std::vector<int32_t>{1}));
  c = candidates_of(logits);
  keep_top_p(c, 1.0f);
  EXPECT_EQ(c.size(), 4u);
}

TEST(Sampler, MinPKeepsTokensNearTheBest) {
  // Probabilities proportional to 8, 4, 2, 1.
  const std::vector<float> logits = {std::log(2.0f), std::log(8.0f), std::log(1.0f), std::log(4.0f)};
  std::vector<TokenCandidate> c = candidates_of(logits);
  keep_min_p(c, 0.3f);  // p >= 0.3 * p_max keeps 8 and 4
  std::vector<int32_t> ids = ids_of(c);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 3}));
  c = candidates_of(logits);
  keep_min_p(c, 0.25f);  // exactly 2/8 stays
  EXPECT_EQ(c.size(), 3u);
  c = candidates_of(logits);
  keep_min_p(c, 0.0f);
  EXPECT_EQ(c.size(), 4u);
}

TEST(Sampler, FiltersLimitWhatCanBeDrawn) {
  SamplerOptions o;
  o.temperature = 5.0f;  // flat enough that every survivor gets drawn
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.seed = 3;
  for (int mode = 0; mode < 3; ++mode) {
    SamplerOptions m = o;
    if (mode == 0) m.top_k = 2;
    if (mode == 1) m.top_p = 0.7f;  // before temperature: p(3) = 0.59, p(0) = 0.22
    if (mode == 2) m.min_p = 0.3f;  // exp(2 - 3) = 0.37 >= 0.3 > exp(1 - 3): tokens 3 and 0
    Sampler s(m);
    std::map<int32_t, int> seen;
    for (int i = 0; i < 2000; ++i) ++seen[s.sample(test_logits())];
    std::vector<int32_t> ids;
    for (const auto& [id, n] : seen) ids.push_back(id);
    EXPECT_EQ(ids, (std::vector<int32_t>{0, 3})) << "mode " << mode;
  }
}

}  // namespace
}  // namespace llmc
