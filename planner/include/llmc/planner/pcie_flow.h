// Shared PCIe uplinks: how fast a set of devices can receive data from the host at the same time,
// as a maximum flow over the rig's PCIe tree (host -> root ports / chipset -> switches -> cards).
#pragma once

#include <vector>

#include "llmc/targets/device_spec.h"

namespace llmc::planner {

struct HostFlow {
  double total_gbps = 0;              // all devices receiving at once
  std::vector<double> device_gbps;    // each device's share in that flow (indexed like the rig)
};

// Maximum flow from the host to `receivers` (rig indices) with every link and uplink as a capacity;
// Boost.Graph push-relabel. Without a topology each card is limited only by its own link. The
// split of the total among devices is one maximum flow, not a fair share.
HostFlow host_to_devices_flow(const targets::RigSpec& rig, const std::vector<size_t>& receivers,
                              const std::vector<double>& demand_gbps = {});

// Seconds until every device has received its bytes (`bytes[d]`, rig-indexed; 0 for none) when all
// transfers run at once: the least T for which a flow delivering bytes[d] / T to every device exists.
double host_load_seconds(const targets::RigSpec& rig, const std::vector<uint64_t>& bytes);

}  // namespace llmc::planner
