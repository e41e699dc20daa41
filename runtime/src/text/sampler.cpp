#include "llmc/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

namespace llmc {
namespace {

bool before(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// A uniform double in [0, 1) from the top 53 bits of one draw.
double uniform_01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty,
                              int32_t last_n) {
  if (penalty == 1.0f || last_n == 0 || history.empty()) return;
  const size_t n = last_n < 0 ? history.size() : std::min(history.size(), static_cast<size_t>(last_n));
  std::unordered_set<int32_t> seen;
  for (size_t i = history.size() - n; i < history.size(); ++i) {
    const int32_t id = history[i];
    if (id < 0 || static_cast<size_t>(id) >= logits.size() || !seen.insert(id).second) continue;
    float& l = logits[static_cast<size_t>(id)];
    l = l <= 0.0f ? l * penalty : l / penalty;
  }
}

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[static_cast<size_t>(best)] || std::isnan(logits[static_cast<size_t>(best)]))
      best = static_cast<int32_t>(i);
  return best;
}

void softmax_candidates(std::vector<TokenCandidate>& c) {
  if (c.empty()) return;
  std::sort(c.begin(), c.end(), before);
  const float max_logit = c.front().logit;
  double total = 0.0;
  for (TokenCandidate& t : c) {
    t.p = std::exp(t.logit - max_logit);
    total += t.p;
  }
  for (TokenCandidate& t : c) t.p = static_cast<float>(t.p / total);
}

void keep_top_k(std::vector<TokenCandidate>& c, int32_t k) {
  if (k <= 0) return;
  const size_t keep = std::min(c.size(), static_cast<size_t>(k));
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(keep), c.end(), before);
  c.resize(keep);
}

void keep_top_p(std::vector<TokenCandidate>& c, float p) {
  if (p >= 1.0f || c.empty()) return;
  softmax_candidates(c);
  double cumulative = 0.0;
  size_t keep = c.size();
  for (size_t i = 0; i < c.size(); ++i) {
    cumulative += c[i].p;
    if (cumulative >= p) {
      keep = i + 1;
      break;
    }
  }
  c.resize(keep);
}

void keep_min_p(std::vector<TokenCandidate>& c, float min_p) {
  if (min_p <= 0.0f || c.empty()) return;
  // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p).
  float max_logit = c.front().logit;
  for (const TokenCandidate& t : c) max_logit = std::max(max_logit, t.logit);
  const float threshold = max_logit + std::log(min_p);
  std::vector<TokenCandidate> kept;
  kept.reserve(c.size());
  for (const TokenCandidate& t : c)
    if (t.logit >= threshold) kept.push_back(t);
  if (!kept.empty()) c.swap(kept);
}

Sampler::Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) {}

void Sampler::accept(int32_t token) { history_.push_back(token); }

void Sampler::reset() {
  history_.clear();
  rng_.seed(options_.seed);
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.empty()) return 0;
  penalized_.assign(logits.begin(), logits.end());
  apply_repetition_penalty(penalized_, history_, options_.repeat_penalty, options_.repeat_last_n);
  if (options_.temperature <= 0.0f) return argmax(penalized_);

  candidates_.clear();
  candidates_.reserve(penalized_.size());
  for (size_t i = 0; i < penalized_.size(); ++i)
    if (!std::isnan(penalized_[i])) candidates_.push_back({static_cast<int32_t>(i), penalized_[i], 0.0f});
  if (candidates_.empty()) return argmax(penalized_);
  keep_top_k(candidates_, options_.top_k);
  keep_top_p(candidates_, options_.top_p);
  keep_min_p(candidates_, options_.min_p);
  for (TokenCandidate& t : candidates_) t.logit /= options_.temperature;
  softmax_candidates(candidates_);

  const double u = uniform_01(rng_);
  double cumulative = 0.0;
  for (const TokenCandidate& t : candidates_) {
    cumulative += t.p;
    if (u < cumulative) return t.id;
  }
  return candidates_.back().id;
}

}  // namespace llmc
