// Layer placement as a shortest path. Node (s, l) means "stages before s hold layers [0, l)". An
// edge (s, l) -> (s+1, m) gives stage s the layers [l, m) and weighs what that costs; an edge is
// absent when those layers do not fit on the stage. The path from (0, 0) to (S, L) of least weight
// is the fastest placement, and dag_shortest_paths finds it exactly in O(S * L^2).
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/dag_shortest_paths.hpp>
#include <limits>

#include "llmc/planner/placement_search.h"

namespace llmc::planner {

LayerAssignment solve_layer_dag(size_t n_stages, uint32_t n_layers, const StageCost& cost) {
  struct Weight {
    double w;
  };
  using Graph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, Weight>;
  const size_t width = n_layers + 1;
  const auto node = [&](size_t s, uint32_t l) { return s * width + l; };
  // Edges come out in source order, which lets the CSR graph be built in one pass.
  std::vector<std::pair<size_t, size_t>> edges;
  std::vector<Weight> weights;
  edges.reserve(n_stages * width * 4);
  weights.reserve(n_stages * width * 4);
  for (size_t s = 0; s < n_stages; ++s)
    for (uint32_t l = 0; l <= n_layers; ++l) {
      edges.emplace_back(node(s, l), node(s + 1, l));  // stage s left empty
      weights.push_back({0.0});
      for (uint32_t m = l + 1; m <= n_layers; ++m) {
        const std::optional<double> c = cost(s, l, m, m == n_layers);
        if (!c) break;  // memory only grows with the range: no longer range from l fits either
        edges.emplace_back(node(s, l), node(s + 1, m));
        weights.push_back({*c});
      }
    }
  const Graph g(boost::edges_are_sorted, edges.begin(), edges.end(), weights.begin(), (n_stages + 1) * width);
  const size_t n = boost::num_vertices(g);
  std::vector<double> dist(n, std::numeric_limits<double>::infinity());
  std::vector<size_t> pred(n);
  for (size_t i = 0; i < n; ++i) pred[i] = i;
  boost::dag_shortest_paths(g, node(0, 0),
                            boost::distance_map(dist.data()).predecessor_map(pred.data())
                                .weight_map(boost::get(&Weight::w, g))
                                .distance_inf(std::numeric_limits<double>::infinity()));
  LayerAssignment r;
  const size_t goal = node(n_stages, n_layers);
  if (!std::isfinite(dist[goal])) return r;
  r.feasible = true;
  r.seconds = dist[goal];
  r.counts.assign(n_stages, 0);
  for (size_t v = goal; v != node(0, 0);) {
    const size_t u = pred[v];
    r.counts[u / width] = static_cast<uint32_t>(v % width - u % width);
    v = u;
  }
  return r;
}

LayerAssignment solve_layer_brute_force(size_t n_stages, uint32_t n_layers, const StageCost& cost) {
  LayerAssignment best;
  std::vector<uint32_t> counts(n_stages, 0);
  // Enumerate compositions recursively; fine for the small cases tests use.
  std::function<void(size_t, uint32_t, double)> go = [&](size_t s, uint32_t l, double acc) {
    if (s == n_stages) {
      if (l == n_layers && (!best.feasible || acc < best.seconds)) {
        best.feasible = true;
        best.seconds = acc;
        best.counts = counts;
      }
      return;
    }
    for (uint32_t m = l; m <= n_layers; ++m) {
      double c = 0;
      if (m > l) {
        const std::optional<double> e = cost(s, l, m, m == n_layers);
        if (!e) continue;
        c = *e;
      }
      counts[s] = m - l;
      go(s + 1, m, acc + c);
    }
    counts[s] = 0;
  };
  go(0, 0, 0.0);
  return best;
}

}  // namespace llmc::planner
