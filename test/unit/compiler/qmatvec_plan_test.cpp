#include <gtest/gtest.h>

#include <string>

#include "llmc/compiler/QMatVecPlan.h"
#include "llmc/compiler/TargetInfo.h"
#include "llmc/targets/device_profile.h"

namespace llmc::compiler {
namespace {

using mlir::llmc::QuantType;

QMatVecPlan plan(const char* chip, QuantType type, int64_t rows, int64_t cols, int64_t batch = 1,
                 QMatVecTuning tuning = {1, 4, 2, 1}, bool allowInt8 = true) {
  auto target = makeTargetInfo(chip);
  std::string error;
  auto result = planQMatVec(*target, type, rows, cols, batch, tuning, allowInt8, mlir::llmc::WeightLayout::Blocks, &error);
  EXPECT_TRUE(result) << error;
  return result.value_or(QMatVecPlan{});
}

TEST(QMatVecPlan, SlicesPerLaneFitsWarpsToTheRow) {
  // Q4_0 with 4 words per lane step: a block per lane step. 4096 columns are 128 blocks (4 warps),
  // 14336 are 448 (14 warps, or 7 with two steps per lane).
  EXPECT_EQ(plan("sm_90", QuantType::Q4_0, 4096, 4096, 1, {1, 8, 4, 1, 1}).tuning.warps, 4);
  QMatVecPlan wide = plan("sm_90", QuantType::Q4_0, 4096, 14336, 1, {1, 4, 4, 1, 1});
  EXPECT_EQ(wide.tuning.warps, 14);
  EXPECT_EQ(wide.blockX, 14 * 32);
  EXPECT_EQ(wide.kernelName, "llmc_qmatvec_q4_0_4096x14336_b1_int8_r1w14v4u1");
  EXPECT_EQ(plan("sm_90", QuantType::Q4_0, 64, 14336, 1, {1, 4, 4, 1, 2}).tuning.warps, 7);
  // No whole number of warps (4 blocks is 4 lanes), more than 16, or several rows per block:
  // the tuning's warps stay.
  EXPECT_EQ(plan("sm_90", QuantType::Q4_0, 64, 128, 1, {1, 4, 4, 1, 1}).tuning.warps, 4);
  EXPECT_EQ(plan("sm_90", QuantType::Q4_0, 64, 32768, 1, {1, 4, 4, 1, 1}).tuning.warps, 4);
  EXPECT_EQ(plan("sm_90", QuantType::Q4_0, 64, 14336, 1, {2, 4, 4, 1, 1}).tuning.warps, 4);
  // An explicit tuning (slicesPerLane 0) is taken as it is.
  EXPECT_EQ(plan("sm_90", QuantType::Q4_0, 64, 14336, 1, {1, 4, 4, 1}).tuning.warps, 4);
}

TEST(QMatVecPlan, RowGroupsByDefaultAndByGroupWarps) {
  // By default gcd(rows, warps) groups: 2 rows, 2 warps are two groups of one warp and one row,
  // reduced by shuffles alone (no workgroup memory without staging).
  QMatVecPlan split = plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4});
  EXPECT_EQ(split.rowGroups, 2);
  EXPECT_EQ(split.warpsPerGroup, 1);
  EXPECT_EQ(split.rowsPerGroup, 1);
  EXPECT_EQ(split.sharedBytes, 0);
  // group_warps 2: one group of both warps shares both rows; each warp leaves a partial sum per
  // row in workgroup memory, and the name says so.
  QMatVecPlan shared = plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 2});
  EXPECT_EQ(shared.rowGroups, 1);
  EXPECT_EQ(shared.warpsPerGroup, 2);
  EXPECT_EQ(shared.rowsPerGroup, 2);
  EXPECT_EQ(shared.sharedBytes, 4 * 2 * 2);
  EXPECT_EQ(shared.gridX, 2048);
  EXPECT_EQ(shared.blockX, 64);
  EXPECT_EQ(shared.kernelName, "llmc_qmatvec_q4_K_4096x14336_b1_int8_r2w2v4u4g2");
  // Six rows, six warps in groups of two: three groups of two rows.
  QMatVecPlan three = plan("sm_90", QuantType::Q4_K, 14336, 4096, 1, {6, 6, 8, 1, 0, 2});
  EXPECT_EQ(three.rowGroups, 3);
  EXPECT_EQ(three.rowsPerGroup, 2);
  // A group_warps that the default rule gives anyway is dropped: one kernel, one name.
  QMatVecPlan same = plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 1});
  EXPECT_EQ(same.tuning.groupWarps, 0);
  EXPECT_EQ(same.kernelName, split.kernelName);
  // CPUs have no warps to group.
  EXPECT_EQ(plan("x86-64", QuantType::Q4_K, 64, 256, 1, {2, 2, 4, 1, 0, 2}).tuning.groupWarps, 0);
}

TEST(QMatVecPlan, PrefetchOnChipsThatHaveIt) {
  // NVIDIA: the name says p1; the launch is the same.
  QMatVecPlan without = plan("sm_61", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4});
  QMatVecPlan with = plan("sm_61", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 0, 1});
  EXPECT_EQ(with.tuning.prefetch, 1);
  EXPECT_EQ(with.kernelName, without.kernelName + "p1");
  EXPECT_EQ(with.gridX, without.gridX);
  EXPECT_EQ(with.blockX, without.blockX);
  // Only sm_90 and newer wait for the prior grid (griddepcontrol), and only when prefetching.
  EXPECT_FALSE(with.gridDependency);
  EXPECT_TRUE(plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 0, 1}).gridDependency);
  EXPECT_FALSE(plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4}).gridDependency);
  EXPECT_EQ(plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 2, 1}).kernelName,
            "llmc_qmatvec_q4_K_4096x14336_b1_int8_r2w2v4u4g2p1");
  // AMD and CPUs have no L2 prefetch instruction: the value is dropped, and so is the suffix.
  for (const char* chip : {"gfx906", "x86-64"}) {
    QMatVecPlan dropped = plan(chip, QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 0, 1});
    EXPECT_EQ(dropped.tuning.prefetch, 0) << chip;
    EXPECT_EQ(dropped.kernelName, plan(chip, QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4}).kernelName) << chip;
  }
  auto target = makeTargetInfo("sm_90");
  std::string error;
  EXPECT_FALSE(planQMatVec(*target, QuantType::Q8_0, 64, 256, 1, QMatVecTuning{2, 2, 4, 1, 0, 0, 2}, true,
                           mlir::llmc::WeightLayout::Blocks, &error));
  EXPECT_NE(error.find("tuning prefetch = 2 must be 0 or 1"), std::string::npos) << error;
}

TEST(QMatVecPlan, RowStepsShrinkTheGrid) {
  // 4096 rows in blocks of 2, four blocks per workgroup: 512 workgroups of the same threads.
  QMatVecPlan one = plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4});
  QMatVecPlan four = plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 0, 0, 4});
  EXPECT_EQ(four.gridX, 512);
  EXPECT_EQ(four.blockX, one.blockX);
  EXPECT_EQ(four.kernelName, one.kernelName + "s4");
  EXPECT_EQ(plan("sm_90", QuantType::Q4_K, 4096, 14336, 1, {2, 2, 4, 4, 0, 2, 1, 4}).kernelName,
            "llmc_qmatvec_q4_K_4096x14336_b1_int8_r2w2v4u4g2p1s4");
  // A partial last workgroup: 67 rows in blocks of 2, three per workgroup.
  EXPECT_EQ(plan("sm_90", QuantType::Q8_0, 67, 256, 1, {2, 2, 4, 1, 0, 0, 0, 3}).gridX, 12);
  // No more steps than blocks of rows: 16 rows in blocks of 8 take 2 steps, not 5.
  QMatVecPlan capped = plan("sm_90", QuantType::Q8_0, 16, 256, 1, {8, 4, 4, 1, 0, 0, 0, 5});
  EXPECT_EQ(capped.tuning.rowSteps, 2);
  EXPECT_EQ(capped.gridX, 1);
  // Staging goes by rows_per_block alone: the steps change nothing but the walk over the rows.
  EXPECT_EQ(four.stagedActivations, one.stagedActivations);
  EXPECT_EQ(four.quantizeKernelName, one.quantizeKernelName);
  // CPUs ignore it.
  QMatVecPlan cpu = plan("x86-64", QuantType::Q4_K, 64, 256, 1, {2, 1, 4, 1, 0, 0, 0, 4});
  EXPECT_EQ(cpu.tuning.rowSteps, 1);
  EXPECT_EQ(cpu.kernelName, plan("x86-64", QuantType::Q4_K, 64, 256, 1, {2, 1, 4, 1}).kernelName);
  auto target = makeTargetInfo("sm_90");
  std::string error;
  EXPECT_FALSE(planQMatVec(*target, QuantType::Q8_0, 64, 256, 1, QMatVecTuning{2, 2, 4, 1, 0, 0, 0, 65}, true,
                           mlir::llmc::WeightLayout::Blocks, &error));
  EXPECT_NE(error.find("tuning row_steps = 65 is outside 1..64"), std::string::npos) << error;
}

TEST(QMatVecPlan, MinBlocksOnGpusOnly) {
  // The name says it; the launch is the same.
  QMatVecPlan plain = plan("sm_90", QuantType::Q6_K, 14336, 4096, 1, {2, 1, 4, 4});
  QMatVecPlan resident = plan("sm_90", QuantType::Q6_K, 14336, 4096, 1, {2, 1, 4, 4, 0, 0, 0, 1, 32});
  EXPECT_EQ(resident.tuning.minBlocks, 32);
  EXPECT_EQ(resident.kernelName, "llmc_qmatvec_q6_K_14336x4096_b1_int8_r2w1v4u4m32");
  EXPECT_EQ(resident.gridX, plain.gridX);
  EXPECT_EQ(resident.blockX, plain.blockX);
  // No more workgroups than 2048 threads hold: 8 warps of 32 lanes, 8 workgroups; on gfx906 two
  // wave64s, 16.
  EXPECT_EQ(plan("sm_90", QuantType::Q8_0, 64, 256, 1, {2, 8, 4, 1, 0, 0, 0, 1, 32}).tuning.minBlocks, 8);
  EXPECT_EQ(plan("gfx906", QuantType::Q8_0, 64, 256, 1, {2, 2, 4, 1, 0, 0, 0, 1, 32}).kernelName,
            "llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1m16");
  // CPUs drop it, and with it the name's m.
  QMatVecPlan cpu = plan("x86-64", QuantType::Q4_K, 64, 256, 1, {2, 1, 4, 1, 0, 0, 0, 1, 4});
  EXPECT_EQ(cpu.tuning.minBlocks, 0);
  EXPECT_EQ(cpu.kernelName, plan("x86-64", QuantType::Q4_K, 64, 256, 1, {2, 1, 4, 1}).kernelName);
  auto target = makeTargetInfo("sm_90");
  std::string error;
  EXPECT_FALSE(planQMatVec(*target, QuantType::Q8_0, 64, 256, 1, QMatVecTuning{2, 2, 4, 1, 0, 0, 0, 1, 33}, true,
                           mlir::llmc::WeightLayout::Blocks, &error));
  EXPECT_NE(error.find("tuning min_blocks = 33 is outside 0..32"), std::string::npos) << error;
}

TEST(QMatVecPlan, VectorWidthAsThePlannerShowsIt) {
  // Plans show the width a kernel is built with (targets::qmatvec_vector_width), so the compiler's
  // narrowing and the planner's table must agree for every type and request.
  const QuantType types[] = {QuantType::F32,  QuantType::F16,  QuantType::BF16,   QuantType::Q4_0,
                             QuantType::Q4_1, QuantType::Q5_0, QuantType::Q5_1,   QuantType::Q8_0,
                             QuantType::Q2_K, QuantType::Q3_K, QuantType::Q4_K,   QuantType::Q5_K,
                             QuantType::Q6_K, QuantType::IQ4_NL, QuantType::IQ4_XS, QuantType::MXFP4};
  for (QuantType type : types) {
    const std::string name = mlir::llmc::stringifyQuantType(type).str();
    for (int64_t cols : {4096, 5120, 14336}) {
      for (int requested : {1, 2, 3, 4, 6, 8, 12, 16}) {
        const QMatVecPlan p = plan("sm_90", type, 64, cols, 1, {2, 1, requested, 1});
        EXPECT_EQ(p.tuning.vectorWidth, targets::qmatvec_vector_width(name, requested))
            << name << " " << cols << " columns, width " << requested;
      }
    }
  }
}

TEST(QMatVecPlan, GroupWarpsThatDoNotDivideAreAnError) {
  auto target = makeTargetInfo("sm_90");
  std::string error;
  // 4 warps in groups of 1 are 4 groups, which do not divide 2 rows; 3 does not divide 4 warps.
  for (QMatVecTuning t : {QMatVecTuning{2, 4, 4, 1, 0, 1}, QMatVecTuning{2, 4, 4, 1, 0, 3}}) {
    EXPECT_FALSE(planQMatVec(*target, QuantType::Q8_0, 64, 256, 1, t, true, mlir::llmc::WeightLayout::Blocks, &error));
    EXPECT_NE(error.find("group_warps = " + std::to_string(t.groupWarps) + " must divide warps = 4"), std::string::npos)
        << error;
  }
}

TEST(QMatVecPlan, Int8MethodOnChipsWithADot) {
  QMatVecPlan p = plan("sm_61", QuantType::Q4_0, 4096, 14336);
  EXPECT_EQ(p.method, DotMethod::Int8);
  EXPECT_EQ(p.kernelName, "llmc_qmatvec_q4_0_4096x14336_b1_int8_r1w4v2u1");
  EXPECT_EQ(p.quantizeKernelName, "llmc_quantize_q8_14336_b1");
  EXPECT_EQ(p.gridX, 4096);
  EXPECT_EQ(p.blockX, 128);
  EXPECT_EQ(p.rowBytes, 14336 / 32 * 18);
  EXPECT_EQ(p.weightBytes, 4096LL * (14336 / 32 * 18));
  // int8 codes, then a scale and a scaled sum (f32) per 32 values.
  EXPECT_EQ(p.scratchBytes, 14336 + 14336 / 32 * 8);
  EXPECT_EQ(p.quantizeBlockX, 256);
  EXPECT_EQ(p.quantizeGridX, 56);
  // 8 bytes of nibbles per lane step: two slices per block of 32.
  EXPECT_EQ(p.groupLength, 8);
  EXPECT_EQ(p.slicesPerBlock, 2);
  EXPECT_EQ(p.slicesPerRow, 14336 / 32 * 2);
}

TEST(QMatVecPlan, F32MethodWhereThereIsNoIntegerKernelOrNoDot) {
  EXPECT_EQ(plan("sm_61", QuantType::IQ4_NL, 64, 256).method, DotMethod::F32);
  EXPECT_EQ(plan("sm_61", QuantType::F16, 64, 256).method, DotMethod::F32);
  EXPECT_EQ(plan("x86-64", QuantType::Q4_0, 64, 256).method, DotMethod::F32);
  EXPECT_EQ(plan("sm_61", QuantType::Q4_0, 64, 256, 1, {1, 4, 2, 1}, false).method, DotMethod::F32);
  EXPECT_EQ(plan("gfx906", QuantType::Q6_K, 64, 256).method, DotMethod::Int8);
}

TEST(QMatVecPlan, LaunchGeometryFollowsTheTuning) {
  QMatVecPlan p = plan("gfx906", QuantType::Q4_K, 1000, 4096, 2, {4, 2, 4, 2});
  EXPECT_EQ(p.gridX, 250);
  EXPECT_EQ(p.blockX, 128);  // two wave64 waves
  EXPECT_EQ(p.groupLength, 16);
  EXPECT_EQ(p.kernelName, "llmc_qmatvec_q4_K_1000x4096_b2_int8_r4w2v4u2");
}

TEST(QMatVecPlan, TuningIsClampedToTheChip) {
  QMatVecPlan nvidia = plan("sm_90", QuantType::Q8_0, 3, 256, 1, {16, 64, 3, 99});
  EXPECT_EQ(nvidia.tuning.rowsPerBlock, 3);  // no more than the rows
  EXPECT_EQ(nvidia.tuning.warps, 32);        // 1024 threads of 32 lanes
  EXPECT_EQ(nvidia.tuning.vectorWidth, 2);   // a power of two
  EXPECT_EQ(nvidia.tuning.unroll, 16);
  EXPECT_EQ(plan("gfx906", QuantType::Q8_0, 64, 256, 1, {1, 64, 2, 1}).tuning.warps, 16);
  EXPECT_EQ(plan("x86-64", QuantType::Q8_0, 64, 256, 1, {4, 8, 8, 2}).tuning.warps, 1);
}

TEST(QMatVecPlan, RefusesShapesWithoutAKernel) {
  auto target = makeTargetInfo("sm_61");
  std::string error;
  EXPECT_FALSE(planQMatVec(*target, QuantType::Q4_K, 64, 100, 1, {}, true, mlir::llmc::WeightLayout::Blocks, &error));
  EXPECT_EQ(error, "cols (100) is not a multiple of the q4_K block size (256)");
  EXPECT_FALSE(planQMatVec(*target, QuantType::Q4_0, 64, 256, 9, {}, true, mlir::llmc::WeightLayout::Blocks, &error));
  EXPECT_EQ(error, "batch 9 is outside 1..8");
}

TEST(QMatVecPlan, WeightLayouts) {
  auto gpu = makeTargetInfo("sm_61");
  auto cpu = makeTargetInfo("x86-64");
  EXPECT_EQ(defaultWeightLayout(*gpu), mlir::llmc::WeightLayout::RowPlanar);
  EXPECT_EQ(defaultWeightLayout(*cpu), mlir::llmc::WeightLayout::Blocks);
  std::string error;
  auto planar = planQMatVec(*gpu, QuantType::Q6_K, 64, 4096, 1, {1, 4, 4, 1}, true,
                            mlir::llmc::WeightLayout::RowPlanar, &error);
  ASSERT_TRUE(planar) << error;
  EXPECT_EQ(planar->layout, mlir::llmc::WeightLayout::RowPlanar);
  EXPECT_EQ(planar->kernelName, "llmc_qmatvec_q6_K_64x4096_b1_int8_r1w4v4u1_rp");
  EXPECT_EQ(planar->weightBytes, 64 * 16 * 210);  // the same bytes as the file's rows
  // Q4_K blocks are already aligned: row_planar is the file's layout, and the name says so.
  auto whole = planQMatVec(*gpu, QuantType::Q4_K, 64, 4096, 1, {1, 4, 4, 1}, true,
                           mlir::llmc::WeightLayout::RowPlanar, &error);
  ASSERT_TRUE(whole) << error;
  EXPECT_EQ(whole->layout, mlir::llmc::WeightLayout::Blocks);
  EXPECT_EQ(whole->kernelName, "llmc_qmatvec_q4_K_64x4096_b1_int8_r1w4v4u1");
}

}  // namespace
}  // namespace llmc::compiler
