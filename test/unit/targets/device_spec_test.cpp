#include "llmc/targets/device_spec.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llmc::targets {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

// The message of the DeviceSpecError `spec` raises, or a marker when it raises nothing.
std::string spec_error(const std::string& spec) {
  try {
    parse_device_spec(spec);
  } catch (const DeviceSpecError& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_SPEC_ERROR(spec, fragment)                                                   \
  do {                                                                                      \
    const std::string message = spec_error(spec);                                           \
    EXPECT_NE(message.find(fragment), std::string::npos) << "spec: " << (spec) << "\n"      \
                                                         << "message: " << message;         \
  } while (0)

TEST(DeviceSpec, ProfileUsesItsNativeLink) {
  RigSpec rig = parse_device_spec("p104-100");
  ASSERT_EQ(rig.devices.size(), 1u);
  const DeviceInstance& d = rig.devices[0];
  EXPECT_EQ(d.index, 0u);
  EXPECT_EQ(d.profile.name, "p104-100");
  EXPECT_FALSE(d.custom);
  EXPECT_EQ(d.host_link.name, "pcie1x4");
  EXPECT_EQ(d.host_link.kind, LinkKind::Pcie);
  EXPECT_FALSE(d.peer_link);
  EXPECT_FALSE(d.parent_node);
  EXPECT_TRUE(rig.topology.empty());
  EXPECT_EQ(rig.path_to_host(d).size(), 0u);
  EXPECT_DOUBLE_EQ(rig.host_bandwidth_gbps(d), d.host_link.achievable_gbps());
}

TEST(DeviceSpec, CountAndLink) {
  RigSpec rig = parse_device_spec("p104-100*4@pcie1x1");
  ASSERT_EQ(rig.devices.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rig.devices[i].index, i);
    EXPECT_EQ(rig.devices[i].host_link.name, "pcie1x1");
    EXPECT_DOUBLE_EQ(rig.devices[i].host_link.gbps_per_dir, 0.25);
    EXPECT_EQ(rig.devices[i].origin, "p104-100*4@pcie1x1");
  }
}

TEST(DeviceSpec, MixedListWithSpacesAndCase) {
  RigSpec rig = parse_device_spec(" MI50 , rtx-3090@PCIe4x8 ,cpu ");
  ASSERT_EQ(rig.devices.size(), 3u);
  EXPECT_EQ(rig.devices[0].profile.name, "mi50");
  EXPECT_EQ(rig.devices[0].host_link.name, "pcie4x16");
  EXPECT_EQ(rig.devices[1].host_link.name, "pcie4x8");
  EXPECT_TRUE(rig.devices[2].profile.is_cpu());
  EXPECT_EQ(rig.devices[2].host_link.kind, LinkKind::Host);
  EXPECT_EQ(rig.devices[2].index, 2u);
  EXPECT_EQ(rig.host_bandwidth_gbps(rig.devices[2]), 0);
}

TEST(DeviceSpec, CustomDeviceCopiesTheReferenceProfile) {
  RigSpec rig = parse_device_spec("sm_61:8GiB:320GBps@pcie1x1");
  ASSERT_EQ(rig.devices.size(), 1u);
  const DeviceInstance& d = rig.devices[0];
  const DeviceProfile& reference = *DeviceCatalog::builtin().find_device("gtx-1080");
  EXPECT_TRUE(d.custom);
  EXPECT_EQ(d.profile.name, "custom-sm_61");
  EXPECT_EQ(d.profile.arch, "sm_61");
  EXPECT_EQ(d.profile.vram_bytes, 8 * kGiB);
  EXPECT_DOUBLE_EQ(d.profile.mem_bandwidth_gbps, 320);
  EXPECT_DOUBLE_EQ(d.profile.fp32_tflops, reference.fp32_tflops);
  EXPECT_EQ(d.host_link.name, "pcie1x1");
  EXPECT_NE(d.profile.sources.at("vram_bytes").find("sm_61:8GiB:320GBps@pcie1x1"), std::string::npos);
  EXPECT_NE(d.profile.notes.find("gtx-1080"), std::string::npos);
}

TEST(DeviceSpec, CustomDeviceUnitsAndNativeLink) {
  RigSpec rig = parse_device_spec("gfx906:32GB:1.024TB/s*2,sm_75:512MiB:100GB/s");
  ASSERT_EQ(rig.devices.size(), 3u);
  EXPECT_EQ(rig.devices[0].profile.vram_bytes, 32'000'000'000u);
  EXPECT_DOUBLE_EQ(rig.devices[0].profile.mem_bandwidth_gbps, 1024);
  EXPECT_EQ(rig.devices[0].host_link.name, "pcie4x16");  // the MI50 reference profile's link
  EXPECT_EQ(rig.devices[0].profile.warp_size, 64);
  EXPECT_EQ(rig.devices[2].profile.vram_bytes, uint64_t{512} << 20);
}

TEST(DeviceSpec, CpuForms) {
  RigSpec plain = parse_device_spec("cpu");
  EXPECT_EQ(plain.devices[0].profile.vram_bytes, 64 * kGiB);
  EXPECT_DOUBLE_EQ(plain.devices[0].profile.mem_bandwidth_gbps, 40);
  EXPECT_FALSE(plain.devices[0].custom);

  RigSpec sized = parse_device_spec("cpu:128GiB:80GBps");
  EXPECT_EQ(sized.devices[0].profile.name, "cpu");
  EXPECT_EQ(sized.devices[0].profile.vram_bytes, 128 * kGiB);
  EXPECT_DOUBLE_EQ(sized.devices[0].profile.mem_bandwidth_gbps, 80);
  EXPECT_TRUE(sized.devices[0].custom);

  RigSpec size_only = parse_device_spec("cpu:32GiB");
  EXPECT_EQ(size_only.devices[0].profile.vram_bytes, 32 * kGiB);
  EXPECT_DOUBLE_EQ(size_only.devices[0].profile.mem_bandwidth_gbps, 40);

  RigSpec by_arch = parse_device_spec("x86-64:16GiB:20GBps");
  EXPECT_TRUE(by_arch.devices[0].profile.is_cpu());
}

TEST(DeviceSpec, NvLinkForms) {
  RigSpec hgx = parse_device_spec("h100*8@nvlink4");
  ASSERT_EQ(hgx.devices.size(), 8u);
  EXPECT_EQ(hgx.devices[7].host_link.name, "pcie5x16");
  ASSERT_TRUE(hgx.devices[7].peer_link);
  EXPECT_DOUBLE_EQ(hgx.devices[7].peer_link->gbps_per_dir, 450);

  RigSpec bridged = parse_device_spec("rtx-3090*2@pcie4x8+nvlink");
  ASSERT_TRUE(bridged.devices[0].peer_link);
  EXPECT_EQ(bridged.devices[0].host_link.name, "pcie4x8");
  EXPECT_EQ(bridged.devices[0].peer_link->name, "nvlink3x4");
  EXPECT_DOUBLE_EQ(bridged.devices[0].peer_link->gbps_per_dir, 56.25);

  RigSpec partial = parse_device_spec("a100-40g*2@nvlink3x6");
  EXPECT_DOUBLE_EQ(partial.devices[0].peer_link->gbps_per_dir, 150);
  EXPECT_EQ(partial.devices[0].host_link.name, "pcie4x16");

  RigSpec custom = parse_device_spec("sm_70:16GiB:900GBps*2@nvlink2");
  EXPECT_DOUBLE_EQ(custom.devices[0].peer_link->gbps_per_dir, 150);
}

TEST(DeviceSpec, SizeLiterals) {
  EXPECT_EQ(parse_size_bytes("8GiB"), 8 * kGiB);
  EXPECT_EQ(parse_size_bytes("8gib"), 8 * kGiB);
  EXPECT_EQ(parse_size_bytes("8 GiB"), 8 * kGiB);
  EXPECT_EQ(parse_size_bytes("24GB"), 24'000'000'000u);
  EXPECT_EQ(parse_size_bytes("1.5TiB"), uint64_t{3} << 39);
  EXPECT_EQ(parse_size_bytes("512MiB"), uint64_t{512} << 20);
  EXPECT_EQ(parse_size_bytes("100MB"), 100'000'000u);
  EXPECT_EQ(parse_size_bytes("1KiB"), 1024u);
  for (const char* bad : {"", "8", "GiB", "-8GiB", "+8GiB", "8GiBs", "1e3GiB", "infGiB", "nanGiB", "0GiB", "0.0GB",
                          "8PiB", "2000TiB", "8..0GiB", "8.0.0GiB", ".GiB", "99999999999999999999999999GiB"})
    EXPECT_FALSE(parse_size_bytes(bad)) << bad;
}

TEST(DeviceSpec, BandwidthLiterals) {
  EXPECT_DOUBLE_EQ(*parse_bandwidth_gbps("320GBps"), 320);
  EXPECT_DOUBLE_EQ(*parse_bandwidth_gbps("320GB/s"), 320);
  EXPECT_DOUBLE_EQ(*parse_bandwidth_gbps("1.2TB/s"), 1200);
  EXPECT_DOUBLE_EQ(*parse_bandwidth_gbps("900MBps"), 0.9);
  for (const char* bad : {"", "320", "320Gbps", "320gbps", "320GiB/s", "320GB", "-320GBps", "0GBps", "200TB/s",
                          "320GB/min", "GBps", "320 G B/s"})
    EXPECT_FALSE(parse_bandwidth_gbps(bad)) << bad;
}

TEST(DeviceSpecErrors, UnknownProfileSuggestsCloseNames) {
  EXPECT_SPEC_ERROR("p104@pcie1x4", "unknown device profile 'p104' in --devices item 'p104@pcie1x4'; did you mean p104-100");
  EXPECT_SPEC_ERROR("rtx3090", "did you mean rtx-3090");
  EXPECT_SPEC_ERROR("mi-50", "did you mean mi50");
  EXPECT_SPEC_ERROR("4090", "rtx-4090");
  EXPECT_SPEC_ERROR("quantum-gpu", "expected a profile name such as");
  EXPECT_SPEC_ERROR("sm_61", "'sm_61' is an architecture, not a device profile");
}

TEST(DeviceSpecErrors, Counts) {
  EXPECT_SPEC_ERROR("p104-100*0", "invalid count '*0' in --devices item 'p104-100*0'; expected *N with N from 1 to 64");
  EXPECT_SPEC_ERROR("p104-100*99999999999", "invalid count '*99999999999'");
  EXPECT_SPEC_ERROR("p104-100*-1", "invalid count '*-1'");
  EXPECT_SPEC_ERROR("p104-100*", "invalid count '*'");
  EXPECT_SPEC_ERROR("p104-100*x", "invalid count '*x'");
  EXPECT_SPEC_ERROR("p104-100*2*3", "more than one '*'");
  EXPECT_SPEC_ERROR("p104-100*40,mi50*40", "80 devices in total in --devices item 'mi50*40'");
  EXPECT_EQ(parse_device_spec("p104-100*64").devices.size(), 64u);
}

TEST(DeviceSpecErrors, EmptyItems) {
  EXPECT_SPEC_ERROR("", "--devices is empty");
  EXPECT_SPEC_ERROR("   ", "--devices is empty");
  EXPECT_SPEC_ERROR("mi50,,mi60", "--devices item 2 is empty in 'mi50,,mi60'");
  EXPECT_SPEC_ERROR("mi50,", "--devices item 2 is empty");
  EXPECT_SPEC_ERROR(",mi50", "--devices item 1 is empty");
  EXPECT_SPEC_ERROR("@pcie1x4", "missing device name in --devices item '@pcie1x4'");
  EXPECT_SPEC_ERROR("*2", "missing device name");
  EXPECT_SPEC_ERROR("mi50," + std::string(1000, 'a'), "--devices item 2 is 1000 characters long");
}

TEST(DeviceSpecErrors, Links) {
  EXPECT_SPEC_ERROR("p104-100@pcie9x3",
                    "unknown link 'pcie9x3' in --devices item 'p104-100@pcie9x3'; expected pcie<gen>x<width> with gen "
                    "1-5 and width 1, 2, 4, 8 or 16");
  EXPECT_SPEC_ERROR("p104-100@", "missing link after '@'");
  EXPECT_SPEC_ERROR("p104-100@usb3", "unknown link 'usb3'");
  EXPECT_SPEC_ERROR("p104-100@pcie1x4@pcie3x16", "more than one '@'");
  EXPECT_SPEC_ERROR("p104-100@pcie1x4*2", "write the count before the link: p104-100*4@pcie1x4");
  EXPECT_SPEC_ERROR("p104-100@pcie1x4+pcie3x16", "two PCIe links");
  EXPECT_SPEC_ERROR("h100@nvlink4+nvlink4", "two NVLink links");
  EXPECT_SPEC_ERROR("p104-100@nvlink2", "has no NVLink connector");
  EXPECT_SPEC_ERROR("mi50@nvlink2", "NVLink joins NVIDIA GPUs only");
  EXPECT_SPEC_ERROR("rtx-3090@nvlink4", "rtx-3090 has NVLink 3 (4 links)");
  EXPECT_SPEC_ERROR("rtx-3090@nvlink3x8", "8 NVLink links on rtx-3090");
  EXPECT_SPEC_ERROR("h100@nvlink9", "unknown link 'nvlink9'");
  EXPECT_SPEC_ERROR("sm_61:8GiB:320GBps@nvlink", "NVLink without a version on a custom device");
  EXPECT_SPEC_ERROR("cpu@pcie3x16", "a link on the cpu in --devices item 'cpu@pcie3x16'");
}

TEST(DeviceSpecErrors, Cpu) {
  EXPECT_SPEC_ERROR("cpu*2", "a count on the cpu");
  EXPECT_SPEC_ERROR("cpu,mi50,cpu:32GiB", "a second cpu in --devices item 'cpu:32GiB'");
  EXPECT_SPEC_ERROR("cpu:", "invalid RAM size ''");
  EXPECT_SPEC_ERROR("cpu:lots", "invalid RAM size 'lots'");
}

TEST(DeviceSpecErrors, CustomDevices) {
  EXPECT_SPEC_ERROR("sm_61:-8GiB:320GBps", "invalid VRAM size '-8GiB' in --devices item 'sm_61:-8GiB:320GBps'");
  EXPECT_SPEC_ERROR("sm_61:512KiB:320GBps", "at least 1 MiB");
  EXPECT_SPEC_ERROR("sm_61:99999999TiB:320GBps", "invalid VRAM size");
  EXPECT_SPEC_ERROR("sm_61:8GiB", "missing bandwidth");
  EXPECT_SPEC_ERROR("sm_61:8GiB:320Gbps", "invalid bandwidth '320Gbps'");
  EXPECT_SPEC_ERROR("sm_61:8GiB:0GBps", "invalid bandwidth '0GBps'");
  EXPECT_SPEC_ERROR("sm_61:8GiB:320GBps:x", "too many ':' fields");
  EXPECT_SPEC_ERROR("sm_62:8GiB:320GBps", "unknown architecture 'sm_62'");
  EXPECT_SPEC_ERROR("sm_62:8GiB:320GBps", "did you mean sm_60, sm_61");
  EXPECT_SPEC_ERROR(":8GiB:320GBps", "missing architecture");
  EXPECT_SPEC_ERROR("p104-100:8GiB:320GBps", "'p104-100' is a device profile, not an architecture");
}

TEST(DeviceSpecErrors, RigFileInList) {
  EXPECT_SPEC_ERROR("rig.json,mi50", "--devices item 'rig.json' is a rig file");
  EXPECT_SPEC_ERROR("mi50,rig.json", "a rig file must be the whole value");
  EXPECT_SPEC_ERROR("/nonexistent/dir/rig.json", "/nonexistent/dir/rig.json: cannot read rig file");
}

TEST(DeviceSpecErrors, GarbageNeverEscapesAsAnotherError) {
  const std::vector<std::string> garbage = {
      "*", "@", ":", "::", "*@", "p104-100**", std::string(1, '\x01'), "@@@", ",,,", "sm_61:::", "cpu::",
      "sm_61:8GiB:", "sm_61::320GBps", "nvlink", "pcie1x4", "p104-100@nvlink99x99", "p104-100@+", "p104-100@pcie1x4+",
      "h100@nvlink4x", "mi50*1e3", "mi50*0x10", std::string(10000, 'a'), std::string(5000, ','),
      std::string(3000, '@'), "sm_61:" + std::string(300, '9') + "GiB:1GBps", std::string("mi50\0", 5)};
  for (const std::string& spec : garbage) {
    try {
      parse_device_spec(spec);
      ADD_FAILURE() << "accepted: " << spec.substr(0, 60);
    } catch (const DeviceSpecError&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "wrong exception for " << spec.substr(0, 60) << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace llmc::targets
