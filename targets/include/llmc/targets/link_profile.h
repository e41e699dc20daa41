// Transfer links between a device and the host (PCIe) or between GPUs (NVLink), from
// targets/links.json, with the simple time model the planner builds on.
#pragma once

#include <cstdint>
#include <string>

namespace llmc::targets {

enum class LinkKind {
  Host,    // the device is the host (CPU RAM): nothing to cross
  Pcie,
  NvLink,
};

struct LinkProfile {
  std::string name;          // "pcie3x16", "nvlink4", "nvlink3x4", "host"
  LinkKind kind = LinkKind::Host;
  int gen = 0;               // PCIe generation or NVLink version
  int width = 0;             // PCIe lanes or NVLink links
  double gbps_per_dir = 0;   // raw rate after line encoding, one direction, GB/s (1e9 bytes/s)
  double efficiency = 1;     // fraction of gbps_per_dir that bulk copies reach
  double latency_us = 0;     // fixed cost of one copy

  double achievable_gbps() const { return gbps_per_dir * efficiency; }
  // One copy of `bytes` over this link: latency plus size over achievable bandwidth; 0 for Host.
  double transfer_seconds(uint64_t bytes) const;
};

// "pcie<gen>x<width>", e.g. pcie_link_name(1, 4) == "pcie1x4".
std::string pcie_link_name(int gen, int width);

// A GPU-to-GPU copy without peer-to-peer: device -> pinned host memory over `from`, then host ->
// device over `to`. The two hops run one after the other, so their times add.
double host_staged_copy_seconds(const LinkProfile& from, const LinkProfile& to, uint64_t bytes);

}  // namespace llmc::targets
