#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "llmc/compiler/QMatMulPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {
namespace {

using mlir::llmc::QuantType;

QMatMulPlan plan(const char* chip, QuantType type, int64_t rows, int64_t cols,
                 std::optional<QMatVecTuning> tuning = std::nullopt) {
  auto target = makeTargetInfo(chip);
  std::string error;
  auto result = planQMatMul(*target, type, rows, cols, tuning.value_or(defaultQMatMulTuning(*target)), mlir::llmc::WeightLayout::Blocks, &error);
  EXPECT_TRUE(result) << error;
  return result.value_or(QMatMulPlan{});
}

std::string planError(const char* chip, QuantType type, int64_t rows, int64_t cols, QMatVecTuning tuning) {
  auto target = makeTargetInfo(chip);
  std::string error;
  EXPECT_FALSE(planQMatMul(*target, type, rows, cols, tuning, mlir::llmc::WeightLayout::Blocks, &error));
  return error;
}

TEST(QMatMulPlan, GpuDefaultIsA64By64TileOf4By4Blocks) {
  QMatMulPlan p = plan("sm_61", QuantType::Q4_0, 4096, 4096);
  EXPECT_EQ(p.kernelName, "llmc_qmatmul_q4_0_4096x4096_r64w8v4u4");
  EXPECT_EQ(p.tileRows, 64);
  EXPECT_EQ(p.tileTokens, 64);
  EXPECT_EQ(p.threadRows, 4);
  EXPECT_EQ(p.threadTokens, 4);
  EXPECT_EQ(p.threadRowGroups, 16);
  EXPECT_EQ(p.threadTokenGroups, 16);
  EXPECT_EQ(p.blockX, 256);
  EXPECT_EQ(p.gridX, 64);
  // Q4_0 slices of 16 bytes are whole blocks of 32 values: two per 64-value K-step.
  EXPECT_EQ(p.groupLength, 16);
  EXPECT_EQ(p.groupsPerSlice, 2);
  EXPECT_EQ(p.slicesPerStep, 2);
  EXPECT_EQ(p.stepValues, 64);
  EXPECT_EQ(p.steps, 64);
  EXPECT_EQ(p.sharedBytes, 4 * 64 * (64 + 64));
  EXPECT_EQ(p.maxTokens, kQMatMulMaxTokens);
  EXPECT_EQ(p.weightBytes, 4096LL * (4096 / 32 * 18));

  // Wave64: the same 256 threads are 4 waves.
  QMatMulPlan amd = plan("gfx906", QuantType::Q4_0, 4096, 4096);
  EXPECT_EQ(amd.kernelName, "llmc_qmatmul_q4_0_4096x4096_r64w4v4u4");
  EXPECT_EQ(amd.blockX, 256);
  EXPECT_EQ(amd.tileTokens, 64);
}

TEST(QMatMulPlan, KStepsAreWholeSlicesThatDivideTheRow) {
  // Q6_K: a 16-byte slice decodes four groups of 16 values, 64 values alone.
  QMatMulPlan q6 = plan("sm_61", QuantType::Q6_K, 128, 1024);
  EXPECT_EQ(q6.slicesPerStep, 1);
  EXPECT_EQ(q6.stepValues, 64);
  EXPECT_EQ(q6.steps, 16);
  // Q8_0: 16 values per slice, four per step.
  QMatMulPlan q8 = plan("sm_61", QuantType::Q8_0, 128, 4096);
  EXPECT_EQ(q8.slicesPerStep, 4);
  EXPECT_EQ(q8.stepValues, 64);
  // Three Q4_0 blocks per row: steps of one block.
  EXPECT_EQ(plan("sm_61", QuantType::Q4_0, 64, 96).stepValues, 32);
  // F32 rows of 17 values: one value per slice, one step of 17.
  QMatMulPlan odd = plan("sm_61", QuantType::F32, 33, 17);
  EXPECT_EQ(odd.groupLength, 1);
  EXPECT_EQ(odd.stepValues, 17);
  EXPECT_EQ(odd.steps, 1);
}

TEST(QMatMulPlan, TuningMapsToTilesAndRegisterBlocks) {
  // rows_per_block = tile rows, warps, vector_width = tokens and unroll = rows per thread.
  QMatMulPlan small = plan("sm_61", QuantType::Q4_K, 130, 1024, QMatVecTuning{32, 4, 2, 2});
  EXPECT_EQ(small.tileRows, 32);
  EXPECT_EQ(small.threadRows, 2);
  EXPECT_EQ(small.threadTokens, 2);
  EXPECT_EQ(small.blockX, 128);
  EXPECT_EQ(small.tileTokens, 16);  // 128 threads in 16 x 8 groups, 2 tokens each
  EXPECT_EQ(small.gridX, 5);
  EXPECT_EQ(plan("gfx906", QuantType::Q4_K, 130, 1024, QMatVecTuning{32, 4, 2, 2}).tileTokens, 32);

  QMatMulPlan odd = plan("sm_61", QuantType::Q4_0, 67, 256, QMatVecTuning{48, 4, 8, 3});
  EXPECT_EQ(odd.tileRows, 48);
  EXPECT_EQ(odd.threadRows, 3);
  EXPECT_EQ(odd.threadRowGroups, 16);
  EXPECT_EQ(odd.tileTokens, 64);
  EXPECT_EQ(odd.sharedBytes, 4 * 64 * (48 + 64));

  // Rows per thread: the largest divisor of the tile's rows up to unroll (and 8); tokens per
  // thread: a power of two up to 8.
  QMatMulPlan clamped = plan("sm_61", QuantType::Q8_0, 256, 256, QMatVecTuning{64, 8, 16, 5});
  EXPECT_EQ(clamped.threadRows, 4);
  EXPECT_EQ(clamped.threadTokens, 8);
  EXPECT_EQ(clamped.kernelName, "llmc_qmatmul_q8_0_256x256_r64w8v8u4");
}

TEST(QMatMulPlan, TilesThatDoNotFitAreErrors) {
  EXPECT_EQ(planError("sm_61", QuantType::Q4_0, 64, 256, {6, 1, 4, 1}),
            "tuning rows_per_block = 6, unroll = 1: 6 groups of thread rows do not divide the 32 threads of 1 warps");
  const std::string shared = planError("sm_61", QuantType::Q4_0, 64, 256, {1, 32, 8, 1});
  EXPECT_NE(shared.find("a 1 x 8192 tile needs"), std::string::npos) << shared;
  EXPECT_NE(shared.find("bytes of workgroup memory; sm_61 has 49152"), std::string::npos) << shared;
  EXPECT_EQ(planError("sm_61", QuantType::Q4_K, 64, 100, {64, 8, 4, 4}),
            "cols (100) is not a multiple of the q4_K block size (256)");
}

TEST(QMatMulPlan, CpuDequantizesRowsIntoABoundedStackBuffer) {
  QMatMulPlan p = plan("x86-64", QuantType::Q4_K, 4096, 4096);
  EXPECT_EQ(p.kernelName, "llmc_qmatmul_q4_K_4096x4096_r4w1v8u2");
  EXPECT_EQ(p.rowsPerStep, 4);
  EXPECT_EQ(p.tokensPerStep, 2);
  EXPECT_EQ(p.vectorWidth, 8);
  EXPECT_EQ(p.stackBytes, 4 * 4096 * 4);
  // Rows of 14336 values: two fit in 128 KiB; rows of 53248: one, however large.
  EXPECT_EQ(plan("x86-64", QuantType::Q4_K, 4096, 14336).rowsPerStep, 2);
  QMatMulPlan wide = plan("x86-64", QuantType::Q4_K, 64, 53248);
  EXPECT_EQ(wide.rowsPerStep, 1);
  EXPECT_EQ(wide.stackBytes, 53248 * 4);
  // F32 rows are read in place.
  QMatMulPlan f32 = plan("x86-64", QuantType::F32, 64, 53248);
  EXPECT_EQ(f32.rowsPerStep, 4);
  EXPECT_EQ(f32.stackBytes, 0);
  // Vectors never straddle rows.
  EXPECT_EQ(plan("x86-64", QuantType::F16, 8, 20).vectorWidth, 4);
}

}  // namespace
}  // namespace llmc::compiler
