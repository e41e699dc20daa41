// Rig files: "schema": "llmc.rig/1", devices plus an optional PCIe tree (docs/devices.md).
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "device_resolution.h"
#include "json_reader.h"
#include "llmc/targets/device_spec.h"
#include "name_similarity.h"

namespace llmc::targets {
namespace {

using Reader = detail::JsonReader<DeviceSpecError>;
using detail::SpecContext;

// Rig files are hand-written and small; anything larger is the wrong file.
constexpr uintmax_t kMaxRigFileBytes = 1 << 20;

std::optional<TopologyNodeKind> parse_node_kind(std::string_view name) {
  if (name == "root_port") return TopologyNodeKind::RootPort;
  if (name == "switch") return TopologyNodeKind::Switch;
  if (name == "chipset") return TopologyNodeKind::Chipset;
  return std::nullopt;
}

bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

SpecContext context_of(const Reader& field) { return SpecContext{field.origin(), field.path()}; }

void read_topology(const Reader& root, const DeviceCatalog& catalog, RigSpec& rig) {
  auto topology = root.optional_field("topology");
  if (!topology) return;
  if (topology->size() > 256) topology->fail("expected at most 256 topology nodes");
  std::map<std::string, size_t> index_of;
  std::vector<std::optional<std::pair<std::string, Reader>>> parents;
  for (size_t i = 0; i < topology->size(); ++i) {
    Reader entry = topology->element(i);
    entry.only_keys({"id", "kind", "parent", "link"});
    TopologyNode node;
    Reader id = entry.field("id");
    node.id = id.as_string();
    if (!valid_node_id(node.id)) id.fail("expected an id of 1-64 letters, digits, '-', '_' or '.'");
    if (index_of.contains(node.id)) id.fail(fmt::format("node id '{}' is used twice", node.id));
    Reader kind = entry.field("kind");
    auto parsed_kind = parse_node_kind(kind.as_string());
    if (!parsed_kind) kind.fail_expected("\"root_port\", \"switch\" or \"chipset\"");
    node.kind = *parsed_kind;
    Reader link = entry.field("link");
    detail::LinkRequest request = detail::parse_link_request(link.as_string(), catalog, context_of(link));
    if (!request.pcie || request.nvlink)
      link.fail("a topology node's uplink is one PCIe link; expected pcie<gen>x<width> (DMI 3.0 is pcie3x4)");
    node.uplink = *request.pcie;
    if (auto parent = entry.optional_field("parent"))
      parents.emplace_back(std::make_pair(parent->as_nonempty_string(), *parent));
    else
      parents.emplace_back(std::nullopt);
    index_of[node.id] = rig.topology.size();
    rig.topology.push_back(std::move(node));
  }
  for (size_t i = 0; i < rig.topology.size(); ++i) {
    if (!parents[i]) continue;
    const auto& [parent_id, field] = *parents[i];
    auto it = index_of.find(parent_id);
    if (it == index_of.end()) field.fail(fmt::format("unknown parent node '{}'", parent_id));
    if (it->second == i) field.fail("a node cannot be its own parent");
    rig.topology[i].parent = it->second;
  }
  for (size_t i = 0; i < rig.topology.size(); ++i) {
    size_t steps = 0;
    for (auto node = rig.topology[i].parent; node; node = rig.topology[*node].parent)
      if (++steps > rig.topology.size())
        topology->element(i).field("parent").fail(
            fmt::format("node '{}' is part of a parent cycle; the tree must end at the CPU", rig.topology[i].id));
  }
}

DeviceInstance read_device(const Reader& entry, const DeviceCatalog& catalog, const RigSpec& rig,
                           uint64_t& count) {
  entry.only_keys({"profile", "arch", "vram", "bandwidth", "count", "link", "slot", "node"});
  DeviceInstance device;
  device.origin = fmt::format("{}: {}", entry.origin(), entry.path());

  const bool has_profile = entry.has("profile");
  const bool has_arch = entry.has("arch");
  if (has_profile == has_arch)
    entry.fail("expected exactly one of 'profile' (a device profile name) or 'arch' (a custom device)");

  std::optional<uint64_t> vram;
  if (auto field = entry.optional_field("vram")) {
    if (field->raw().is_string())
      vram = detail::checked_memory_size(field->as_string(), "VRAM size", context_of(*field));
    else
      vram = field->as_uint64_in(uint64_t{1} << 20, uint64_t{1} << 50);
  }
  std::optional<double> bandwidth;
  if (auto field = entry.optional_field("bandwidth")) {
    if (field->raw().is_string())
      bandwidth = detail::checked_bandwidth(field->as_string(), context_of(*field));
    else
      bandwidth = field->as_number_in(0.001, 1e5, "bandwidth in GB/s");
  }

  if (has_profile) {
    Reader profile = entry.field("profile");
    device.profile = detail::lookup_profile(profile.as_string(), catalog, context_of(profile));
    if (vram || bandwidth) {
      detail::override_memory(device.profile, vram, bandwidth, device.origin);
      device.custom = true;
    }
  } else {
    Reader arch = entry.field("arch");
    const ChipInfo& chip = detail::lookup_chip(arch.as_string(), catalog, context_of(arch));
    if (chip.vendor != Vendor::Cpu && (!vram || !bandwidth))
      entry.fail("a custom device needs 'vram' and 'bandwidth' next to 'arch'");
    device.profile = detail::custom_profile(chip, vram, bandwidth, device.origin, catalog, context_of(arch));
    device.custom = true;
  }

  count = 1;
  if (auto field = entry.optional_field("count")) count = static_cast<uint64_t>(field->as_int_in(1, kMaxDevices));
  if (auto field = entry.optional_field("slot")) {
    device.slot = field->as_nonempty_string();
    if (count > 1) field->fail("a slot names one device; drop 'slot' or use count 1 and one entry per card");
  }

  std::optional<detail::LinkRequest> links;
  SpecContext link_context = context_of(entry);
  if (auto field = entry.optional_field("link")) {
    link_context = context_of(*field);
    links = detail::parse_link_request(field->as_string(), catalog, link_context);
  }

  if (device.profile.is_cpu()) {
    if (count > 1) entry.fail("the host RAM (cpu) is one device; give its total size instead of a count");
    for (const DeviceInstance& existing : rig.devices)
      if (existing.profile.is_cpu()) entry.fail("a second cpu device; the host RAM is one device, list it once");
    if (entry.has("node")) entry.field("node").fail("the host RAM (cpu) does not sit on a PCIe node");
  }
  detail::apply_links(device, links, catalog, link_context);

  if (auto field = entry.optional_field("node")) {
    std::string id = field->as_nonempty_string();
    for (size_t i = 0; i < rig.topology.size(); ++i)
      if (rig.topology[i].id == id) device.parent_node = i;
    if (!device.parent_node) {
      std::vector<std::string> ids;
      for (const TopologyNode& node : rig.topology) ids.push_back(node.id);
      field->fail(ids.empty() ? fmt::format("unknown node '{}': the file has no topology", id)
                              : fmt::format("unknown node '{}'; expected one of: {}", id, detail::join_names(ids, ", ")));
    }
  }
  return device;
}

}  // namespace

RigSpec load_rig_file(const std::filesystem::path& path, const DeviceCatalog& catalog) {
  const std::string name = path.string();
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status))
    throw DeviceSpecError(fmt::format("{}: cannot read rig file: no such file", name));
  if (!std::filesystem::is_regular_file(status))
    throw DeviceSpecError(fmt::format("{}: cannot read rig file: not a regular file", name));
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw DeviceSpecError(fmt::format("{}: cannot read rig file: {}", name, error.message()));
  if (size > kMaxRigFileBytes)
    throw DeviceSpecError(fmt::format("{}: rig file is {} bytes; expected a small JSON file (at most {} bytes)", name,
                                      size, kMaxRigFileBytes));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw DeviceSpecError(fmt::format("{}: cannot read rig file", name));
  return parse_rig_json(text.str(), name, catalog);
}

RigSpec parse_rig_json(std::string_view text, std::string_view origin, const DeviceCatalog& catalog) {
  nlohmann::json root_json;
  try {
    root_json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw DeviceSpecError(fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
  Reader root(root_json, std::string(origin));
  root.only_keys({"schema", "name", "notes", "topology", "devices"});
  Reader schema = root.field("schema");
  if (schema.as_string() != "llmc.rig/1")
    schema.fail(fmt::format("expected \"llmc.rig/1\", got \"{}\"", schema.as_string()));

  RigSpec rig;
  if (auto name = root.optional_field("name")) rig.name = name->as_string();
  if (auto notes = root.optional_field("notes")) notes->as_string();
  read_topology(root, catalog, rig);

  Reader devices = root.field("devices");
  if (devices.size() == 0) devices.fail("expected at least one device");
  if (devices.size() > static_cast<size_t>(kMaxDevices))
    devices.fail(fmt::format("expected at most {} entries", kMaxDevices));
  for (size_t i = 0; i < devices.size(); ++i) {
    Reader entry = devices.element(i);
    uint64_t count = 1;
    DeviceInstance device = read_device(entry, catalog, rig, count);
    if (rig.devices.size() + count > static_cast<size_t>(kMaxDevices))
      entry.fail(fmt::format("{} devices in total; a rig describes at most {}", rig.devices.size() + count,
                             kMaxDevices));
    for (uint64_t k = 0; k < count; ++k) {
      device.index = rig.devices.size();
      rig.devices.push_back(device);
    }
  }
  return rig;
}

}  // namespace llmc::targets
