// The DAG search must find exactly the optimum that brute force finds, on random small cases.
#include <random>

#include <gtest/gtest.h>

#include "llmc/planner/placement_search.h"

namespace llmc::planner {
namespace {

struct RandomCase {
  std::vector<double> layer_bytes;   // per layer
  std::vector<double> stage_speed;   // seconds per byte
  std::vector<double> stage_cap;     // bytes
  std::vector<double> stage_hop;     // seconds when a stage receives activations
  double output_bytes = 0;

  std::optional<double> cost(size_t s, uint32_t l0, uint32_t l1, bool last) const {
    double bytes = 0;
    for (uint32_t l = l0; l < l1; ++l) bytes += layer_bytes[l];
    if (last) bytes += output_bytes;
    if (bytes > stage_cap[s]) return std::nullopt;
    return bytes * stage_speed[s] + (l0 > 0 ? stage_hop[s] : 0.0);
  }
};

RandomCase make_case(std::mt19937& rng, size_t stages, uint32_t layers) {
  std::uniform_real_distribution<double> u(0.5, 2.0);
  RandomCase c;
  double total = 0;
  for (uint32_t l = 0; l < layers; ++l) total += c.layer_bytes.emplace_back(u(rng));
  c.output_bytes = u(rng);
  for (size_t s = 0; s < stages; ++s) {
    c.stage_speed.push_back(u(rng));
    // Capacities between a quarter and all of the model, so some cases do not fit at all.
    c.stage_cap.push_back(total * std::uniform_real_distribution<double>(0.25, 1.0)(rng));
    c.stage_hop.push_back(u(rng) * 0.1);
  }
  return c;
}

TEST(LayerDag, MatchesBruteForceOnRandomCases) {
  std::mt19937 rng(12345);
  int feasible = 0, infeasible = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const size_t stages = 1 + trial % 4;
    const uint32_t layers = 1 + static_cast<uint32_t>(trial % 9);
    const RandomCase c = make_case(rng, stages, layers);
    const StageCost cost = [&](size_t s, uint32_t l0, uint32_t l1, bool last) { return c.cost(s, l0, l1, last); };
    const LayerAssignment dag = solve_layer_dag(stages, layers, cost);
    const LayerAssignment brute = solve_layer_brute_force(stages, layers, cost);
    ASSERT_EQ(dag.feasible, brute.feasible) << "trial " << trial;
    if (!dag.feasible) {
      ++infeasible;
      continue;
    }
    ++feasible;
    ASSERT_NEAR(dag.seconds, brute.seconds, 1e-9) << "trial " << trial;
    // The DAG's counts must reproduce its cost.
    double check = 0;
    uint32_t l = 0, last_stage = 0;
    for (size_t s = 0; s < stages; ++s)
      if (dag.counts[s]) last_stage = static_cast<uint32_t>(s);
    for (size_t s = 0; s < stages; ++s) {
      if (!dag.counts[s]) continue;
      check += *c.cost(s, l, l + dag.counts[s], s == last_stage);
      l += dag.counts[s];
    }
    ASSERT_EQ(l, layers);
    ASSERT_NEAR(check, dag.seconds, 1e-9);
  }
  // The generator must exercise both outcomes or the comparison means little.
  EXPECT_GT(feasible, 100);
  EXPECT_GT(infeasible, 10);
}

TEST(LayerDag, EmptyStagesAndSingleStage) {
  const StageCost cost = [](size_t s, uint32_t l0, uint32_t l1, bool) -> std::optional<double> {
    if (s == 0) return std::nullopt;  // stage 0 holds nothing
    return static_cast<double>(l1 - l0);
  };
  const LayerAssignment a = solve_layer_dag(3, 5, cost);
  ASSERT_TRUE(a.feasible);
  EXPECT_EQ(a.counts[0], 0u);
  EXPECT_EQ(a.counts[1] + a.counts[2], 5u);
  EXPECT_DOUBLE_EQ(a.seconds, 5.0);
}

}  // namespace
}  // namespace llmc::planner
