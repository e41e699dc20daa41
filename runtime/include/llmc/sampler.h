// Token sampling with llama.cpp's semantics and order: repetition penalty over the last N tokens,
// then top-k, top-p, min-p, temperature, and a draw from the remaining distribution. A temperature
// of 0 (or less) is greedy: the largest penalized logit, the lowest id on ties.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace llmc {

struct SamplerOptions {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: no top-k cut
  float top_p = 0.95f;          // >= 1: no top-p cut
  float min_p = 0.05f;          // <= 0: no min-p cut
  float repeat_penalty = 1.0f;  // 1: no penalty
  int32_t repeat_last_n = 64;   // tokens of history the penalty sees; 0: none, -1: all of it
  uint64_t seed = 0;
};

struct TokenCandidate {
  int32_t id;
  float logit;
  float p;  // probability, set by softmax_candidates()
};

// The steps of the chain, for callers that compose their own and for tests.

// llama.cpp's repeat penalty: every distinct token among the last `last_n` of `history` (all of
// it for -1) has its logit divided by `penalty` when positive, multiplied by it otherwise.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty, int32_t last_n);

// The index of the largest value, the lowest on ties; NaNs are never chosen unless all are NaN.
int32_t argmax(std::span<const float> logits);

// Sorts by logit, largest first (lower id first on ties), and computes p = softmax(logit).
void softmax_candidates(std::vector<TokenCandidate>& candidates);
// Keeps the k largest logits (sorted, largest first); no-op for k <= 0.
void keep_top_k(std::vector<TokenCandidate>& candidates, int32_t k);
// Keeps the smallest prefix of the sorted candidates whose probabilities add up to at least p
// (at least one); no-op for p >= 1.
void keep_top_p(std::vector<TokenCandidate>& candidates, float p);
// Keeps the candidates whose probability is at least min_p times the largest one (at least one);
// no-op for min_p <= 0.
void keep_min_p(std::vector<TokenCandidate>& candidates, float min_p);

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);

  const SamplerOptions& options() const { return options_; }

  // Adds a token to the history the repetition penalty looks at (prompt tokens included, as
  // llama.cpp does).
  void accept(int32_t token);
  const std::vector<int32_t>& history() const { return history_; }

  // Picks the next token from `logits` (not modified). The same seed, history and logits give
  // the same token: the random stream is std::mt19937_64 turned into doubles by hand rather than
  // through std::uniform_real_distribution, whose algorithm differs between standard libraries.
  int32_t sample(std::span<const float> logits);

  // Clears the history and restarts the random stream from the seed.
  void reset();

 private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
  std::vector<int32_t> history_;
  std::vector<float> penalized_;
  std::vector<TokenCandidate> candidates_;
};

}  // namespace llmc
