// The --devices grammar (see device_spec.h) and the size/bandwidth literals it shares with rig files.
#include "llmc/targets/device_spec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "device_resolution.h"

namespace llmc::targets {
namespace {

using detail::SpecContext;

// Longer items are not typos of a device spec; refusing them keeps error messages readable.
constexpr size_t kMaxItemLength = 200;

struct Quantity {
  double value = 0;
  std::string_view unit;
};

// "<digits>[.<digits>] [unit]". No sign, exponent, inf or nan: sizes are written by people.
std::optional<Quantity> split_quantity(std::string_view text) {
  text = detail::trim(text);
  size_t end = 0;
  bool dot = false;
  while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || (text[end] == '.' && !dot))) {
    dot = dot || text[end] == '.';
    ++end;
  }
  if (end == 0 || end > 24) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, value);
  if (ec != std::errc() || ptr != text.data() + end || !std::isfinite(value)) return std::nullopt;
  return Quantity{value, detail::trim(text.substr(end))};
}

// Total devices so far plus `count`, or a failure naming the item.
size_t checked_total(size_t existing, uint64_t count, const SpecContext& ctx) {
  if (existing + count > static_cast<size_t>(kMaxDevices))
    ctx.fail(fmt::format("{} devices in total", existing + count),
             fmt::format("a spec describes at most {} devices", kMaxDevices));
  return existing + count;
}

uint64_t parse_count(std::string_view text, const SpecContext& ctx) {
  text = detail::trim(text);
  bool digits = !text.empty() && text.size() <= 6;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  uint64_t count = 0;
  if (digits) std::from_chars(text.data(), text.data() + text.size(), count);
  if (!digits || count < 1 || count > static_cast<uint64_t>(kMaxDevices))
    ctx.fail(fmt::format("invalid count '*{}'", text), fmt::format("expected *N with N from 1 to {}", kMaxDevices));
  return count;
}

// One --devices item: PROFILE[*N][@LINK], ARCH:VRAM:BANDWIDTH[*N][@LINK] or cpu[:SIZE[:BANDWIDTH]].
void parse_item(std::string_view item, const DeviceCatalog& catalog, RigSpec& rig) {
  const SpecContext ctx{"", std::string(item)};
  size_t at = item.find('@');
  if (at != std::string_view::npos && item.find('@', at + 1) != std::string_view::npos)
    ctx.fail("more than one '@'", "join a PCIe link and an NVLink with '+': h100*8@pcie5x16+nvlink4");
  std::string_view head = item.substr(0, at);
  std::optional<detail::LinkRequest> links;
  if (at != std::string_view::npos) links = detail::parse_link_request(item.substr(at + 1), catalog, ctx);

  size_t star = head.find('*');
  if (star != std::string_view::npos && head.find('*', star + 1) != std::string_view::npos)
    ctx.fail("more than one '*'", "expected PROFILE*N with a single count");
  uint64_t count = star == std::string_view::npos ? 1 : parse_count(head.substr(star + 1), ctx);
  std::string_view base = detail::trim(head.substr(0, star));
  if (base.empty()) ctx.fail("missing device name", "expected PROFILE[*N][@LINK], e.g. p104-100*4@pcie1x4");

  DeviceInstance device;
  device.origin = std::string(item);
  size_t colon = base.find(':');
  if (colon == std::string_view::npos) {
    device.profile = detail::lookup_profile(base, catalog, ctx);
  } else {
    const ChipInfo& chip = detail::lookup_chip(base.substr(0, colon), catalog, ctx);
    std::string_view rest = base.substr(colon + 1);
    size_t second = rest.find(':');
    std::string_view size_text = rest.substr(0, second);
    std::optional<std::string_view> bandwidth_text;
    if (second != std::string_view::npos) bandwidth_text = rest.substr(second + 1);
    const bool host = chip.vendor == Vendor::Cpu;
    if (bandwidth_text && bandwidth_text->find(':') != std::string_view::npos)
      ctx.fail("too many ':' fields", "expected ARCH:VRAM:BANDWIDTH, e.g. sm_61:8GiB:320GBps");
    if (!host && !bandwidth_text)
      ctx.fail("missing bandwidth", fmt::format("expected ARCH:VRAM:BANDWIDTH, e.g. {}:8GiB:320GBps", chip.arch));
    uint64_t vram = detail::checked_memory_size(size_text, host ? "RAM size" : "VRAM size", ctx);
    std::optional<double> bandwidth;
    if (bandwidth_text) bandwidth = detail::checked_bandwidth(*bandwidth_text, ctx);
    device.profile = detail::custom_profile(chip, vram, bandwidth, fmt::format("--devices item '{}'", item), catalog, ctx);
    device.custom = true;
  }
  if (device.profile.is_cpu()) {
    if (count > 1) ctx.fail("a count on the cpu", "the host RAM is one device; give its total size instead");
    for (const DeviceInstance& existing : rig.devices)
      if (existing.profile.is_cpu()) ctx.fail("a second cpu", "the host RAM is one device; list cpu once");
  }
  detail::apply_links(device, links, catalog, ctx);

  checked_total(rig.devices.size(), count, ctx);
  for (uint64_t i = 0; i < count; ++i) {
    device.index = rig.devices.size();
    rig.devices.push_back(device);
  }
}

}  // namespace

std::string_view topology_node_kind_name(TopologyNodeKind kind) {
  switch (kind) {
    case TopologyNodeKind::RootPort: return "root_port";
    case TopologyNodeKind::Switch: return "switch";
    case TopologyNodeKind::Chipset: return "chipset";
  }
  return "unknown";
}

std::optional<uint64_t> parse_size_bytes(std::string_view text) {
  auto quantity = split_quantity(text);
  if (!quantity) return std::nullopt;
  const std::string unit = detail::lowercase(quantity->unit);
  double multiplier = 0;
  if (unit == "kib") multiplier = 0x1p10;
  else if (unit == "mib") multiplier = 0x1p20;
  else if (unit == "gib") multiplier = 0x1p30;
  else if (unit == "tib") multiplier = 0x1p40;
  else if (unit == "kb") multiplier = 1e3;
  else if (unit == "mb") multiplier = 1e6;
  else if (unit == "gb") multiplier = 1e9;
  else if (unit == "tb") multiplier = 1e12;
  else return std::nullopt;
  const double bytes = std::round(quantity->value * multiplier);
  if (!(bytes >= 1) || bytes > 0x1p50) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::optional<double> parse_bandwidth_gbps(std::string_view text) {
  auto quantity = split_quantity(text);
  if (!quantity) return std::nullopt;
  // A lowercase 'b' means bits (Gbps); memory bandwidth is quoted in bytes.
  std::string_view unit = quantity->unit;
  if (unit.size() < 3 || unit[1] != 'B') return std::nullopt;
  std::string rate = detail::lowercase(unit.substr(2));
  if (rate != "ps" && rate != "/s") return std::nullopt;
  double scale = 0;
  switch (unit[0]) {
    case 'M': case 'm': scale = 1e-3; break;
    case 'G': case 'g': scale = 1; break;
    case 'T': case 't': scale = 1e3; break;
    default: return std::nullopt;
  }
  const double gbps = quantity->value * scale;
  if (!(gbps > 0) || gbps > 1e5) return std::nullopt;
  return gbps;
}

RigSpec parse_device_spec(std::string_view spec, const DeviceCatalog& catalog) {
  const std::string_view trimmed = detail::trim(spec);
  if (trimmed.empty())
    throw DeviceSpecError("--devices is empty; expected a comma-separated list such as p104-100*4@pcie1x4,cpu "
                          "or a rig file ending in .json");
  if (detail::lowercase(trimmed).ends_with(".json")) {
    if (trimmed.find(',') != std::string_view::npos)
      throw DeviceSpecError(fmt::format("--devices '{}': a rig file must be the whole value, not one item of a list",
                                        trimmed));
    return load_rig_file(std::filesystem::path(std::string(trimmed)), catalog);
  }
  RigSpec rig;
  size_t item_number = 1;
  std::string_view rest = trimmed;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = detail::trim(rest.substr(0, comma));
    if (item.empty())
      throw DeviceSpecError(fmt::format("--devices item {} is empty in '{}'; expected PROFILE[*N][@LINK] between "
                                        "commas",
                                        item_number, trimmed));
    if (item.size() > kMaxItemLength)
      throw DeviceSpecError(fmt::format("--devices item {} is {} characters long; expected a short "
                                        "PROFILE[*N][@LINK] such as p104-100*4@pcie1x4",
                                        item_number, item.size()));
    if (detail::lowercase(item).ends_with(".json"))
      throw DeviceSpecError(fmt::format("--devices item '{}' is a rig file; a rig file must be the whole --devices "
                                        "value",
                                        item));
    parse_item(item, catalog, rig);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
    ++item_number;
  }
  return rig;
}

std::vector<const TopologyNode*> RigSpec::path_to_host(const DeviceInstance& device) const {
  std::vector<const TopologyNode*> path;
  std::optional<size_t> node = device.parent_node;
  // Parsing rejects cycles; the bound keeps a hand-built RigSpec from looping forever.
  while (node && *node < topology.size() && path.size() <= topology.size()) {
    path.push_back(&topology[*node]);
    node = topology[*node].parent;
  }
  return path;
}

double RigSpec::host_bandwidth_gbps(const DeviceInstance& device) const {
  if (device.host_link.kind == LinkKind::Host) return 0;
  double slowest = device.host_link.achievable_gbps();
  for (const TopologyNode* node : path_to_host(device)) slowest = std::min(slowest, node->uplink.achievable_gbps());
  return slowest;
}

}  // namespace llmc::targets
