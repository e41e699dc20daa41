// The search: which devices, in what order, which layers (or row shares) on each, at what context
// and KV type. Layer placement over an ordered list of pipeline stages is an exact shortest path
// over a layered DAG (stage, layer boundary) with memory-infeasible edges removed; the outer loops
// enumerate split modes, orders, KV types and contexts.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "llmc/model.h"
#include "llmc/planner/cost_model.h"
#include "llmc/planner/plan.h"
#include "llmc/targets/device_spec.h"

namespace llmc::planner {

// A pipeline stage: one device, or a tensor-parallel group of devices sharing every layer.
struct Stage {
  std::vector<size_t> devices;      // indices into the rig
  std::vector<double> fractions;    // row share of each device (sums to 1)
};

// The best contiguous layer ranges for a fixed sequence of stages.
struct LayerAssignment {
  bool feasible = false;
  std::vector<uint32_t> counts;     // layers per stage, in order
  double seconds = 0;               // decode seconds per token (without the per-token fixed cost)
};

// Cost of giving stage `s` the layers [l0, l1) (the output layer too when `last`): seconds, or
// nullopt when it does not fit in memory.
using StageCost = std::function<std::optional<double>(size_t s, uint32_t l0, uint32_t l1, bool last)>;

// Exact: shortest path over the DAG with Boost.Graph. Stages may receive no layers; the output
// layer goes to the stage holding the last layer. `cost` must be monotone in memory: when [l0, l1)
// does not fit on a stage, no [l0, l2) with l2 > l1 does.
LayerAssignment solve_layer_dag(size_t n_stages, uint32_t n_layers, const StageCost& cost);
// Every composition of n_layers into n_stages parts; for tests of solve_layer_dag.
LayerAssignment solve_layer_brute_force(size_t n_stages, uint32_t n_layers, const StageCost& cost);

class PlacementSearch {
 public:
  PlacementSearch(const ModelDesc& model, targets::RigSpec rig, PlanRequest request);

  // Runs the whole search. The plan's `fits` is false when nothing fits; then `suggestions` says
  // what would.
  Plan run() const;

  // A fully specified candidate evaluated as is (used for alternatives, pins and tests).
  struct Candidate {
    SplitMode split = SplitMode::Layer;
    std::vector<Stage> stages;      // pipeline order
    RunSettings run;
  };
  struct Evaluated {
    bool feasible = false;
    std::vector<uint32_t> counts;
    double decode_seconds = 0;      // per token, including fixed costs
    Plan plan;                      // filled when feasible
  };
  // `feasibility_only` skips building the plan (the context search only needs the answer).
  Evaluated evaluate(const Candidate& c, bool feasibility_only = false) const;

 private:
  std::vector<Candidate> candidates(const RunSettings& run) const;
  std::optional<uint32_t> max_ctx(const std::vector<Candidate>& shapes, RunSettings run) const;
  Plan materialize(const Candidate& c, const std::vector<uint32_t>& counts) const;
  void add_kernel_configs(Plan& p) const;
  std::vector<std::string> suggest(const RunSettings& run) const;

  const ModelDesc& model_;
  ModelCosts costs_;
  targets::RigSpec rig_;
  PlanRequest req_;
};

}  // namespace llmc::planner
