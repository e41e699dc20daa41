#include "llmc/targets/device_catalog.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "embedded_target_data.h"
#include "json_reader.h"
#include "name_similarity.h"

namespace llmc::targets {

bool is_matrix_shape_key(std::string_view key) {
  if (is_matrix_shape_class(key)) return true;
  const size_t x = key.find('x');
  if (x == std::string_view::npos) return false;
  auto number = [](std::string_view digits) {
    if (digits.empty() || digits.size() > 9 || digits[0] == '0') return false;
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return number(key.substr(0, x)) && number(key.substr(x + 1));
}

std::string_view vendor_name(Vendor vendor) {
  switch (vendor) {
    case Vendor::Nvidia: return "nvidia";
    case Vendor::Amd: return "amd";
    case Vendor::Cpu: return "cpu";
  }
  return "unknown";
}

std::optional<Vendor> parse_vendor(std::string_view name) {
  if (name == "nvidia") return Vendor::Nvidia;
  if (name == "amd") return Vendor::Amd;
  if (name == "cpu") return Vendor::Cpu;
  return std::nullopt;
}

namespace {

using Reader = detail::JsonReader<TargetDataError>;
using nlohmann::json;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kPiB = uint64_t{1} << 50;

json parse_json(const TargetDataFile& file) {
  try {
    return json::parse(file.text);
  } catch (const json::exception& e) {
    throw TargetDataError(fmt::format("{}: not valid JSON: {}", file.path, e.what()));
  }
}

void expect_schema(const Reader& root, std::string_view schema) {
  Reader field = root.field("schema");
  if (field.as_string() != schema) field.fail(fmt::format("expected \"{}\", got \"{}\"", schema, field.as_string()));
}

// Reads a `sources` object: every field in `required` has a non-empty source, and nothing else is
// listed (a stray key is usually a misspelled field name).
std::map<std::string, std::string> read_sources(const Reader& owner, const std::vector<std::string>& required) {
  Reader sources = owner.field("sources");
  sources.require_object();
  std::map<std::string, std::string> out;
  for (const auto& item : sources.raw().items()) {
    if (std::find(required.begin(), required.end(), item.key()) == required.end())
      sources.fail(fmt::format("source for '{}', which is not a sourced field here; expected sources for: {}",
                               item.key(), detail::join_names(required, ", ")));
    out[item.key()] = sources.field(item.key()).as_nonempty_string();
  }
  for (const std::string& name : required)
    if (!out.contains(name)) sources.fail(fmt::format("missing source for '{}': every number needs one", name));
  return out;
}

std::string file_stem(std::string_view path) {
  size_t slash = path.find_last_of('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.ends_with(".json")) name.remove_suffix(5);
  return std::string(name);
}

// Parses the digits of `text` as a small positive integer; nullopt for anything else.
std::optional<int> parse_small_int(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

const std::set<std::string_view> kMatrixUnits = {"none", "tensor-core-v1", "tensor-core-v2", "tensor-core-v3",
                                                 "tensor-core-v4", "mfma", "wmma"};

}  // namespace

// Builds a DeviceCatalog from the three kinds of files, in dependency order: links, chips, devices.
class CatalogLoader {
 public:
  static DeviceCatalog load(const TargetData& data) {
    DeviceCatalog catalog;
    load_links(catalog, data.links);
    load_chips(catalog, data.chips);
    std::set<std::string> names;
    for (const TargetDataFile& file : data.devices) {
      DeviceProfile profile = load_device(catalog, file);
      if (!names.insert(profile.name).second)
        throw TargetDataError(fmt::format("{}: name: profile '{}' is defined twice", file.path, profile.name));
      catalog.devices_.push_back(std::move(profile));
    }
    std::sort(catalog.devices_.begin(), catalog.devices_.end(),
              [](const DeviceProfile& a, const DeviceProfile& b) { return a.name < b.name; });
    check_device_references(catalog, data.chips.path);
    return catalog;
  }

 private:
  static void load_links(DeviceCatalog& catalog, const TargetDataFile& file) {
    json root_json = parse_json(file);
    Reader root(root_json, file.path);
    root.only_keys({"schema", "about", "pcie", "nvlink", "peer_to_peer"});
    expect_schema(root, "llmc.links/1");

    Reader pcie = root.field("pcie");
    pcie.only_keys({"widths", "generations"});
    Reader widths = pcie.field("widths");
    for (size_t i = 0; i < widths.size(); ++i) {
      int width = static_cast<int>(widths.element(i).as_int_in(1, 32));
      if (!catalog.pcie_widths_.empty() && width <= catalog.pcie_widths_.back())
        widths.element(i).fail("widths must be listed in increasing order");
      catalog.pcie_widths_.push_back(width);
    }
    if (catalog.pcie_widths_.empty()) widths.fail("expected at least one width");

    Reader generations = pcie.field("generations");
    for (size_t i = 0; i < generations.size(); ++i) {
      Reader g = generations.element(i);
      g.only_keys({"gen", "transfer_rate_gts", "encoding", "gbps_per_lane", "efficiency", "latency_us", "sources"});
      DeviceCatalog::PcieGeneration entry;
      entry.gen = static_cast<int>(g.field("gen").as_int_in(1, 16));
      if (entry.gen != static_cast<int>(i) + 1)
        g.field("gen").fail(fmt::format("expected generation {} (generations are listed in order from 1)", i + 1));
      g.field("transfer_rate_gts").as_number_in(0.1, 1000, "transfer rate");
      g.field("encoding").as_nonempty_string();
      entry.gbps_per_lane = g.field("gbps_per_lane").as_number_in(0.01, 100, "per-lane rate");
      entry.efficiency = g.field("efficiency").as_number_in(0.05, 1, "efficiency");
      entry.latency_us = g.field("latency_us").as_number_in(0, 1000, "latency");
      read_sources(g, {"gbps_per_lane", "efficiency", "latency_us"});
      catalog.pcie_table_.push_back(entry);
      catalog.pcie_generations_.push_back(entry.gen);
    }
    if (catalog.pcie_table_.empty()) generations.fail("expected at least one generation");

    Reader nvlink = root.field("nvlink");
    for (size_t i = 0; i < nvlink.size(); ++i) {
      Reader v = nvlink.element(i);
      v.only_keys({"version", "gbps_per_link_per_dir", "max_links", "efficiency", "latency_us", "example", "sources"});
      DeviceCatalog::NvLinkGeneration entry;
      entry.version = static_cast<int>(v.field("version").as_int_in(1, 16));
      if (entry.version != static_cast<int>(i) + 1)
        v.field("version").fail(fmt::format("expected version {} (versions are listed in order from 1)", i + 1));
      entry.gbps_per_link_per_dir = v.field("gbps_per_link_per_dir").as_number_in(0.1, 1000, "per-link rate");
      entry.max_links = static_cast<int>(v.field("max_links").as_int_in(1, 64));
      entry.efficiency = v.field("efficiency").as_number_in(0.05, 1, "efficiency");
      entry.latency_us = v.field("latency_us").as_number_in(0, 1000, "latency");
      v.field("example").as_nonempty_string();
      read_sources(v, {"gbps_per_link_per_dir", "efficiency", "latency_us"});
      catalog.nvlink_table_.push_back(entry);
      catalog.nvlink_versions_.push_back(entry.version);
    }

    Reader p2p = root.field("peer_to_peer");
    p2p.only_keys({"notes", "sources"});
    catalog.peer_to_peer_notes_ = p2p.field("notes").as_nonempty_string();
    read_sources(p2p, {"notes"});
  }

  static void load_chips(DeviceCatalog& catalog, const TargetDataFile& file) {
    json root_json = parse_json(file);
    Reader root(root_json, file.path);
    root.only_keys({"schema", "about", "chips"});
    expect_schema(root, "llmc.chips/1");
    Reader chips = root.field("chips");
    for (size_t i = 0; i < chips.size(); ++i) {
      Reader c = chips.element(i);
      c.only_keys({"arch", "vendor", "family", "warp_size", "has_int8_dot", "int8_dot_instruction",
                   "int8_dot_intrinsic", "fast_fp16", "max_shared_mem_per_block_bytes", "max_registers_per_thread",
                   "reference_device", "qmatvec", "sources"});
      ChipInfo chip;
      chip.arch = c.field("arch").as_nonempty_string();
      if (catalog.find_chip(chip.arch)) c.field("arch").fail(fmt::format("chip '{}' is defined twice", chip.arch));
      Reader vendor = c.field("vendor");
      auto parsed_vendor = parse_vendor(vendor.as_string());
      if (!parsed_vendor) vendor.fail_expected("\"nvidia\", \"amd\" or \"cpu\"");
      chip.vendor = *parsed_vendor;
      chip.family = c.field("family").as_nonempty_string();
      Reader warp = c.field("warp_size");
      chip.warp_size = static_cast<int>(warp.as_int_in(1, 64));
      if (chip.warp_size != 1 && chip.warp_size != 32 && chip.warp_size != 64) warp.fail("expected 1, 32 or 64");
      if ((chip.vendor == Vendor::Cpu) != (chip.warp_size == 1))
        warp.fail("a warp size of 1 is for CPUs only, and CPUs have warp size 1");
      chip.has_int8_dot = c.field("has_int8_dot").as_bool();
      chip.int8_dot_instruction = c.field("int8_dot_instruction").as_string();
      chip.int8_dot_intrinsic = c.field("int8_dot_intrinsic").as_string();
      if (chip.has_int8_dot != !chip.int8_dot_instruction.empty() ||
          chip.has_int8_dot != !chip.int8_dot_intrinsic.empty())
        c.field("has_int8_dot").fail(
            "int8_dot_instruction and int8_dot_intrinsic must be set exactly when has_int8_dot is true");
      chip.fast_fp16 = c.field("fast_fp16").as_bool();
      Reader shared = c.field("max_shared_mem_per_block_bytes");
      chip.max_shared_mem_per_block_bytes = shared.as_uint64_in(0, kMiB);
      if (chip.vendor != Vendor::Cpu && chip.max_shared_mem_per_block_bytes == 0)
        shared.fail("a GPU needs shared memory per block");
      chip.max_registers_per_thread = static_cast<int>(c.field("max_registers_per_thread").as_int_in(1, 1024));
      chip.reference_device = c.field("reference_device").as_nonempty_string();

      // The fields of a qmatvec entry, and what the chip's entry and a type's entry may hold besides.
      auto entry_keys = [](std::initializer_list<std::string_view> more) {
        std::vector<std::string_view> keys = {"rows_per_block", "warps_per_block", "vector_width", "unroll",
                                              "slices_per_lane", "group_warps",     "prefetch",
                                              "row_steps",      "min_blocks",      "rationale"};
        keys.insert(keys.end(), more);
        return keys;
      };
      Reader q = c.field("qmatvec");
      q.only_keys(entry_keys({"by_quant", "by_device"}));
      auto read_config = [&](Reader& r) {
        QMatVecConfig config;
        config.rows_per_block = static_cast<int>(r.field("rows_per_block").as_int_in(1, 64));
        config.warps_per_block = static_cast<int>(r.field("warps_per_block").as_int_in(1, 32));
        config.vector_width = static_cast<int>(r.field("vector_width").as_int_in(1, 16));
        config.unroll = static_cast<int>(r.field("unroll").as_int_in(1, 16));
        if (auto spl = r.optional_field("slices_per_lane")) config.slices_per_lane = static_cast<int>(spl->as_int_in(1, 16));
        config.rationale = r.field("rationale").as_nonempty_string();
        if (config.warps_per_block * chip.warp_size > 1024)
          r.field("warps_per_block").fail("more than 1024 threads per block");
        if (auto gw = r.optional_field("group_warps")) {
          config.group_warps = static_cast<int>(gw->as_int_in(1, 32));
          if (!group_warps_fit(config.rows_per_block, config.warps_per_block, config.group_warps))
            gw->fail("must divide warps_per_block into a number of groups that divides rows_per_block");
        }
        if (auto pf = r.optional_field("prefetch")) config.prefetch = static_cast<int>(pf->as_int_in(0, 1));
        if (auto rs = r.optional_field("row_steps")) config.row_steps = static_cast<int>(rs->as_int_in(1, kMaxRowSteps));
        if (auto mb = r.optional_field("min_blocks")) config.min_blocks = static_cast<int>(mb->as_int_in(0, kMaxMinBlocks));
        return config;
      };
      chip.qmatvec = read_config(q);
      auto read_by_quant = [&](Reader& by, std::map<std::string, QMatVecConfig, std::less<>>& out, bool exact_shapes) {
        // Keys are ggml type names ("q6_K"); a unit test checks them against the type table.
        by.require_object();
        for (const auto& item : by.raw().items()) {
          Reader one = by.field(item.key());
          one.only_keys(entry_keys({"by_shape"}));
          out.emplace(item.key(), read_config(one));
          // by_shape: the type's tuning for one matrix shape class or (device entries) one exact
          // shape, stored as "TYPE@CLASS" or "TYPE@ROWSxCOLS".
          if (auto shapes = one.optional_field("by_shape")) {
            shapes->require_object();
            for (const auto& shape : shapes->raw().items()) {
              Reader entry = shapes->field(shape.key());
              if (!is_matrix_shape_key(shape.key()))
                entry.fail("expected a shape class (tall, wide or square) or a matrix shape ROWSxCOLS");
              if (!is_matrix_shape_class(shape.key()) && !exact_shapes)
                entry.fail("exact matrix shapes are for device entries (by_device); a chip's by_quant takes shape classes");
              entry.only_keys(entry_keys({}));
              out.emplace(item.key() + "@" + shape.key(), read_config(entry));
            }
          }
        }
      };
      if (auto by = q.optional_field("by_quant")) read_by_quant(*by, chip.qmatvec_by_quant, false);
      if (auto by = q.optional_field("by_device")) {
        // Keys are device profile names of this arch (checked once the profiles are loaded).
        by->require_object();
        for (const auto& item : by->raw().items()) {
          Reader one = by->field(item.key());
          read_by_quant(one, chip.qmatvec_by_device[item.key()], true);
        }
      }

      chip.sources = read_sources(
          c, {"warp_size", "has_int8_dot", "fast_fp16", "max_shared_mem_per_block_bytes", "max_registers_per_thread"});
      catalog.chips_.push_back(std::move(chip));
    }
    if (catalog.chips_.empty()) chips.fail("expected at least one chip");
  }

  static DeviceProfile load_device(const DeviceCatalog& catalog, const TargetDataFile& file) {
    json root_json = parse_json(file);
    Reader r(root_json, file.path);
    r.only_keys({"name", "display_name", "vendor", "arch", "memory_type", "vram_bytes", "mem_bandwidth_gbps",
                 "fp32_tflops", "fp16_tflops", "int8_dot_tops", "matrix_units", "matrix_fp16_tflops", "sm_count",
                 "warp_size", "shared_mem_per_block_bytes", "pcie", "nvlink", "tdp_w", "cpu_cores", "cpu_threads",
                 "notes", "sources"});
    DeviceProfile p;
    p.name = r.field("name").as_nonempty_string();
    if (p.name != file_stem(file.path))
      r.field("name").fail(fmt::format("profile '{}' must live in a file named {}.json", p.name, p.name));
    for (char ch : p.name)
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
        r.field("name").fail("profile names use lowercase letters, digits and '-' only");
    p.display_name = r.field("display_name").as_nonempty_string();

    Reader vendor = r.field("vendor");
    auto parsed_vendor = parse_vendor(vendor.as_string());
    if (!parsed_vendor) vendor.fail_expected("\"nvidia\", \"amd\" or \"cpu\"");
    p.vendor = *parsed_vendor;

    Reader arch = r.field("arch");
    p.arch = arch.as_nonempty_string();
    const ChipInfo* chip = catalog.find_chip(p.arch);
    if (!chip) {
      std::vector<std::string> known;
      for (const ChipInfo& c : catalog.chips_) known.push_back(c.arch);
      arch.fail(fmt::format("unknown arch '{}'; expected one of the chips.json archs: {}", p.arch,
                            detail::join_names(known, ", ")));
    }
    if (chip->vendor != p.vendor)
      vendor.fail(fmt::format("chip {} is {}, not {}", p.arch, vendor_name(chip->vendor), vendor_name(p.vendor)));

    p.memory_type = r.field("memory_type").as_nonempty_string();
    p.vram_bytes = r.field("vram_bytes").as_uint64_in(kMiB, kPiB);
    p.mem_bandwidth_gbps = r.field("mem_bandwidth_gbps").as_number_in(0.01, 1e5, "bandwidth");
    p.fp32_tflops = r.field("fp32_tflops").as_number_in(0.001, 1e4, "FP32 rate");
    p.fp16_tflops = r.field("fp16_tflops").as_number_in(0, 1e4, "FP16 rate");

    Reader int8 = r.field("int8_dot_tops");
    p.int8_dot_tops = int8.as_number_in(0, 1e5, "int8 dot rate");
    if ((p.int8_dot_tops > 0) != chip->has_int8_dot)
      int8.fail(chip->has_int8_dot ? fmt::format("chip {} has {}: expected a positive rate", p.arch,
                                                 chip->int8_dot_instruction)
                                   : fmt::format("chip {} has no int8 dot instruction: expected 0", p.arch));

    Reader units = r.field("matrix_units");
    p.matrix_units = units.as_string();
    if (!kMatrixUnits.contains(p.matrix_units))
      units.fail_expected("one of none, tensor-core-v1..v4, mfma, wmma");
    Reader matrix = r.field("matrix_fp16_tflops");
    p.matrix_fp16_tflops = matrix.as_number_in(0, 1e5, "matrix FP16 rate");
    if ((p.matrix_units == "none") != (p.matrix_fp16_tflops == 0))
      matrix.fail("must be 0 exactly when matrix_units is \"none\"");

    p.sm_count = static_cast<int>(r.field("sm_count").as_int_in(1, 100000));
    Reader warp = r.field("warp_size");
    p.warp_size = static_cast<int>(warp.as_int_in(1, 64));
    if (p.warp_size != chip->warp_size)
      warp.fail(fmt::format("chip {} has warp size {} (chips.json)", p.arch, chip->warp_size));
    Reader shared = r.field("shared_mem_per_block_bytes");
    p.shared_mem_per_block_bytes = shared.as_uint64_in(0, kMiB);
    if (p.shared_mem_per_block_bytes != chip->max_shared_mem_per_block_bytes)
      shared.fail(fmt::format("chip {} allows {} bytes per block (chips.json)", p.arch,
                              chip->max_shared_mem_per_block_bytes));

    Reader pcie = r.field("pcie");
    pcie.only_keys({"gen", "width"});
    p.pcie.gen = static_cast<int>(pcie.field("gen").as_int_in(0, 16));
    p.pcie.width = static_cast<int>(pcie.field("width").as_int_in(0, 32));
    if (p.is_cpu()) {
      if (p.pcie != PcieLinkSpec{}) pcie.fail("the host has no PCIe link of its own: expected gen 0, width 0");
    } else if (!catalog.pcie(p.pcie.gen, p.pcie.width)) {
      pcie.fail(fmt::format("pcie{}x{} is not in links.json", p.pcie.gen, p.pcie.width));
    }

    std::vector<std::string> sourced = {"arch", "vram_bytes", "mem_bandwidth_gbps", "fp32_tflops", "fp16_tflops",
                                        "int8_dot_tops", "matrix_fp16_tflops", "sm_count", "warp_size",
                                        "shared_mem_per_block_bytes", "pcie"};
    if (auto nv = r.optional_field("nvlink")) {
      nv->only_keys({"version", "links", "gbps_per_dir"});
      if (p.vendor != Vendor::Nvidia) nv->fail("NVLink is for NVIDIA devices only");
      NvLinkSpec spec;
      spec.version = static_cast<int>(nv->field("version").as_int_in(1, 16));
      auto table = catalog.nvlink(spec.version);
      if (!table) nv->field("version").fail(fmt::format("nvlink{} is not in links.json", spec.version));
      spec.links = static_cast<int>(nv->field("links").as_int_in(1, table->width));
      spec.gbps_per_dir = nv->field("gbps_per_dir").as_number_in(0.1, 1e4, "NVLink rate");
      p.nvlink = spec;
      sourced.push_back("nvlink");
    }
    if (auto tdp = r.optional_field("tdp_w")) {
      p.tdp_w = tdp->as_number_in(1, 5000, "TDP");
      sourced.push_back("tdp_w");
    }
    if (p.is_cpu()) {
      p.cpu_cores = static_cast<int>(r.field("cpu_cores").as_int_in(1, 4096));
      p.cpu_threads = static_cast<int>(r.field("cpu_threads").as_int_in(p.cpu_cores, 8192));
      sourced.push_back("cpu_cores");
      sourced.push_back("cpu_threads");
    } else if (r.has("cpu_cores") || r.has("cpu_threads")) {
      r.fail("cpu_cores and cpu_threads belong to CPU profiles only");
    }
    p.notes = r.field("notes").as_nonempty_string();
    p.sources = read_sources(r, sourced);
    return p;
  }

  static void check_device_references(const DeviceCatalog& catalog, const std::string& chips_path) {
    for (size_t i = 0; i < catalog.chips_.size(); ++i) {
      const ChipInfo& chip = catalog.chips_[i];
      for (const auto& [name, configs] : chip.qmatvec_by_device) {
        const DeviceProfile* device = catalog.find_device(name);
        if (!device || device->arch != chip.arch)
          throw TargetDataError(fmt::format("{}: chips[{}].qmatvec.by_device: expected a device profile of arch {}, "
                                            "got '{}'",
                                            chips_path, i, chip.arch, name));
      }
      const DeviceProfile* device = catalog.find_device(chip.reference_device);
      if (!device || device->arch != chip.arch)
        throw TargetDataError(fmt::format("{}: chips[{}].reference_device: expected a device profile of arch {}, "
                                          "got '{}'",
                                          chips_path, i, chip.arch, chip.reference_device));
    }
  }
};

DeviceCatalog DeviceCatalog::from_data(const TargetData& data) { return CatalogLoader::load(data); }

namespace {

TargetData embedded_data() {
  TargetData data;
  for (const detail::EmbeddedTargetFile& file : detail::embedded_target_files()) {
    TargetDataFile entry{"targets/" + std::string(file.path), std::string(file.text)};
    if (file.path == "chips.json")
      data.chips = std::move(entry);
    else if (file.path == "links.json")
      data.links = std::move(entry);
    else
      data.devices.push_back(std::move(entry));
  }
  return data;
}

}  // namespace

DeviceCatalog DeviceCatalog::with_chips(TargetDataFile chips) {
  TargetData data = embedded_data();
  data.chips = std::move(chips);
  return from_data(data);
}

const DeviceCatalog& DeviceCatalog::builtin() {
  static const DeviceCatalog catalog = from_data(embedded_data());
  return catalog;
}

const DeviceProfile* DeviceCatalog::find_device(std::string_view name) const {
  for (const DeviceProfile& device : devices_)
    if (device.name == name) return &device;
  return nullptr;
}

std::vector<std::string> DeviceCatalog::similar_device_names(std::string_view name, size_t max) const {
  std::vector<std::string> names;
  for (const DeviceProfile& device : devices_) names.push_back(device.name);
  return detail::closest_names(name, names, max);
}

const ChipInfo* DeviceCatalog::find_chip(std::string_view arch) const {
  for (const ChipInfo& chip : chips_)
    if (chip.arch == arch) return &chip;
  return nullptr;
}

std::optional<LinkProfile> DeviceCatalog::pcie(int gen, int width) const {
  if (std::find(pcie_widths_.begin(), pcie_widths_.end(), width) == pcie_widths_.end()) return std::nullopt;
  for (const PcieGeneration& g : pcie_table_) {
    if (g.gen != gen) continue;
    return LinkProfile{pcie_link_name(gen, width), LinkKind::Pcie, gen, width, g.gbps_per_lane * width,
                       g.efficiency, g.latency_us};
  }
  return std::nullopt;
}

std::optional<LinkProfile> DeviceCatalog::nvlink(int version) const {
  for (const NvLinkGeneration& v : nvlink_table_)
    if (v.version == version) return nvlink(version, v.max_links);
  return std::nullopt;
}

std::optional<LinkProfile> DeviceCatalog::nvlink(int version, int links) const {
  for (const NvLinkGeneration& v : nvlink_table_) {
    if (v.version != version) continue;
    if (links < 1 || links > v.max_links) return std::nullopt;
    std::string name = links == v.max_links ? fmt::format("nvlink{}", version)
                                            : fmt::format("nvlink{}x{}", version, links);
    return LinkProfile{std::move(name), LinkKind::NvLink, version, links, v.gbps_per_link_per_dir * links,
                       v.efficiency, v.latency_us};
  }
  return std::nullopt;
}

std::optional<LinkProfile> DeviceCatalog::find_link(std::string_view name) const {
  auto split_x = [](std::string_view rest) -> std::pair<std::string_view, std::optional<std::string_view>> {
    size_t x = rest.find('x');
    if (x == std::string_view::npos) return {rest, std::nullopt};
    return {rest.substr(0, x), rest.substr(x + 1)};
  };
  if (name.starts_with("pcie")) {
    auto [gen_text, width_text] = split_x(name.substr(4));
    if (!width_text) return std::nullopt;
    auto gen = parse_small_int(gen_text);
    auto width = parse_small_int(*width_text);
    if (!gen || !width) return std::nullopt;
    return pcie(*gen, *width);
  }
  if (name.starts_with("nvlink")) {
    auto [version_text, links_text] = split_x(name.substr(6));
    auto version = parse_small_int(version_text);
    if (!version) return std::nullopt;
    if (!links_text) return nvlink(*version);
    auto links = parse_small_int(*links_text);
    if (!links) return std::nullopt;
    return nvlink(*version, *links);
  }
  return std::nullopt;
}

LinkProfile DeviceCatalog::host_link() const { return LinkProfile{"host", LinkKind::Host, 0, 0, 0, 1, 0}; }

std::vector<LinkProfile> DeviceCatalog::pcie_links() const {
  std::vector<LinkProfile> out;
  for (int gen : pcie_generations_)
    for (int width : pcie_widths_) out.push_back(*pcie(gen, width));
  return out;
}

}  // namespace llmc::targets
