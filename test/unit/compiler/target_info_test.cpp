#include <gtest/gtest.h>

#include <string>

#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {
namespace {

TEST(TargetInfo, EveryChipOfTheIssueHasACodeGenerator) {
  struct Expected {
    const char* chip;
    CodeGenKind kind;
    int warp;
    bool int8Dot;
  };
  const Expected chips[] = {
      {"sm_61", CodeGenKind::Nvptx, 32, true},   {"sm_70", CodeGenKind::Nvptx, 32, true},
      {"sm_75", CodeGenKind::Nvptx, 32, true},   {"sm_80", CodeGenKind::Nvptx, 32, true},
      {"sm_86", CodeGenKind::Nvptx, 32, true},   {"sm_89", CodeGenKind::Nvptx, 32, true},
      {"sm_90", CodeGenKind::Nvptx, 32, true},   {"gfx906", CodeGenKind::Amdgpu, 64, true},
      {"gfx908", CodeGenKind::Amdgpu, 64, true}, {"gfx90a", CodeGenKind::Amdgpu, 64, true},
      {"gfx1030", CodeGenKind::Amdgpu, 32, true}, {"gfx1100", CodeGenKind::Amdgpu, 32, true},
      {"x86-64", CodeGenKind::X86, 1, false},
  };
  for (const Expected& e : chips) {
    std::string error;
    auto target = makeTargetInfo(e.chip, &error);
    ASSERT_TRUE(target) << e.chip << ": " << error;
    EXPECT_EQ(target->kind(), e.kind) << e.chip;
    EXPECT_EQ(target->warpSize(), e.warp) << e.chip;
    EXPECT_EQ(target->hasInt8Dot(), e.int8Dot) << e.chip;
    EXPECT_EQ(target->chipName(), e.chip);
  }
}

TEST(TargetInfo, UnknownChipsAreRefusedWithTheReason) {
  std::string error;
  EXPECT_FALSE(makeTargetInfo("sm_99", &error));
  EXPECT_EQ(error, "unknown chip 'sm_99' (see targets/chips.json)");
}

TEST(TargetInfo, PtxVersionIsTheLowestThatHasTheChip) {
  EXPECT_EQ(ptxFeatureForChip("sm_61"), "+ptx60");
  EXPECT_EQ(ptxFeatureForChip("sm_70"), "+ptx60");
  EXPECT_EQ(ptxFeatureForChip("sm_75"), "+ptx63");
  EXPECT_EQ(ptxFeatureForChip("sm_80"), "+ptx70");
  EXPECT_EQ(ptxFeatureForChip("sm_86"), "+ptx71");
  EXPECT_EQ(ptxFeatureForChip("sm_89"), "+ptx78");
  EXPECT_EQ(ptxFeatureForChip("sm_90"), "+ptx78");
  EXPECT_EQ(smVersion("sm_100"), 100);
  EXPECT_EQ(smVersion("gfx906"), 0);
}

TEST(TargetInfo, FileExtensions) {
  EXPECT_EQ(makeTargetInfo("sm_61")->kernelFileExtension(), "ptx");
  EXPECT_EQ(makeTargetInfo("gfx906")->kernelFileExtension(), "hsaco");
  EXPECT_EQ(makeTargetInfo("x86-64")->kernelFileExtension(), "so");
}

}  // namespace
}  // namespace llmc::compiler
