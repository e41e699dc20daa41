#include "llmc/planner/pcie_flow.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>

namespace llmc::planner {

HostFlow host_to_devices_flow(const targets::RigSpec& rig, const std::vector<size_t>& receivers,
                              const std::vector<double>& demand_gbps) {
  using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
  using Graph = boost::adjacency_list<
      boost::vecS, boost::vecS, boost::directedS, boost::no_property,
      boost::property<boost::edge_capacity_t, double,
                      boost::property<boost::edge_residual_capacity_t, double,
                                      boost::property<boost::edge_reverse_t, Traits::edge_descriptor>>>>;
  // Vertices: 0 host, 1 sink, then topology nodes, then devices.
  const size_t host = 0, sink = 1, node0 = 2, dev0 = node0 + rig.topology.size();
  Graph g(dev0 + rig.devices.size());
  auto cap = boost::get(boost::edge_capacity, g);
  auto rev = boost::get(boost::edge_reverse, g);
  std::vector<Traits::edge_descriptor> device_edges(rig.devices.size());
  auto link = [&](size_t u, size_t v, double c) {
    auto e = boost::add_edge(u, v, g).first;
    auto r = boost::add_edge(v, u, g).first;
    cap[e] = c;
    cap[r] = 0;
    rev[e] = r;
    rev[r] = e;
    return e;
  };
  for (size_t i = 0; i < rig.topology.size(); ++i) {
    const auto& n = rig.topology[i];
    link(n.parent ? node0 + *n.parent : host, node0 + i, n.uplink.achievable_gbps());
  }
  HostFlow out;
  out.device_gbps.assign(rig.devices.size(), 0);
  for (size_t d : receivers) {
    const auto& dev = rig.devices[d];
    if (dev.host_link.kind == targets::LinkKind::Host) continue;
    const size_t from = dev.parent_node ? node0 + *dev.parent_node : host;
    link(from, dev0 + d, dev.host_link.achievable_gbps());
    const double demand = d < demand_gbps.size() ? demand_gbps[d] : dev.host_link.achievable_gbps();
    device_edges[d] = link(dev0 + d, sink, demand);
  }
  out.total_gbps = boost::push_relabel_max_flow(g, host, sink);
  auto residual = boost::get(boost::edge_residual_capacity, g);
  for (size_t d : receivers)
    if (rig.devices[d].host_link.kind != targets::LinkKind::Host)
      out.device_gbps[d] = cap[device_edges[d]] - residual[device_edges[d]];
  return out;
}

double host_load_seconds(const targets::RigSpec& rig, const std::vector<uint64_t>& bytes) {
  std::vector<size_t> receivers;
  double total = 0, lo = 0;
  for (size_t d = 0; d < bytes.size() && d < rig.devices.size(); ++d) {
    if (bytes[d] == 0 || rig.devices[d].host_link.kind == targets::LinkKind::Host) continue;
    receivers.push_back(d);
    total += static_cast<double>(bytes[d]);
    lo = std::max(lo, static_cast<double>(bytes[d]) / (rig.devices[d].host_link.achievable_gbps() * 1e9));
  }
  if (receivers.empty()) return 0;
  auto feasible = [&](double t) {
    std::vector<double> demand(rig.devices.size(), 0);
    double want = 0;
    for (size_t d : receivers) want += demand[d] = static_cast<double>(bytes[d]) / t / 1e9;
    return host_to_devices_flow(rig, receivers, demand).total_gbps >= want * (1 - 1e-9);
  };
  if (feasible(lo)) return lo;
  double hi = lo * 2;
  while (!feasible(hi)) hi *= 2;
  for (int i = 0; i < 60 && hi - lo > 1e-6 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    (feasible(mid) ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace llmc::planner
