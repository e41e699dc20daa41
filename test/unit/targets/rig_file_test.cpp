#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "llmc/targets/device_spec.h"

namespace llmc::targets {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kGiB = uint64_t{1} << 30;

// Each test writes its rig files into a directory of its own and removes it afterwards.
class RigFile : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("llmc-rig-test-" + std::to_string(::getpid()) + "-" + info->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path write(const std::string& name, const std::string& text) const {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // The error loading `text` as rig.json raises, or a marker when it loads.
  std::string error_for(const std::string& text) const {
    fs::path path = write("rig.json", text);
    try {
      load_rig_file(path);
    } catch (const DeviceSpecError& e) {
      std::string message = e.what();
      // Messages start with the file name; tests compare the rest.
      const std::string prefix = path.string() + ": ";
      if (message.rfind(prefix, 0) == 0) return "rig.json: " + message.substr(prefix.size());
      return message;
    }
    return "<no error>";
  }

  fs::path dir_;
};

constexpr const char* kMiningRig = R"({
  "schema": "llmc.rig/1",
  "name": "b250-mining-board",
  "notes": "four P104-100 behind a switch, a MI50 on the CPU slot, a P102 on a chipset x1 riser",
  "topology": [
    {"id": "cpu-x16", "kind": "root_port", "link": "pcie3x16"},
    {"id": "plx", "kind": "switch", "parent": "cpu-x16", "link": "pcie3x16"},
    {"id": "pch", "kind": "chipset", "link": "pcie3x4"}
  ],
  "devices": [
    {"profile": "p104-100", "count": 4, "link": "pcie1x4", "node": "plx"},
    {"profile": "mi50", "slot": "PCIE_1", "node": "cpu-x16"},
    {"arch": "sm_61", "vram": "5GiB", "bandwidth": "440GBps", "link": "pcie1x1", "node": "pch"},
    {"arch": "cpu", "vram": "128GiB", "bandwidth": 80}
  ]
})";

TEST_F(RigFile, DevicesAndTopology) {
  RigSpec rig = load_rig_file(write("rig.json", kMiningRig));
  EXPECT_EQ(rig.name, "b250-mining-board");
  ASSERT_EQ(rig.topology.size(), 3u);
  EXPECT_EQ(rig.topology[0].kind, TopologyNodeKind::RootPort);
  EXPECT_EQ(rig.topology[1].kind, TopologyNodeKind::Switch);
  EXPECT_EQ(rig.topology[1].parent, 0u);
  EXPECT_EQ(rig.topology[2].kind, TopologyNodeKind::Chipset);
  EXPECT_FALSE(rig.topology[2].parent);
  EXPECT_EQ(rig.topology[2].uplink.name, "pcie3x4");
  EXPECT_EQ(topology_node_kind_name(rig.topology[2].kind), "chipset");

  ASSERT_EQ(rig.devices.size(), 7u);
  for (size_t i = 0; i < rig.devices.size(); ++i) EXPECT_EQ(rig.devices[i].index, i);

  const DeviceInstance& p104 = rig.devices[3];
  EXPECT_EQ(p104.profile.name, "p104-100");
  EXPECT_EQ(p104.parent_node, 1u);
  auto path = rig.path_to_host(p104);
  ASSERT_EQ(path.size(), 2u);
  EXPECT_EQ(path[0]->id, "plx");
  EXPECT_EQ(path[1]->id, "cpu-x16");
  EXPECT_DOUBLE_EQ(rig.host_bandwidth_gbps(p104), p104.host_link.achievable_gbps());

  const DeviceInstance& mi50 = rig.devices[4];
  EXPECT_EQ(mi50.slot, "PCIE_1");
  EXPECT_EQ(mi50.host_link.name, "pcie4x16");
  // The Gen4 card is held back by the Gen3 root port.
  EXPECT_DOUBLE_EQ(rig.host_bandwidth_gbps(mi50), rig.topology[0].uplink.achievable_gbps());

  const DeviceInstance& custom = rig.devices[5];
  EXPECT_TRUE(custom.custom);
  EXPECT_EQ(custom.profile.vram_bytes, 5 * kGiB);
  EXPECT_DOUBLE_EQ(custom.profile.mem_bandwidth_gbps, 440);
  EXPECT_EQ(custom.host_link.name, "pcie1x1");
  EXPECT_NE(custom.origin.find("devices[2]"), std::string::npos);

  const DeviceInstance& cpu = rig.devices[6];
  EXPECT_TRUE(cpu.profile.is_cpu());
  EXPECT_EQ(cpu.profile.vram_bytes, 128 * kGiB);
  EXPECT_DOUBLE_EQ(cpu.profile.mem_bandwidth_gbps, 80);
  EXPECT_EQ(rig.host_bandwidth_gbps(cpu), 0);
}

TEST_F(RigFile, ThroughTheDevicesOption) {
  fs::path path = write("rig.json", kMiningRig);
  EXPECT_EQ(parse_device_spec(path.string()).devices.size(), 7u);
  EXPECT_EQ(parse_device_spec("  " + path.string() + "  ").devices.size(), 7u);
}

TEST_F(RigFile, ProfileOverridesAndNvLink) {
  RigSpec rig = load_rig_file(write("rig.json", R"({
    "schema": "llmc.rig/1",
    "devices": [
      {"profile": "p102-100", "vram": "5GiB"},
      {"profile": "rtx-3090", "count": 2, "link": "pcie4x8+nvlink3"},
      {"profile": "p40", "vram": 25769803776, "bandwidth": "346GB/s"}
    ]
  })"));
  ASSERT_EQ(rig.devices.size(), 4u);
  EXPECT_EQ(rig.devices[0].profile.name, "p102-100");
  EXPECT_TRUE(rig.devices[0].custom);
  EXPECT_EQ(rig.devices[0].profile.vram_bytes, 5 * kGiB);
  EXPECT_DOUBLE_EQ(rig.devices[0].profile.fp32_tflops, 10.77);
  EXPECT_NE(rig.devices[0].profile.sources.at("vram_bytes").find("devices[0]"), std::string::npos);
  EXPECT_EQ(rig.devices[1].host_link.name, "pcie4x8");
  ASSERT_TRUE(rig.devices[2].peer_link);
  EXPECT_EQ(rig.devices[2].peer_link->name, "nvlink3x4");
  EXPECT_EQ(rig.devices[3].profile.vram_bytes, 24 * kGiB);
  EXPECT_TRUE(rig.name.empty());
}

TEST_F(RigFile, ErrorsNameTheFileAndTheField) {
  const std::string head = R"({"schema": "llmc.rig/1", )";
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"{ not json", "rig.json: not valid JSON"},
      {"[]", "rig.json: top level: expected an object, got an array"},
      {R"({"devices": [{"profile": "mi50"}]})", "rig.json: top level: missing required field 'schema'"},
      {R"({"schema": "llmc.rig/2", "devices": []})", "rig.json: schema: expected \"llmc.rig/1\""},
      {head + R"("devices": []})", "rig.json: devices: expected at least one device"},
      {head + R"("devices": {}})", "rig.json: devices: expected an array, got an object"},
      {head + R"("gpus": []})", "rig.json: top level: unknown field 'gpus'"},
      {head + R"("devices": ["mi50"]})", "rig.json: devices[0]: expected an object, got a string"},
      {head + R"("devices": [{"profile": "mi50"}, {"profile": "mi5"}]})",
       "rig.json: devices[1].profile: unknown device profile 'mi5'; did you mean mi50, mi50-32g"},
      {head + R"("devices": [{"profile": "mi50", "lnk": "pcie3x16"}]})",
       "rig.json: devices[0]: unknown field 'lnk'; expected one of: profile, arch"},
      {head + R"("devices": [{"profile": "mi50", "link": "pcie9x3"}]})",
       "rig.json: devices[0].link: unknown link 'pcie9x3'; expected pcie<gen>x<width>"},
      {head + R"("devices": [{"profile": "mi50", "link": 16}]})", "rig.json: devices[0].link: expected a string"},
      {head + R"("devices": [{"profile": "mi50", "count": 0}]})", "rig.json: devices[0].count: expected an integer 1..64"},
      {head + R"("devices": [{"profile": "mi50", "count": "4"}]})", "rig.json: devices[0].count: expected an integer"},
      {head + R"("devices": [{"profile": "mi50", "count": 1e12}]})", "rig.json: devices[0].count: expected an integer"},
      {head + R"("devices": [{"profile": "mi50", "count": 99999999999999999999}]})", "rig.json: devices[0].count"},
      {head + R"("devices": [{"profile": "mi50", "count": 40}, {"profile": "p40", "count": 40}]})",
       "rig.json: devices[1]: 80 devices in total; a rig describes at most 64"},
      {head + R"("devices": [{}]})", "rig.json: devices[0]: expected exactly one of 'profile'"},
      {head + R"("devices": [{"profile": "mi50", "arch": "gfx906"}]})", "expected exactly one of 'profile'"},
      {head + R"("devices": [{"arch": "gfx906", "vram": "16GiB"}]})",
       "rig.json: devices[0]: a custom device needs 'vram' and 'bandwidth'"},
      {head + R"("devices": [{"arch": "gfx907", "vram": "16GiB", "bandwidth": 1}]})",
       "rig.json: devices[0].arch: unknown architecture 'gfx907'"},
      {head + R"("devices": [{"arch": "sm_61", "vram": "-8GiB", "bandwidth": "1GBps"}]})",
       "rig.json: devices[0].vram: invalid VRAM size '-8GiB'"},
      {head + R"("devices": [{"arch": "sm_61", "vram": -8, "bandwidth": "1GBps"}]})",
       "rig.json: devices[0].vram: expected an integer"},
      {head + R"("devices": [{"arch": "sm_61", "vram": "8GiB", "bandwidth": "8Gbps"}]})",
       "rig.json: devices[0].bandwidth: invalid bandwidth '8Gbps'"},
      {head + R"("devices": [{"arch": "sm_61", "vram": "8GiB", "bandwidth": -1}]})",
       "rig.json: devices[0].bandwidth: bandwidth in GB/s -1 is out of range"},
      {head + R"("devices": [{"profile": "mi50", "slot": "A", "count": 2}]})",
       "rig.json: devices[0].slot: a slot names one device"},
      {head + R"("devices": [{"profile": "mi50", "node": "plx"}]})",
       "rig.json: devices[0].node: unknown node 'plx': the file has no topology"},
      {head + R"("topology": [{"id": "a", "kind": "switch", "link": "pcie3x16"}], "devices": [{"profile": "mi50", "node": "b"}]})",
       "rig.json: devices[0].node: unknown node 'b'; expected one of: a"},
      {head + R"("topology": [{"id": "a", "kind": "switch", "link": "pcie3x16"}], "devices": [{"profile": "cpu", "node": "a"}]})",
       "rig.json: devices[0].node: the host RAM (cpu) does not sit on a PCIe node"},
      {head + R"("devices": [{"profile": "cpu"}, {"arch": "cpu", "vram": "8GiB"}]})",
       "rig.json: devices[1]: a second cpu device"},
      {head + R"("devices": [{"profile": "cpu", "count": 2}]})", "rig.json: devices[0]: the host RAM (cpu) is one device"},
      {head + R"("devices": [{"profile": "cpu", "link": "pcie3x16"}]})",
       "rig.json: devices[0].link: a link on the cpu; the host RAM takes no link"},
      {head + R"("topology": [{"id": "a", "kind": "bridge", "link": "pcie3x16"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[0].kind: expected \"root_port\", \"switch\" or \"chipset\", got a string \"bridge\""},
      {head + R"("topology": [{"id": "a", "kind": "switch"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[0]: missing required field 'link'"},
      {head + R"("topology": [{"id": "a", "kind": "switch", "link": "nvlink3"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[0].link: a topology node's uplink is one PCIe link"},
      {head + R"("topology": [{"id": "a b", "kind": "switch", "link": "pcie3x4"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[0].id: expected an id of 1-64 letters"},
      {head + R"("topology": [{"id": "a", "kind": "switch", "link": "pcie3x4"}, {"id": "a", "kind": "switch", "link": "pcie3x4"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[1].id: node id 'a' is used twice"},
      {head + R"("topology": [{"id": "a", "kind": "switch", "parent": "z", "link": "pcie3x4"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[0].parent: unknown parent node 'z'"},
      {head + R"("topology": [{"id": "a", "kind": "switch", "parent": "a", "link": "pcie3x4"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[0].parent: a node cannot be its own parent"},
      {head + R"("topology": [{"id": "a", "kind": "switch", "parent": "b", "link": "pcie3x4"}, {"id": "b", "kind": "switch", "parent": "a", "link": "pcie3x4"}], "devices": [{"profile": "mi50"}]})",
       "rig.json: topology[0].parent: node 'a' is part of a parent cycle"},
  };
  for (const Case& c : cases) {
    std::string error = error_for(c.text);
    EXPECT_NE(error.find(c.expected), std::string::npos) << "rig: " << c.text << "\nexpected: " << c.expected
                                                         << "\ngot: " << error;
  }
}

TEST_F(RigFile, SizeLimits) {
  std::string entries;
  for (int i = 0; i < 65; ++i) entries += std::string(i ? "," : "") + R"({"profile": "p104-100"})";
  EXPECT_NE(error_for(R"({"schema": "llmc.rig/1", "devices": [)" + entries + "]}")
                .find("rig.json: devices: expected at most 64 entries"),
            std::string::npos);

  std::string nodes;
  for (int i = 0; i < 257; ++i)
    nodes += std::string(i ? "," : "") + R"({"kind": "switch", "link": "pcie3x4", "id": "n)" + std::to_string(i) + "\"}";
  std::string rig = R"({"schema": "llmc.rig/1", "topology": [)" + nodes + R"(], "devices": [{"profile": "mi50"}]})";
  EXPECT_NE(error_for(rig).find("rig.json: topology: expected at most 256 topology nodes"), std::string::npos)
      << error_for(rig);
  EXPECT_NE(error_for(R"({"schema": "llmc.rig/1", "notes": 5, "devices": [{"profile": "mi50"}]})")
                .find("rig.json: notes: expected a string, got an integer 5"),
            std::string::npos);
}

TEST_F(RigFile, ForwardParentReferencesAreFine) {
  RigSpec rig = load_rig_file(write("rig.json", R"({"schema": "llmc.rig/1",
    "topology": [{"id": "leaf", "kind": "switch", "parent": "root", "link": "pcie2x8"},
                 {"id": "root", "kind": "root_port", "link": "pcie3x8"}],
    "devices": [{"profile": "p106-100", "node": "leaf", "link": "pcie3x16"}]})"));
  EXPECT_EQ(rig.topology[0].parent, 1u);
  // pcie2x8 at 80% is the narrowest hop.
  EXPECT_DOUBLE_EQ(rig.host_bandwidth_gbps(rig.devices[0]), rig.topology[0].uplink.achievable_gbps());
}

TEST_F(RigFile, UnreadableAndOversizedFiles) {
  try {
    load_rig_file(dir_ / "missing.json");
    ADD_FAILURE() << "missing file accepted";
  } catch (const DeviceSpecError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json: cannot read rig file: no such file"), std::string::npos)
        << e.what();
  }
  try {
    load_rig_file(dir_);
    ADD_FAILURE() << "directory accepted";
  } catch (const DeviceSpecError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read rig file: not a regular file"), std::string::npos) << e.what();
  }
  fs::path big = write("big.json", std::string(2 << 20, ' '));
  try {
    load_rig_file(big);
    ADD_FAILURE() << "oversized file accepted";
  } catch (const DeviceSpecError& e) {
    EXPECT_NE(std::string(e.what()).find("expected a small JSON file"), std::string::npos) << e.what();
  }
}

TEST_F(RigFile, DeeplyNestedJsonIsRejectedCleanly) {
  std::string nested = R"({"schema": "llmc.rig/1", "devices": )" + std::string(5000, '[') + std::string(5000, ']') + "}";
  EXPECT_NE(error_for(nested).find("rig.json: devices[0]: expected an object, got an array"), std::string::npos)
      << error_for(nested);
}

}  // namespace
}  // namespace llmc::targets
