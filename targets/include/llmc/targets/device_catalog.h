// The catalog of device profiles, chips and links. The built-in one is compiled from the JSON files
// under targets/, so binaries work from any directory; tests and tools can build one from other texts.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/targets/device_profile.h"
#include "llmc/targets/link_profile.h"

namespace llmc::targets {

// A target data file that is missing a field, has a wrong type or an inconsistent value. The
// message names the file and the field.
class TargetDataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TargetDataFile {
  std::string path;  // shown in errors; for device files its stem must equal the profile name
  std::string text;
};

struct TargetData {
  TargetDataFile chips;
  TargetDataFile links;
  std::vector<TargetDataFile> devices;
};

class DeviceCatalog {
 public:
  // The catalog built from the files embedded at build time. Throws TargetDataError on first use
  // if they are inconsistent (the unit tests make sure they are not).
  static const DeviceCatalog& builtin();
  // Validates everything: every number has a source, every device names a known chip, devices agree
  // with their chip (vendor, warp size, shared memory, int8 dot), native links exist.
  static DeviceCatalog from_data(const TargetData& data);
  // The built-in data with `chips` in place of chips.json (to validate an edited chips file).
  static DeviceCatalog with_chips(TargetDataFile chips);

  const std::vector<DeviceProfile>& devices() const { return devices_; }
  const DeviceProfile* find_device(std::string_view name) const;
  // Up to `max` profile names close to a misspelled one, best first.
  std::vector<std::string> similar_device_names(std::string_view name, size_t max = 3) const;

  const std::vector<ChipInfo>& chips() const { return chips_; }
  const ChipInfo* find_chip(std::string_view arch) const;

  std::optional<LinkProfile> pcie(int gen, int width) const;
  // Every link of that NVLink version at its full per-GPU count (nvlink(4): 18 links, 450 GB/s).
  std::optional<LinkProfile> nvlink(int version) const;
  std::optional<LinkProfile> nvlink(int version, int links) const;
  // "pcie3x16", "nvlink2", "nvlink3x4"; nullopt for anything else.
  std::optional<LinkProfile> find_link(std::string_view name) const;
  LinkProfile host_link() const;

  const std::vector<int>& pcie_generations() const { return pcie_generations_; }
  const std::vector<int>& pcie_widths() const { return pcie_widths_; }
  const std::vector<int>& nvlink_versions() const { return nvlink_versions_; }
  // Every PCIe generation x width, in table order.
  std::vector<LinkProfile> pcie_links() const;
  // Why host-staged copies cost two hops and which cards lack peer-to-peer.
  const std::string& peer_to_peer_notes() const { return peer_to_peer_notes_; }

 private:
  struct PcieGeneration {
    int gen = 0;
    double gbps_per_lane = 0;
    double efficiency = 0;
    double latency_us = 0;
  };
  struct NvLinkGeneration {
    int version = 0;
    double gbps_per_link_per_dir = 0;
    int max_links = 0;
    double efficiency = 0;
    double latency_us = 0;
  };
  friend class CatalogLoader;

  std::vector<DeviceProfile> devices_;
  std::vector<ChipInfo> chips_;
  std::vector<PcieGeneration> pcie_table_;
  std::vector<NvLinkGeneration> nvlink_table_;
  std::vector<int> pcie_generations_;
  std::vector<int> pcie_widths_;
  std::vector<int> nvlink_versions_;
  std::string peer_to_peer_notes_;
};

}  // namespace llmc::targets
