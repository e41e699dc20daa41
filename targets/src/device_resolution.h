// Turning names, sizes and link text into DeviceInstances: shared by the --devices grammar and rig
// files, which differ only in how they point at the offending text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llmc/targets/device_catalog.h"
#include "llmc/targets/device_spec.h"

namespace llmc::targets::detail {

// Where a problem is: a --devices item (origin empty) or a field of a rig file.
struct SpecContext {
  std::string origin;    // rig file name; empty for --devices
  std::string location;  // the --devices item, or the JSON field path

  // "<what> in --devices item '<location>'; <expected>" or "<origin>: <location>: <what>; <expected>".
  [[noreturn]] void fail(std::string_view what, std::string_view expected) const;
  SpecContext at(std::string location_in_file) const { return {origin, std::move(location_in_file)}; }
};

// The LINK part after '@': at most one PCIe link and one NVLink, joined by '+'.
struct LinkRequest {
  std::optional<LinkProfile> pcie;
  bool nvlink = false;
  std::optional<int> nvlink_version;  // absent: the device's own NVLink version
  std::optional<int> nvlink_links;    // absent: all of the device's links
};

std::string lowercase(std::string_view text);
std::string_view trim(std::string_view text);

LinkRequest parse_link_request(std::string_view text, const DeviceCatalog& catalog, const SpecContext& ctx);

// A catalog profile by (case-insensitive) name; unknown names fail with the closest profile names.
DeviceProfile lookup_profile(std::string_view name, const DeviceCatalog& catalog, const SpecContext& ctx);

// The chip an ARCH of a custom device names; "cpu" means the host (x86-64).
const ChipInfo& lookup_chip(std::string_view arch, const DeviceCatalog& catalog, const SpecContext& ctx);

// Replaces VRAM and/or bandwidth and records `origin` as their source.
void override_memory(DeviceProfile& profile, std::optional<uint64_t> vram_bytes, std::optional<double> bandwidth_gbps,
                     std::string_view origin);

// A copy of the chip's reference profile with the given VRAM and bandwidth; `origin` is recorded as
// the source of the overridden numbers.
DeviceProfile custom_profile(const ChipInfo& chip, std::optional<uint64_t> vram_bytes,
                             std::optional<double> bandwidth_gbps, std::string_view origin,
                             const DeviceCatalog& catalog, const SpecContext& ctx);

// Checks a size for VRAM/RAM (at least 1 MiB) and returns it; `field` names it in messages.
uint64_t checked_memory_size(std::string_view text, std::string_view field, const SpecContext& ctx);
double checked_bandwidth(std::string_view text, const SpecContext& ctx);

// Sets host_link (given PCIe link or the profile's native one) and peer_link (NVLink).
void apply_links(DeviceInstance& device, const std::optional<LinkRequest>& request, const DeviceCatalog& catalog,
                 const SpecContext& ctx);

}  // namespace llmc::targets::detail
