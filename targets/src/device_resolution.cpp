#include "device_resolution.h"

#include <cctype>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "name_similarity.h"

namespace llmc::targets::detail {
namespace {

std::string link_grammar(const DeviceCatalog& catalog) {
  std::vector<std::string> widths;
  for (int w : catalog.pcie_widths()) widths.push_back(std::to_string(w));
  const auto& gens = catalog.pcie_generations();
  const auto& nvlinks = catalog.nvlink_versions();
  std::string text = fmt::format("expected pcie<gen>x<width> with gen {}-{} and width {}", gens.front(), gens.back(),
                                 join_names(widths));
  if (!nvlinks.empty())
    text += fmt::format(", or nvlink[<version {}-{}>[x<links>]], or both joined by '+' (pcie3x16+nvlink2)",
                        nvlinks.front(), nvlinks.back());
  return text;
}

std::string known_archs(const DeviceCatalog& catalog) {
  std::vector<std::string> archs;
  for (const ChipInfo& chip : catalog.chips()) archs.push_back(chip.arch);
  return join_names(archs, ", ");
}

}  // namespace

void SpecContext::fail(std::string_view what, std::string_view expected) const {
  if (origin.empty()) throw DeviceSpecError(fmt::format("{} in --devices item '{}'; {}", what, location, expected));
  throw DeviceSpecError(fmt::format("{}: {}: {}; {}", origin, location, what, expected));
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

LinkRequest parse_link_request(std::string_view text, const DeviceCatalog& catalog, const SpecContext& ctx) {
  std::string_view trimmed = trim(text);
  if (trimmed.empty()) ctx.fail("missing link after '@'", link_grammar(catalog));
  if (trimmed.find('*') != std::string_view::npos)
    ctx.fail(fmt::format("unexpected '*' in link '{}'", trimmed), "write the count before the link: p104-100*4@pcie1x4");
  LinkRequest request;
  std::string_view rest = trimmed;
  while (true) {
    size_t plus = rest.find('+');
    std::string part = lowercase(trim(rest.substr(0, plus)));
    if (part.starts_with("nvlink")) {
      if (request.nvlink) ctx.fail(fmt::format("two NVLink links in '{}'", trimmed), link_grammar(catalog));
      request.nvlink = true;
      if (part != "nvlink") {
        auto link = catalog.find_link(part);
        if (!link) ctx.fail(fmt::format("unknown link '{}'", part), link_grammar(catalog));
        request.nvlink_version = link->gen;
        if (part.find('x') != std::string::npos) request.nvlink_links = link->width;
      }
    } else {
      auto link = catalog.find_link(part);
      if (!link || link->kind != LinkKind::Pcie) ctx.fail(fmt::format("unknown link '{}'", part), link_grammar(catalog));
      if (request.pcie) ctx.fail(fmt::format("two PCIe links in '{}'", trimmed), link_grammar(catalog));
      request.pcie = link;
    }
    if (plus == std::string_view::npos) break;
    rest = rest.substr(plus + 1);
  }
  return request;
}

DeviceProfile lookup_profile(std::string_view name, const DeviceCatalog& catalog, const SpecContext& ctx) {
  std::string key = lowercase(trim(name));
  if (const DeviceProfile* profile = catalog.find_device(key)) return *profile;
  std::vector<std::string> close = catalog.similar_device_names(key);
  if (catalog.find_chip(key))
    ctx.fail(fmt::format("'{}' is an architecture, not a device profile", key),
             fmt::format("a custom device is {}:VRAM:BANDWIDTH, e.g. {}:8GiB:320GBps", key, key));
  if (!close.empty())
    ctx.fail(fmt::format("unknown device profile '{}'", key), fmt::format("did you mean {}?", join_names(close, ", ")));
  ctx.fail(fmt::format("unknown device profile '{}'", key),
           "expected a profile name such as p104-100, mi50 or rtx-3090, or a custom ARCH:VRAM:BANDWIDTH");
}

const ChipInfo& lookup_chip(std::string_view arch, const DeviceCatalog& catalog, const SpecContext& ctx) {
  std::string key = lowercase(trim(arch));
  if (key == "cpu") {
    const DeviceProfile* cpu = catalog.find_device("cpu");
    if (cpu) key = cpu->arch;
  }
  if (const ChipInfo* chip = catalog.find_chip(key)) return *chip;
  if (key.empty()) ctx.fail("missing architecture before ':'", "expected ARCH:VRAM:BANDWIDTH, e.g. sm_61:8GiB:320GBps");
  if (const DeviceProfile* profile = catalog.find_device(key))
    ctx.fail(fmt::format("'{}' is a device profile, not an architecture", key),
             fmt::format("write {} alone, or a custom {}:VRAM:BANDWIDTH", key, profile->arch));
  std::vector<std::string> archs;
  for (const ChipInfo& chip : catalog.chips()) archs.push_back(chip.arch);
  std::vector<std::string> close = closest_names(key, archs, 3);
  std::string expected = fmt::format("expected one of {} or cpu", known_archs(catalog));
  if (!close.empty()) expected = fmt::format("did you mean {}? ({})", join_names(close, ", "), expected);
  ctx.fail(fmt::format("unknown architecture '{}'", key), expected);
}

void override_memory(DeviceProfile& profile, std::optional<uint64_t> vram_bytes, std::optional<double> bandwidth_gbps,
                     std::string_view origin) {
  const std::string from = fmt::format("given by {}", origin);
  if (vram_bytes) {
    profile.vram_bytes = *vram_bytes;
    profile.sources["vram_bytes"] = from;
  }
  if (bandwidth_gbps) {
    profile.mem_bandwidth_gbps = *bandwidth_gbps;
    profile.sources["mem_bandwidth_gbps"] = from;
  }
}

DeviceProfile custom_profile(const ChipInfo& chip, std::optional<uint64_t> vram_bytes,
                             std::optional<double> bandwidth_gbps, std::string_view origin,
                             const DeviceCatalog& catalog, const SpecContext& ctx) {
  const DeviceProfile* reference = catalog.find_device(chip.reference_device);
  if (!reference)
    ctx.fail(fmt::format("no reference profile for {}", chip.arch), "chips.json must name an existing profile");
  DeviceProfile p = *reference;
  override_memory(p, vram_bytes, bandwidth_gbps, origin);
  if (!p.is_cpu()) {
    p.name = "custom-" + chip.arch;
    p.display_name = fmt::format("custom {} ({:.4g} GiB, {:.4g} GB/s)", chip.arch,
                                 static_cast<double>(p.vram_bytes) / (1ull << 30), p.mem_bandwidth_gbps);
    // An unknown card's NVLink is unknown: it has to be stated with @nvlink<version>.
    p.nvlink.reset();
  }
  p.notes = fmt::format("custom device; compute rates, link and limits copied from the {} profile", reference->name);
  return p;
}

uint64_t checked_memory_size(std::string_view text, std::string_view field, const SpecContext& ctx) {
  auto bytes = parse_size_bytes(text);
  if (!bytes || *bytes < (uint64_t{1} << 20))
    ctx.fail(fmt::format("invalid {} '{}'", field, text),
             "expected a positive size of at least 1 MiB such as 8GiB, 24GB or 512MiB");
  return *bytes;
}

double checked_bandwidth(std::string_view text, const SpecContext& ctx) {
  auto gbps = parse_bandwidth_gbps(text);
  if (!gbps)
    ctx.fail(fmt::format("invalid bandwidth '{}'", text),
             "expected a positive rate in bytes per second such as 320GBps, 320GB/s or 1.2TB/s (a lowercase b, "
             "as in Gbps, would mean bits)");
  return *gbps;
}

void apply_links(DeviceInstance& device, const std::optional<LinkRequest>& request, const DeviceCatalog& catalog,
                 const SpecContext& ctx) {
  const DeviceProfile& p = device.profile;
  if (p.is_cpu()) {
    if (request) ctx.fail("a link on the cpu", "the host RAM takes no link: write cpu or cpu:SIZE:BANDWIDTH");
    device.host_link = catalog.host_link();
    return;
  }
  if (request && request->pcie) {
    device.host_link = *request->pcie;
  } else {
    auto native = catalog.pcie(p.pcie.gen, p.pcie.width);
    if (!native) ctx.fail(fmt::format("{} has no native link in links.json", p.name), "give one with @pcie<gen>x<width>");
    device.host_link = *native;
  }
  if (!request || !request->nvlink) return;

  if (p.vendor != Vendor::Nvidia)
    ctx.fail(fmt::format("NVLink on {}", p.name), "NVLink joins NVIDIA GPUs only; drop the nvlink part");
  if (p.nvlink) {
    const NvLinkSpec& own = *p.nvlink;
    if (request->nvlink_version && *request->nvlink_version != own.version)
      ctx.fail(fmt::format("nvlink{} on {}", *request->nvlink_version, p.name),
               fmt::format("{} has NVLink {} ({} links): write nvlink or nvlink{}", p.name, own.version, own.links,
                           own.version));
    int links = request->nvlink_links.value_or(own.links);
    if (links > own.links)
      ctx.fail(fmt::format("{} NVLink links on {}", links, p.name),
               fmt::format("{} has {} NVLink {} links", p.name, own.links, own.version));
    auto link = catalog.nvlink(own.version, links);
    if (!link) ctx.fail(fmt::format("nvlink{} is not in links.json", own.version), "fix targets/links.json");
    // The card's own rate: GA102 bridges run slower links than A100 SXM.
    link->gbps_per_dir = own.gbps_per_dir * links / own.links;
    device.peer_link = link;
    return;
  }
  if (!device.custom)
    ctx.fail(fmt::format("NVLink on {}", p.name), fmt::format("{} has no NVLink connector", p.display_name));
  if (!request->nvlink_version)
    ctx.fail("NVLink without a version on a custom device", "write nvlink<version>, e.g. nvlink3");
  auto link = request->nvlink_links ? catalog.nvlink(*request->nvlink_version, *request->nvlink_links)
                                    : catalog.nvlink(*request->nvlink_version);
  if (!link) ctx.fail("unknown NVLink", link_grammar(catalog));
  device.peer_link = link;
}

}  // namespace llmc::targets::detail
