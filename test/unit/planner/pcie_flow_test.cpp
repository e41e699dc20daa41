#include <gtest/gtest.h>

#include "llmc/planner/pcie_flow.h"

namespace llmc::planner {
namespace {

targets::RigSpec rig(const char* json) { return targets::parse_rig_json(json, "rig.json"); }

TEST(PcieFlow, SharedUplinkLimitsConcurrentLoads) {
  // Four cards at Gen1 x1 (0.2 GB/s achievable each) behind a switch with a Gen2 x1 uplink (0.4).
  const auto r = rig(R"({"schema": "llmc.rig/1",
    "topology": [{"id": "sw", "kind": "switch", "link": "pcie2x1"}],
    "devices": [{"profile": "p104-100", "count": 4, "link": "pcie1x1", "node": "sw"}]})");
  const HostFlow f = host_to_devices_flow(r, {0, 1, 2, 3});
  EXPECT_NEAR(f.total_gbps, 0.4, 1e-9);
  const uint64_t gb = 1000000000;
  // 1 GB each: the uplink carries 4 GB at 0.4 GB/s.
  EXPECT_NEAR(host_load_seconds(r, {gb, gb, gb, gb}), 10.0, 1e-3);
  // One card alone is limited by its own link.
  EXPECT_NEAR(host_load_seconds(r, {gb, 0, 0, 0}), 5.0, 1e-3);
}

TEST(PcieFlow, WithoutTopologyEachCardHasItsOwnLink) {
  const auto r = targets::parse_device_spec("p104-100*2@pcie1x4");
  const HostFlow f = host_to_devices_flow(r, {0, 1});
  EXPECT_NEAR(f.total_gbps, 1.6, 1e-9);
  EXPECT_NEAR(f.device_gbps[0], 0.8, 1e-9);
  EXPECT_NEAR(host_load_seconds(r, {800000000, 400000000}), 1.0, 1e-3);
}

}  // namespace
}  // namespace llmc::planner
