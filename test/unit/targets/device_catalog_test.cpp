#include "llmc/targets/device_catalog.h"
#include "llmc/ggml_types.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace llmc::targets {
namespace {

using nlohmann::json;

const DeviceCatalog& catalog() { return DeviceCatalog::builtin(); }

const std::vector<std::string> kRequiredProfiles = {
    "p104-100", "p106-100", "p102-100", "gtx-1080", "gtx-1080-ti", "p40", "p100", "v100", "v100-32gb", "t4",
    "rtx-2080-ti", "rtx-2080-ti-22g", "rtx-3060-12g", "rtx-3090", "rtx-4090", "a100-40g", "a100-80g", "h100",
    "h100-pcie", "h200", "cmp-40hx", "cmp-90hx", "mi25", "mi50", "mi50-32g", "mi60", "radeon-vii", "mi100",
    "mi210", "rx-6800-xt", "rx-6900-xt", "rx-7900-xtx", "cpu"};

const std::vector<std::string> kRequiredChips = {"sm_60",  "sm_61",  "sm_70",  "sm_75",   "sm_80",
                                                 "sm_86",  "sm_89",  "sm_90",  "gfx900",  "gfx906",
                                                 "gfx908", "gfx90a", "gfx1030", "gfx1100", "x86-64"};

TEST(DeviceCatalog, BuiltinHasEveryRequiredProfile) {
  for (const std::string& name : kRequiredProfiles) EXPECT_NE(catalog().find_device(name), nullptr) << name;
  EXPECT_EQ(catalog().find_device("p104"), nullptr);
}

TEST(DeviceCatalog, BuiltinHasEveryRequiredChip) {
  for (const std::string& arch : kRequiredChips) EXPECT_NE(catalog().find_chip(arch), nullptr) << arch;
  EXPECT_EQ(catalog().find_chip("sm_62"), nullptr);
}

TEST(DeviceCatalog, DevicesAreSortedAndUnique) {
  const auto& devices = catalog().devices();
  for (size_t i = 1; i < devices.size(); ++i) EXPECT_LT(devices[i - 1].name, devices[i].name);
}

class EveryProfile : public testing::TestWithParam<std::string> {};

TEST_P(EveryProfile, IsPlausibleAndSourced) {
  const DeviceProfile* p = catalog().find_device(GetParam());
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->display_name.empty());
  EXPECT_FALSE(p->notes.empty());
  EXPECT_GT(p->vram_bytes, 0u);
  EXPECT_GT(p->mem_bandwidth_gbps, 0);
  EXPECT_GT(p->fp32_tflops, 0);
  EXPECT_GT(p->sm_count, 0);

  const ChipInfo* chip = catalog().find_chip(p->arch);
  ASSERT_NE(chip, nullptr) << p->arch;
  EXPECT_EQ(chip->vendor, p->vendor);
  EXPECT_EQ(chip->warp_size, p->warp_size);
  EXPECT_EQ(chip->max_shared_mem_per_block_bytes, p->shared_mem_per_block_bytes);
  EXPECT_EQ(chip->has_int8_dot, p->int8_dot_tops > 0);
  EXPECT_EQ(p->matrix_units == "none", p->matrix_fp16_tflops == 0);

  for (const char* field : {"arch", "vram_bytes", "mem_bandwidth_gbps", "fp32_tflops", "fp16_tflops", "int8_dot_tops",
                            "matrix_fp16_tflops", "sm_count", "warp_size", "shared_mem_per_block_bytes", "pcie"}) {
    auto it = p->sources.find(field);
    ASSERT_NE(it, p->sources.end()) << field;
    EXPECT_FALSE(it->second.empty()) << field;
  }
  EXPECT_EQ(p->tdp_w.has_value(), p->sources.contains("tdp_w"));
  EXPECT_EQ(p->nvlink.has_value(), p->sources.contains("nvlink"));

  if (p->is_cpu()) {
    EXPECT_EQ(p->pcie, PcieLinkSpec{});
    EXPECT_GT(p->cpu_cores, 0);
  } else {
    EXPECT_TRUE(catalog().pcie(p->pcie.gen, p->pcie.width).has_value()) << p->pcie.gen << "x" << p->pcie.width;
    // Memory bandwidth of any GPU here beats its host link by far; a swapped unit would not.
    EXPECT_GT(p->mem_bandwidth_gbps, 100);
  }
}

std::vector<std::string> builtin_profile_names() {
  std::vector<std::string> names;
  for (const DeviceProfile& p : DeviceCatalog::builtin().devices()) names.push_back(p.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Builtin, EveryProfile, testing::ValuesIn(builtin_profile_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(DeviceCatalog, PascalMiningCardFacts) {
  const DeviceProfile& p = *catalog().find_device("p104-100");
  EXPECT_EQ(p.arch, "sm_61");
  EXPECT_EQ(p.vendor, Vendor::Nvidia);
  EXPECT_EQ(p.vram_bytes, uint64_t{8} << 30);
  EXPECT_NEAR(p.mem_bandwidth_gbps, 320, 1);
  EXPECT_EQ(p.pcie, (PcieLinkSpec{1, 4}));
  EXPECT_LT(p.fp16_tflops, p.fp32_tflops / 32);  // 1/64 rate FP16
  EXPECT_GT(p.int8_dot_tops, p.fp32_tflops);      // dp4a
  EXPECT_EQ(p.matrix_units, "none");
  EXPECT_EQ(catalog().find_chip("sm_61")->int8_dot_instruction, "dp4a");
  EXPECT_FALSE(catalog().find_chip("sm_61")->fast_fp16);
}

TEST(DeviceCatalog, P100HasFastFp16ButNoDp4a) {
  const DeviceProfile& p = *catalog().find_device("p100");
  EXPECT_EQ(p.arch, "sm_60");
  EXPECT_GT(p.fp16_tflops, p.fp32_tflops);
  EXPECT_EQ(p.int8_dot_tops, 0);
  EXPECT_FALSE(catalog().find_chip("sm_60")->has_int8_dot);
}

TEST(DeviceCatalog, AmdChipFacts) {
  const ChipInfo& gfx906 = *catalog().find_chip("gfx906");
  EXPECT_EQ(gfx906.warp_size, 64);
  EXPECT_EQ(gfx906.int8_dot_instruction, "v_dot4_i32_i8");
  EXPECT_EQ(gfx906.int8_dot_intrinsic, "llvm.amdgcn.sdot4");
  EXPECT_FALSE(catalog().find_chip("gfx900")->has_int8_dot);
  EXPECT_EQ(catalog().find_chip("gfx1030")->warp_size, 32);
  EXPECT_EQ(catalog().find_chip("gfx1100")->warp_size, 32);
  EXPECT_EQ(catalog().find_device("mi25")->int8_dot_tops, 0);
  EXPECT_EQ(catalog().find_device("mi50-32g")->vram_bytes, 2 * catalog().find_device("mi50")->vram_bytes);
}

TEST(DeviceCatalog, ModdedCardsAndCpuProfile) {
  EXPECT_EQ(catalog().find_device("rtx-2080-ti-22g")->vram_bytes, 2 * catalog().find_device("rtx-2080-ti")->vram_bytes);
  const DeviceProfile& cpu = *catalog().find_device("cpu");
  EXPECT_EQ(cpu.vendor, Vendor::Cpu);
  EXPECT_EQ(cpu.arch, "x86-64");
  EXPECT_EQ(cpu.vram_bytes, uint64_t{64} << 30);
  EXPECT_DOUBLE_EQ(cpu.mem_bandwidth_gbps, 40);
  EXPECT_GT(cpu.cpu_threads, 0);
}

TEST(DeviceCatalog, QMatVecDefaultsFollowTheChip) {
  for (const ChipInfo& chip : catalog().chips()) {
    SCOPED_TRACE(chip.arch);
    EXPECT_FALSE(chip.qmatvec.rationale.empty());
    EXPECT_GE(chip.qmatvec.rows_per_block, 1);
    EXPECT_LE(chip.qmatvec.warps_per_block * chip.warp_size, 1024);
    const DeviceProfile* reference = catalog().find_device(chip.reference_device);
    ASSERT_NE(reference, nullptr);
    EXPECT_EQ(reference->arch, chip.arch);
  }
  EXPECT_EQ(catalog().find_chip("sm_61")->qmatvec.warps_per_block, 4);
  EXPECT_EQ(catalog().find_chip("sm_61")->qmatvec.rows_per_block, 1);
  EXPECT_EQ(catalog().find_chip("gfx906")->qmatvec.warps_per_block, 2);
}

// "q4_0@tall" -> ("q4_0", "tall"); "q4_0" -> ("q4_0", "").
std::pair<std::string, std::string> split_shape(const std::string& key) {
  const size_t at = key.find('@');
  if (at == std::string::npos) return {key, ""};
  return {key.substr(0, at), key.substr(at + 1)};
}

TEST(DeviceCatalog, QMatVecPerTypeDefaultsNameRealTypes) {
  size_t overrides = 0;
  for (const ChipInfo& chip : catalog().chips()) {
    for (const auto& [key, config] : chip.qmatvec_by_quant) {
      SCOPED_TRACE(chip.arch + " " + key);
      const auto [quant, shape] = split_shape(key);
      EXPECT_TRUE(llmc::ggml_type_from_name(quant).has_value());
      EXPECT_FALSE(config.rationale.empty());
      EXPECT_LE(config.warps_per_block * chip.warp_size, 1024);
      if (shape.empty()) {
        EXPECT_EQ(&chip.qmatvec_for(quant), &config);
      } else {
        EXPECT_EQ(&chip.qmatvec_for(quant, "", shape), &config);
      }
      ++overrides;
    }
    // Types without an entry take the chip's default.
    EXPECT_EQ(&chip.qmatvec_for("no-such-type"), &chip.qmatvec);
  }
  EXPECT_GE(overrides, 1u);
  EXPECT_EQ(catalog().find_chip("sm_90")->qmatvec_for("q6_K").warps_per_block, 2);
  EXPECT_EQ(catalog().find_chip("sm_90")->qmatvec_for("q4_0").warps_per_block, 4);
}

TEST(DeviceCatalog, QMatVecPerDeviceEntriesNameRealDevicesAndTypes) {
  size_t entries = 0;
  for (const ChipInfo& chip : catalog().chips()) {
    for (const auto& [device, configs] : chip.qmatvec_by_device) {
      const DeviceProfile* profile = catalog().find_device(device);
      ASSERT_NE(profile, nullptr) << device;
      EXPECT_EQ(profile->arch, chip.arch);
      for (const auto& [key, config] : configs) {
        SCOPED_TRACE(chip.arch + " " + device + " " + key);
        const auto [quant, shape] = split_shape(key);
        EXPECT_TRUE(llmc::ggml_type_from_name(quant).has_value());
        EXPECT_FALSE(config.rationale.empty());
        if (shape.empty()) {
          EXPECT_EQ(&chip.qmatvec_for(quant, device), &config);
        } else {
          EXPECT_TRUE(is_matrix_shape_key(shape)) << shape;
          if (shape == "tall" || shape == "wide" || shape == "square") {
            EXPECT_EQ(&chip.qmatvec_for(quant, device, shape), &config);
          } else {
            const size_t x = shape.find('x');
            const int64_t rows = std::stoll(std::string(shape.substr(0, x)));
            const int64_t cols = std::stoll(std::string(shape.substr(x + 1)));
            EXPECT_EQ(&chip.qmatvec_for_matrix(quant, device, rows, cols), &config);
          }
        }
        ++entries;
      }
      // Types the device has no entry for fall back to the chip's.
      EXPECT_EQ(&chip.qmatvec_for("no-such-type", device), &chip.qmatvec);
    }
  }
  EXPECT_GE(entries, 1u);
  // The H200's entries (written by llmc tune from test/data/kernel-perf/h200-sweep-{2,3}.json):
  // one per type, plus another geometry for wide matrices where that gained; the H100 takes the
  // chip's.
  const ChipInfo& sm90 = *catalog().find_chip("sm_90");
  EXPECT_EQ(matrix_shape_class(14336, 4096), "tall");
  EXPECT_EQ(matrix_shape_class(4096, 14336), "wide");
  EXPECT_EQ(matrix_shape_class(4096, 4096), "square");
  struct Expected {
    const char* quant;
    int rows, warps, unroll;           // the type's entry
    int wide_rows, wide_warps;         // its wide entry; 0: none
    int wide_group_warps;              // warps per row group of the wide entry; 0: gcd(rows, warps) groups
  };
  for (const Expected& e : {Expected{"q4_0", 2, 5, 1, 2, 2, 2}, Expected{"q4_K", 2, 1, 1, 0, 0, 0},
                            Expected{"q6_K", 2, 1, 4, 4, 2, 2}, Expected{"q8_0", 1, 4, 4, 2, 7, 0}}) {
    SCOPED_TRACE(e.quant);
    const QMatVecConfig& entry = sm90.qmatvec_for(e.quant, "h200");
    EXPECT_NE(&entry, &sm90.qmatvec_for(e.quant));
    EXPECT_EQ(entry.rows_per_block, e.rows);
    EXPECT_EQ(entry.warps_per_block, e.warps);
    EXPECT_EQ(entry.unroll, e.unroll);
    EXPECT_EQ(&sm90.qmatvec_for(e.quant, "h200", "tall"), &entry);
    EXPECT_EQ(&sm90.qmatvec_for(e.quant, "h200", "square"), &entry);
    EXPECT_EQ(entry.min_blocks, 0);
    const QMatVecConfig& wide = sm90.qmatvec_for(e.quant, "h200", "wide");
    if (e.wide_rows == 0) {
      EXPECT_EQ(&wide, &entry);
    } else {
      EXPECT_NE(&wide, &entry);
      EXPECT_EQ(wide.rows_per_block, e.wide_rows);
      EXPECT_EQ(wide.warps_per_block, e.wide_warps);
      EXPECT_EQ(wide.group_warps, e.wide_group_warps);
    }
    EXPECT_EQ(&sm90.qmatvec_for(e.quant, "h100", "wide"), &sm90.qmatvec_for(e.quant));
  }
  // Exact shapes (llmc tune --exact): Q4_0 at 4096x14336 takes seven warps for two rows; the other
  // wide Q4_0 matrix takes the class's entry, and another device the chip's.
  EXPECT_EQ(sm90.qmatvec_for_matrix("q4_0", "h200", 4096, 14336).warps_per_block, 7);
  EXPECT_EQ(&sm90.qmatvec_for_matrix("q4_0", "h200", 5120, 17408), &sm90.qmatvec_for("q4_0", "h200", "wide"));
  EXPECT_EQ(&sm90.qmatvec_for_matrix("q4_0", "h200", 14336, 4096), &sm90.qmatvec_for("q4_0", "h200"));
  EXPECT_EQ(&sm90.qmatvec_for_matrix("q4_0", "h100", 4096, 14336), &sm90.qmatvec_for("q4_0"));
  EXPECT_EQ(sm90.qmatvec_for_matrix("q6_K", "h200", 4096, 14336).rows_per_block, 4);
  // Q6_K at 14336x4096: four rows shared by two warps, registers capped for 12 resident
  // workgroups; the tall output matrices (128256x4096, 151936x5120) take the type's entry.
  const QMatVecConfig& capped = sm90.qmatvec_for_matrix("q6_K", "h200", 14336, 4096);
  EXPECT_EQ(capped.rows_per_block, 4);
  EXPECT_EQ(capped.group_warps, 2);
  EXPECT_EQ(capped.min_blocks, 12);
  EXPECT_EQ(&sm90.qmatvec_for_matrix("q6_K", "h200", 151936, 5120), &sm90.qmatvec_for("q6_K", "h200"));
  // Q4_K's tall 14336x4096: three groups of two warps, each sharing two of a workgroup's six rows.
  const QMatVecConfig& tall = sm90.qmatvec_for_matrix("q4_K", "h200", 14336, 4096);
  EXPECT_EQ(tall.rows_per_block, 6);
  EXPECT_EQ(tall.warps_per_block, 6);
  EXPECT_EQ(tall.group_warps, 2);
}

TEST(DeviceCatalog, MatrixShapeKeys) {
  EXPECT_EQ(matrix_shape_key(4096, 14336), "4096x14336");
  for (const char* key : {"tall", "wide", "square", "4096x14336", "1x1", "128256x4096"})
    EXPECT_TRUE(is_matrix_shape_key(key)) << key;
  for (const char* key : {"", "x", "Tall", "4096", "4096x", "x4096", "0x4096", "04096x1", "4096X14336", "4096x14336x1",
                          "-1x2", "4096 x 14336", "1234567890x1"})
    EXPECT_FALSE(is_matrix_shape_key(key)) << key;
}

TEST(DeviceCatalog, PcieTable) {
  const double per_lane[] = {0.25, 0.5, 0.985, 1.969, 3.938};
  for (int gen = 1; gen <= 5; ++gen) {
    for (int width : {1, 4, 8, 16}) {
      auto link = catalog().pcie(gen, width);
      ASSERT_TRUE(link) << gen << "x" << width;
      EXPECT_EQ(link->kind, LinkKind::Pcie);
      EXPECT_EQ(link->name, "pcie" + std::to_string(gen) + "x" + std::to_string(width));
      EXPECT_NEAR(link->gbps_per_dir, per_lane[gen - 1] * width, 1e-9);
      EXPECT_GT(link->efficiency, 0.5);
      EXPECT_LE(link->efficiency, 1.0);
      EXPECT_GT(link->latency_us, 0);
    }
  }
  EXPECT_FALSE(catalog().pcie(6, 16));
  EXPECT_FALSE(catalog().pcie(0, 16));
  EXPECT_FALSE(catalog().pcie(3, 3));
  EXPECT_EQ(catalog().pcie_links().size(), catalog().pcie_generations().size() * catalog().pcie_widths().size());
  EXPECT_FALSE(catalog().peer_to_peer_notes().empty());
}

TEST(DeviceCatalog, NvLinkTable) {
  const double per_dir[] = {80, 150, 300, 450};
  for (int version = 1; version <= 4; ++version) {
    auto link = catalog().nvlink(version);
    ASSERT_TRUE(link) << version;
    EXPECT_EQ(link->kind, LinkKind::NvLink);
    EXPECT_EQ(link->name, "nvlink" + std::to_string(version));
    EXPECT_DOUBLE_EQ(link->gbps_per_dir, per_dir[version - 1]);
  }
  EXPECT_FALSE(catalog().nvlink(5));
  auto four = catalog().nvlink(3, 4);
  ASSERT_TRUE(four);
  EXPECT_EQ(four->name, "nvlink3x4");
  EXPECT_DOUBLE_EQ(four->gbps_per_dir, 100);
  EXPECT_FALSE(catalog().nvlink(3, 13));
  EXPECT_FALSE(catalog().nvlink(3, 0));
}

TEST(DeviceCatalog, FindLinkByName) {
  EXPECT_EQ(catalog().find_link("pcie1x4")->gbps_per_dir, 1.0);
  EXPECT_EQ(catalog().find_link("nvlink2")->width, 6);
  EXPECT_EQ(catalog().find_link("nvlink2x2")->width, 2);
  for (const char* bad : {"", "pcie", "pcie3", "pcie3x", "pciex16", "pcie-1x4", "pcie+1x4", "pcie3x16x", "pcie 3x16",
                          "pcie99999999999x1", "pcie9x3", "nvlink0", "nvlink3x0", "nvlink3x13", "nvlinkx", "ethernet"})
    EXPECT_FALSE(catalog().find_link(bad)) << bad;
}

TEST(LinkProfile, TransferTimes) {
  LinkProfile gen1x4 = *catalog().pcie(1, 4);
  const double gib = 1 << 30;
  EXPECT_NEAR(gen1x4.transfer_seconds(1 << 30), gen1x4.latency_us * 1e-6 + gib / (0.8e9), 1e-9);
  LinkProfile gen3x16 = *catalog().pcie(3, 16);
  EXPECT_LT(gen3x16.transfer_seconds(1 << 20), gen1x4.transfer_seconds(1 << 20));
  EXPECT_EQ(catalog().host_link().transfer_seconds(1 << 30), 0);
  EXPECT_DOUBLE_EQ(host_staged_copy_seconds(gen1x4, gen3x16, 4096),
                   gen1x4.transfer_seconds(4096) + gen3x16.transfer_seconds(4096));
  EXPECT_EQ(pcie_link_name(4, 8), "pcie4x8");
}

TEST(DeviceCatalog, VendorNames) {
  for (Vendor v : {Vendor::Nvidia, Vendor::Amd, Vendor::Cpu}) EXPECT_EQ(parse_vendor(vendor_name(v)), v);
  EXPECT_FALSE(parse_vendor("intel"));
}

// --- Building catalogs from (broken copies of) the data files --------------------------------------

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TargetData data_from_disk() {
  const std::filesystem::path dir = LLMC_TARGETS_DATA_DIR;
  TargetData data;
  data.chips = {"chips.json", read_file(dir / "chips.json")};
  data.links = {"links.json", read_file(dir / "links.json")};
  for (const auto& entry : std::filesystem::directory_iterator(dir / "devices"))
    data.devices.push_back({"devices/" + entry.path().filename().string(), read_file(entry.path())});
  return data;
}

TargetDataFile& device_file(TargetData& data, const std::string& name) {
  for (TargetDataFile& file : data.devices)
    if (file.path == "devices/" + name + ".json") return file;
  throw std::runtime_error("test data has no " + name);
}

void edit(TargetDataFile& file, const std::function<void(json&)>& change) {
  json j = json::parse(file.text);
  change(j);
  file.text = j.dump(2);
}

std::string load_error(const TargetData& data) {
  try {
    DeviceCatalog::from_data(data);
  } catch (const TargetDataError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DeviceCatalogData, EmbeddedDataMatchesTheFiles) {
  DeviceCatalog from_disk = DeviceCatalog::from_data(data_from_disk());
  ASSERT_EQ(from_disk.devices().size(), catalog().devices().size());
  for (size_t i = 0; i < from_disk.devices().size(); ++i) {
    EXPECT_EQ(from_disk.devices()[i].name, catalog().devices()[i].name);
    EXPECT_EQ(from_disk.devices()[i].vram_bytes, catalog().devices()[i].vram_bytes);
    EXPECT_EQ(from_disk.devices()[i].sources, catalog().devices()[i].sources);
  }
  EXPECT_EQ(from_disk.chips().size(), catalog().chips().size());
}

TEST(DeviceCatalogData, MissingSourceIsAnError) {
  TargetData data = data_from_disk();
  edit(device_file(data, "p104-100"), [](json& j) { j["sources"].erase("fp32_tflops"); });
  std::string error = load_error(data);
  EXPECT_NE(error.find("devices/p104-100.json: sources: missing source for 'fp32_tflops'"), std::string::npos)
      << error;
}

TEST(DeviceCatalogData, EmptySourceIsAnError) {
  TargetData data = data_from_disk();
  edit(device_file(data, "mi50"), [](json& j) { j["sources"]["vram_bytes"] = ""; });
  std::string error = load_error(data);
  EXPECT_NE(error.find("devices/mi50.json: sources.vram_bytes: expected a non-empty string"), std::string::npos)
      << error;
}

TEST(DeviceCatalogData, EveryInconsistencyNamesFileAndField) {
  struct Case {
    std::string device;
    std::function<void(json&)> change;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"p40", [](json& j) { j["arch"] = "sm_62"; }, "devices/p40.json: arch: unknown arch 'sm_62'"},
      {"p40", [](json& j) { j["warp_size"] = 64; }, "devices/p40.json: warp_size: chip sm_61 has warp size 32"},
      {"p40", [](json& j) { j["name"] = "p41"; }, "devices/p40.json: name: profile 'p41' must live in a file named"},
      {"p40", [](json& j) { j["fp32_tflop"] = 1; }, "devices/p40.json: top level: unknown field 'fp32_tflop'"},
      {"p40", [](json& j) { j.erase("vram_bytes"); }, "devices/p40.json: top level: missing required field 'vram_bytes'"},
      {"p40", [](json& j) { j["vram_bytes"] = "24GiB"; }, "devices/p40.json: vram_bytes: expected an integer"},
      {"p40", [](json& j) { j["vram_bytes"] = -1; }, "devices/p40.json: vram_bytes: expected an integer"},
      {"p40", [](json& j) { j["mem_bandwidth_gbps"] = 0; }, "devices/p40.json: mem_bandwidth_gbps: bandwidth 0 is out of range"},
      {"p40", [](json& j) { j["vendor"] = "amd"; }, "devices/p40.json: vendor: chip sm_61 is nvidia, not amd"},
      {"p40", [](json& j) { j["vendor"] = "intel"; }, "devices/p40.json: vendor: expected \"nvidia\", \"amd\" or \"cpu\""},
      {"p40", [](json& j) { j["pcie"]["gen"] = 7; }, "devices/p40.json: pcie: pcie7x16 is not in links.json"},
      {"p40", [](json& j) { j["matrix_fp16_tflops"] = 10; }, "devices/p40.json: matrix_fp16_tflops: must be 0 exactly"},
      {"p40", [](json& j) { j["int8_dot_tops"] = 0; }, "devices/p40.json: int8_dot_tops: chip sm_61 has dp4a"},
      {"mi25", [](json& j) { j["int8_dot_tops"] = 10; }, "devices/mi25.json: int8_dot_tops: chip gfx900 has no int8 dot"},
      {"mi50", [](json& j) { j["nvlink"] = {{"version", 2}, {"links", 2}, {"gbps_per_dir", 50}}; },
       "devices/mi50.json: nvlink: NVLink is for NVIDIA devices only"},
      {"p40", [](json& j) { j["tdp_w"] = 250; j["sources"].erase("tdp_w"); }, "missing source for 'tdp_w'"},
      {"p40", [](json& j) { j["sources"]["fp64_tflops"] = "x"; }, "source for 'fp64_tflops', which is not a sourced field"},
      {"cpu", [](json& j) { j.erase("cpu_cores"); }, "devices/cpu.json: top level: missing required field 'cpu_cores'"},
  };
  for (const Case& c : cases) {
    TargetData data = data_from_disk();
    edit(device_file(data, c.device), c.change);
    std::string error = load_error(data);
    EXPECT_NE(error.find(c.expected), std::string::npos) << "expected: " << c.expected << "\ngot: " << error;
  }
}

TEST(DeviceCatalogData, BrokenChipsAndLinks) {
  auto sm90 = [](json& j) -> json& {
    for (json& chip : j["chips"])
      if (chip["arch"] == "sm_90") return chip["qmatvec"];
    throw std::runtime_error("test data has no sm_90");
  };
  {
    // A by_shape key is a shape class or, in a device entry, ROWSxCOLS.
    TargetData data = data_from_disk();
    edit(data.chips, [&](json& j) { sm90(j)["by_device"]["h200"]["q4_0"]["by_shape"]["long"] = sm90(j)["by_device"]["h200"]["q4_0"]["by_shape"]["wide"]; });
    const std::string error = load_error(data);
    EXPECT_NE(error.find("by_device.h200.q4_0.by_shape.long: expected a shape class (tall, wide or square) or a matrix shape ROWSxCOLS"),
              std::string::npos) << error;
  }
  {
    // group_warps must divide the warps into groups that divide the rows: 2 rows, 4 warps, 1 per group.
    TargetData data = data_from_disk();
    edit(data.chips, [&](json& j) {
      json& wide = sm90(j)["by_device"]["h200"]["q4_0"]["by_shape"]["wide"];
      wide["warps_per_block"] = 4;
      wide["group_warps"] = 1;
    });
    const std::string error = load_error(data);
    EXPECT_NE(error.find("by_device.h200.q4_0.by_shape.wide.group_warps: must divide warps_per_block into a number of "
                         "groups that divides rows_per_block"),
              std::string::npos)
        << error;
  }
  {
    // prefetch is 0 or 1; a valid one is read.
    TargetData data = data_from_disk();
    edit(data.chips, [&](json& j) { sm90(j)["by_device"]["h200"]["q4_0"]["by_shape"]["wide"]["prefetch"] = 2; });
    const std::string error = load_error(data);
    EXPECT_NE(error.find("by_device.h200.q4_0.by_shape.wide.prefetch"), std::string::npos) << error;
    edit(data.chips, [&](json& j) { sm90(j)["by_device"]["h200"]["q4_0"]["by_shape"]["wide"]["prefetch"] = 1; });
    const DeviceCatalog catalog = DeviceCatalog::from_data(data);
    const ChipInfo* chip = catalog.find_chip("sm_90");
    ASSERT_NE(chip, nullptr);
    EXPECT_EQ(chip->qmatvec_for("q4_0", "h200", "wide").prefetch, 1);
    EXPECT_EQ(chip->qmatvec_for("q4_0", "h200").prefetch, 0);
  }
  {
    // min_blocks is 0..32; a valid one is read.
    TargetData data = data_from_disk();
    edit(data.chips, [&](json& j) { sm90(j)["by_device"]["h200"]["q6_K"]["min_blocks"] = 33; });
    const std::string error = load_error(data);
    EXPECT_NE(error.find("by_device.h200.q6_K.min_blocks"), std::string::npos) << error;
    edit(data.chips, [&](json& j) { sm90(j)["by_device"]["h200"]["q6_K"]["min_blocks"] = 16; });
    const DeviceCatalog catalog = DeviceCatalog::from_data(data);
    const ChipInfo* chip = catalog.find_chip("sm_90");
    ASSERT_NE(chip, nullptr);
    EXPECT_EQ(chip->qmatvec_for("q6_K", "h200").min_blocks, 16);
    EXPECT_EQ(chip->qmatvec_for("q6_K").min_blocks, 0);
  }
  {
    TargetData data = data_from_disk();
    edit(data.chips, [&](json& j) {
      sm90(j)["by_quant"]["q8_0"]["by_shape"] = {{"4096x4096", sm90(j)["by_quant"]["q8_0"]}};
      sm90(j)["by_quant"]["q8_0"]["by_shape"]["4096x4096"].erase("by_shape");
    });
    const std::string error = load_error(data);
    EXPECT_NE(error.find("by_quant.q8_0.by_shape.4096x4096: exact matrix shapes are for device entries"), std::string::npos)
        << error;
  }
  {
    TargetData data = data_from_disk();
    edit(data.chips, [](json& j) { j["chips"][1]["reference_device"] = "p999"; });
    EXPECT_NE(load_error(data).find("chips.json: chips[1].reference_device"), std::string::npos) << load_error(data);
  }
  {
    TargetData data = data_from_disk();
    edit(data.chips, [](json& j) { j["chips"][0]["int8_dot_instruction"] = "dp4a"; });
    EXPECT_NE(load_error(data).find("chips.json: chips[0].has_int8_dot"), std::string::npos) << load_error(data);
  }
  {
    TargetData data = data_from_disk();
    edit(data.chips, [](json& j) { j["chips"][1]["qmatvec"]["warps_per_block"] = 0; });
    EXPECT_NE(load_error(data).find("chips.json: chips[1].qmatvec.warps_per_block: expected an integer 1..32"),
              std::string::npos)
        << load_error(data);
  }
  {
    TargetData data = data_from_disk();
    edit(data.chips, [](json& j) {
      for (json& chip : j["chips"])
        if (chip["arch"] == "sm_61") chip["qmatvec"]["by_device"] = {{"h200", json::object()}};
    });
    EXPECT_NE(load_error(data).find("qmatvec.by_device: expected a device profile of arch sm_61, got 'h200'"),
              std::string::npos)
        << load_error(data);
  }
  {
    TargetData data = data_from_disk();
    edit(data.links, [](json& j) { j["schema"] = "llmc.links/2"; });
    EXPECT_NE(load_error(data).find("links.json: schema: expected \"llmc.links/1\""), std::string::npos);
  }
  {
    TargetData data = data_from_disk();
    edit(data.links, [](json& j) { j["pcie"]["generations"][2]["efficiency"] = 1.5; });
    EXPECT_NE(load_error(data).find("links.json: pcie.generations[2].efficiency"), std::string::npos)
        << load_error(data);
  }
  {
    TargetData data = data_from_disk();
    data.links.text = "{ not json";
    EXPECT_NE(load_error(data).find("links.json: not valid JSON"), std::string::npos);
  }
  {
    TargetData data = data_from_disk();
    data.devices.push_back(device_file(data, "p40"));
    EXPECT_NE(load_error(data).find("profile 'p40' is defined twice"), std::string::npos);
  }
}

}  // namespace
}  // namespace llmc::targets
