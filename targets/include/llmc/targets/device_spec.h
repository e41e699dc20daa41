// The --devices option and rig files: which devices a plan may use and how they are linked.
//
//   --devices ITEM[,ITEM...]   or   --devices RIG.json
//   ITEM := PROFILE[*N][@LINK]              p104-100*4@pcie1x4, mi50, h100*8@nvlink4
//         | ARCH:VRAM:BANDWIDTH[*N][@LINK]  sm_61:8GiB:320GBps@pcie1x1
//         | cpu[:SIZE[:BANDWIDTH]]          cpu, cpu:64GiB:40GBps
//   LINK := pcie<gen>x<width> | nvlink[<version>[x<links>]] | pcie<gen>x<width>+nvlink...
//
// Without a PCIe link a device uses its native one. docs/devices.md has the rig file schema.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/targets/device_catalog.h"
#include "llmc/targets/device_profile.h"
#include "llmc/targets/link_profile.h"

namespace llmc::targets {

// A bad --devices value or rig file. The message names the item (or file and JSON field), what was
// wrong and what was expected.
class DeviceSpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Most devices one spec may describe; guards against "*99999999" and runaway rig files.
inline constexpr int kMaxDevices = 64;

struct DeviceInstance {
  size_t index = 0;             // position in RigSpec::devices
  std::string origin;           // the --devices item or "rig.json: devices[2]" it came from
  DeviceProfile profile;        // copied from the catalog; custom specs override size and bandwidth
  bool custom = false;          // built from ARCH:VRAM:BANDWIDTH (or overridden in a rig file)
  LinkProfile host_link;        // PCIe to the host; kind Host for the CPU
  std::optional<LinkProfile> peer_link;  // NVLink to the other GPUs, when given
  std::string slot;             // rig files: where the card sits (free text)
  std::optional<size_t> parent_node;     // index into RigSpec::topology
};

enum class TopologyNodeKind {
  RootPort,  // a CPU root port
  Switch,    // a PCIe switch (PLX/Broadcom, or a riser board's switch)
  Chipset,   // the platform controller hub behind its DMI/uplink
};
std::string_view topology_node_kind_name(TopologyNodeKind kind);  // "root_port", "switch", "chipset"

struct TopologyNode {
  std::string id;
  TopologyNodeKind kind = TopologyNodeKind::RootPort;
  LinkProfile uplink;            // towards the parent node, or towards the CPU when there is none
  std::optional<size_t> parent;  // index into RigSpec::topology
};

struct RigSpec {
  std::string name;  // rig files only
  std::vector<DeviceInstance> devices;
  std::vector<TopologyNode> topology;

  // Nodes between the device and the CPU, nearest first; empty when the device hangs off the CPU.
  std::vector<const TopologyNode*> path_to_host(const DeviceInstance& device) const;
  // The slowest achievable bandwidth on the way to the CPU (device link and every uplink); 0 for
  // the CPU itself. Shared uplinks are the planner's business (max-flow), not this bound's.
  double host_bandwidth_gbps(const DeviceInstance& device) const;
};

// Parses a --devices value. A value ending in ".json" is read as a rig file.
RigSpec parse_device_spec(std::string_view spec, const DeviceCatalog& catalog = DeviceCatalog::builtin());

// Rig files ("schema": "llmc.rig/1"). `origin` names the text in errors.
RigSpec load_rig_file(const std::filesystem::path& path, const DeviceCatalog& catalog = DeviceCatalog::builtin());
RigSpec parse_rig_json(std::string_view text, std::string_view origin,
                       const DeviceCatalog& catalog = DeviceCatalog::builtin());

// "8GiB", "24GB", "512MiB", "1.5TiB" (case-insensitive) -> bytes; nullopt when malformed, not
// positive, or beyond 1 PiB.
std::optional<uint64_t> parse_size_bytes(std::string_view text);
// "320GBps", "320GB/s", "1.2TB/s", "900MBps" -> GB/s; nullopt when malformed, not positive, or
// beyond 100 TB/s.
std::optional<double> parse_bandwidth_gbps(std::string_view text);

}  // namespace llmc::targets
