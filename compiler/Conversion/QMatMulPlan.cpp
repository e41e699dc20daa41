#include "llmc/compiler/QMatMulPlan.h"

#include <algorithm>
#include <limits>

#include "QuantDecoders.h"
#include "llmc/compiler/QMatVecPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

using mlir::llmc::QuantType;

namespace {

// Threads of the default GPU workgroup: 16 x 16 threads of 4 x 4 register blocks cover a 64 x 64
// tile, and 256 threads is 8 warps of 32 or 4 waves of 64 lanes.
constexpr int64_t kDefaultThreads = 256;
// Register blocks stay within 8 x 8 accumulators per thread.
constexpr int64_t kMaxThreadBlock = 8;
// Bytes of packed codes per decoder slice: one 128-bit load on GPUs; 256-bit registers of values
// on x86-64 (as the embed kernels decode).
constexpr int64_t kGpuLaneBytes = 16;
constexpr int64_t kCpuLaneBytes = 32;
// CUDA launches at most 65535 workgroups along y (the token tiles).
constexpr int64_t kMaxGridY = 65535;
constexpr int64_t kMaxGridX = std::numeric_limits<int32_t>::max();

int64_t powerOfTwoAtMost(int64_t n) {
  int64_t v = 1;
  while (v * 2 <= n) v *= 2;
  return v;
}

int64_t largestDivisorAtMost(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0) return d;
  return 1;
}

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

QMatVecTuning defaultQMatMulTuning(const TargetInfo& target) {
  if (!target.isGpu()) return {4, 1, 8, 2};
  return {64, kDefaultThreads / target.warpSize(), 4, 4};
}

std::optional<QMatMulPlan> planQMatMul(const TargetInfo& target, QuantType quant, int64_t rows, int64_t cols,
                                       const QMatVecTuning& tuning, mlir::llmc::WeightLayout layout,
                                       std::string* error) {
  auto fail = [&](std::string message) -> std::optional<QMatMulPlan> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const std::string quantName = mlir::llmc::stringifyQuantType(quant).str();
  if (!hasQMatVecKernel(quant)) return fail("no qmatmul kernel for " + quantName);
  if (rows < 1 || cols < 1) return fail("rows and cols must be positive");
  const std::optional<int64_t> rowBytes = mlir::llmc::getRowBytes(quant, cols);
  if (!rowBytes)
    return fail("cols (" + str(cols) + ") is not a multiple of the " + quantName + " block size (" +
                str(mlir::llmc::getBlockSize(quant)) + ")");

  QMatMulPlan plan;
  plan.quant = quant;
  plan.rows = rows;
  plan.cols = cols;
  plan.rowBytes = *rowBytes;
  plan.weightBytes = rows * *rowBytes;
  plan.layout = effectiveLayout(quant, layout);
  plan.maxTokens = kQMatMulMaxTokens;
  const bool gpu = target.isGpu();
  plan.laneBytes = gpu ? kGpuLaneBytes : kCpuLaneBytes;
  auto decoder = makeQuantDecoder(quant, plan.laneBytes, cols, nullptr);
  plan.groupLength = decoder->groupLength();
  plan.groupsPerSlice = decoder->groupsPerSlice();
  plan.slicesPerBlock = decoder->slicesPerBlock();
  plan.slicesPerRow = cols / decoder->blockValues() * decoder->slicesPerBlock();
  const int64_t sliceValues = plan.groupsPerSlice * plan.groupLength;

  QMatVecTuning t = tuning;
  if (!gpu) {
    t.warps = 1;
    t.rowsPerBlock = std::clamp<int64_t>(t.rowsPerBlock, 1, kMaxThreadBlock);
    // The dequantized rows live on the stack: at most kQMatMulStackBytes, or one row. F32 rows are
    // used where they are.
    const bool inPlace = quant == QuantType::F32;
    while (!inPlace && t.rowsPerBlock > 1 && t.rowsPerBlock * cols * 4 > kQMatMulStackBytes) --t.rowsPerBlock;
    t.unroll = std::clamp<int64_t>(t.unroll, 1, 4);
    int64_t width = powerOfTwoAtMost(std::clamp<int64_t>(t.vectorWidth, 1, 8));
    while (width > 1 && cols % width != 0) width /= 2;
    t.vectorWidth = width;
    plan.tuning = t;
    plan.rowsPerStep = t.rowsPerBlock;
    plan.tokensPerStep = t.unroll;
    plan.vectorWidth = t.vectorWidth;
    plan.stackBytes = inPlace ? 0 : plan.rowsPerStep * cols * 4;
  } else {
    t.rowsPerBlock = std::clamp<int64_t>(t.rowsPerBlock, 1, 64);
    t.warps = std::clamp<int64_t>(t.warps, 1, 1024 / target.warpSize());
    t.vectorWidth = powerOfTwoAtMost(std::clamp<int64_t>(t.vectorWidth, 1, kMaxThreadBlock));
    t.unroll = largestDivisorAtMost(t.rowsPerBlock, std::clamp<int64_t>(t.unroll, 1, kMaxThreadBlock));
    plan.tuning = t;
    plan.tileRows = t.rowsPerBlock;
    plan.threadRows = t.unroll;
    plan.threadTokens = t.vectorWidth;
    plan.blockX = t.warps * target.warpSize();
    plan.threadRowGroups = plan.tileRows / plan.threadRows;
    if (plan.blockX % plan.threadRowGroups != 0)
      return fail("tuning rows_per_block = " + str(t.rowsPerBlock) + ", unroll = " + str(t.unroll) + ": " +
                  str(plan.threadRowGroups) + " groups of thread rows do not divide the " + str(plan.blockX) +
                  " threads of " + str(t.warps) + " warps");
    plan.threadTokenGroups = plan.blockX / plan.threadRowGroups;
    plan.tileTokens = plan.threadTokenGroups * plan.threadTokens;
    plan.maxTokens = std::min(kQMatMulMaxTokens, kMaxGridY * plan.tileTokens);
    plan.gridX = (rows + plan.tileRows - 1) / plan.tileRows;
    if (plan.gridX > kMaxGridX) return fail(str(plan.gridX) + " row tiles exceed the grid limit");

    // A K-step is a whole number of slices that divides the row, about kQMatMulStepValues values,
    // fewer where the tiles would not fit the chip's workgroup memory.
    const int64_t limit = static_cast<int64_t>(target.chip().max_shared_mem_per_block_bytes);
    auto sharedFor = [&](int64_t slices) { return 4 * slices * sliceValues * (plan.tileRows + plan.tileTokens); };
    int64_t slices = largestDivisorAtMost(plan.slicesPerRow, std::max<int64_t>(1, kQMatMulStepValues / sliceValues));
    while (slices > 1 && limit > 0 && sharedFor(slices) > limit)
      slices = largestDivisorAtMost(plan.slicesPerRow, slices - 1);
    plan.slicesPerStep = slices;
    plan.stepValues = slices * sliceValues;
    plan.steps = plan.slicesPerRow / slices;
    plan.sharedBytes = sharedFor(slices);
    if (limit > 0 && plan.sharedBytes > limit)
      return fail("tuning rows_per_block = " + str(t.rowsPerBlock) + ", warps = " + str(t.warps) +
                  ", vector_width = " + str(t.vectorWidth) + ", unroll = " + str(t.unroll) + ": a " +
                  str(plan.tileRows) + " x " + str(plan.tileTokens) + " tile needs " + str(plan.sharedBytes) +
                  " bytes of workgroup memory; " + target.chipName() + " has " + str(limit));
  }

  // The name says everything that shapes the code, so that variants can share a bundle.
  plan.kernelName = "llmc_qmatmul_" + quantName + "_" + str(rows) + "x" + str(cols) + "_r" + str(t.rowsPerBlock) +
                    "w" + str(t.warps) + "v" + str(t.vectorWidth) + "u" + str(t.unroll) + layoutSuffix(plan.layout);
  return plan;
}

}  // namespace llmc::compiler
