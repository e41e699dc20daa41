#include "llmc/compiler/QMatVecPlan.h"

#include <algorithm>
#include <numeric>

#include "QuantDecoders.h"
#include "llmc/compiler/TargetInfo.h"
#include "llmc/targets/device_profile.h"

namespace llmc::compiler {

using mlir::llmc::QuantType;

std::string_view dotMethodName(DotMethod method) { return method == DotMethod::Int8 ? "int8" : "f32"; }

QMatVecTuning defaultTuning(const TargetInfo& target, QuantType quant, int64_t rows, int64_t cols) {
  const std::string name = mlir::llmc::stringifyQuantType(quant).str();
  const auto& defaults = rows > 0 && cols > 0
                             ? target.chip().qmatvec_for(name, "", targets::matrix_shape_class(rows, cols))
                             : target.chip().qmatvec_for(name);
  return {defaults.rows_per_block, defaults.warps_per_block, defaults.vector_width, defaults.unroll,
          defaults.slices_per_lane, defaults.group_warps, defaults.prefetch, defaults.row_steps, defaults.min_blocks};
}

mlir::llmc::WeightLayout defaultWeightLayout(const TargetInfo& target) {
  return target.isGpu() ? mlir::llmc::WeightLayout::RowPlanar : mlir::llmc::WeightLayout::Blocks;
}

std::string layoutSuffix(mlir::llmc::WeightLayout layout) {
  return layout == mlir::llmc::WeightLayout::RowPlanar ? "_rp" : "";
}

std::optional<QMatVecPlan> planQMatVec(const TargetInfo& target, QuantType quant, int64_t rows, int64_t cols,
                                       int64_t batch, const QMatVecTuning& tuning, bool allowInt8,
                                       mlir::llmc::WeightLayout layout, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<QMatVecPlan> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const std::string quantName = mlir::llmc::stringifyQuantType(quant).str();
  if (!hasQMatVecKernel(quant)) return fail("no qmatvec kernel for " + quantName);
  if (rows < 1 || cols < 1) return fail("rows and cols must be positive");
  if (batch < 1 || batch > 8) return fail("batch " + std::to_string(batch) + " is outside 1..8");
  const std::optional<int64_t> rowBytes = mlir::llmc::getRowBytes(quant, cols);
  if (!rowBytes)
    return fail("cols (" + std::to_string(cols) + ") is not a multiple of the " + quantName + " block size (" +
                std::to_string(mlir::llmc::getBlockSize(quant)) + ")");

  QMatVecPlan plan;
  plan.quant = quant;
  plan.rows = rows;
  plan.cols = cols;
  plan.batch = batch;
  plan.rowBytes = *rowBytes;
  plan.weightBytes = rows * *rowBytes;
  plan.layout = effectiveLayout(quant, layout);

  // Clamp the tuning to the chip: at most 1024 threads, power-of-two vector widths.
  QMatVecTuning t = tuning;
  t.rowsPerBlock = std::clamp<int64_t>(t.rowsPerBlock, 1, std::min<int64_t>(64, rows));
  t.unroll = std::clamp<int64_t>(t.unroll, 1, 16);
  int64_t width = 1;
  while (width * 2 <= std::clamp<int64_t>(t.vectorWidth, 1, 16)) width *= 2;
  t.vectorWidth = width;
  if (target.isGpu()) {
    t.warps = std::clamp<int64_t>(t.warps, 1, 1024 / target.warpSize());
  } else {
    t.warps = 1;
    t.groupWarps = 0;
    t.rowSteps = 1;
  }
  if (t.rowSteps < 1 || t.rowSteps > targets::kMaxRowSteps)
    return fail("tuning row_steps = " + std::to_string(t.rowSteps) + " is outside 1.." +
                std::to_string(targets::kMaxRowSteps));
  // Steps past the last row do nothing but repeat it: no more steps than blocks of rows.
  t.rowSteps = std::min(t.rowSteps, (rows + t.rowsPerBlock - 1) / t.rowsPerBlock);
  if (t.minBlocks < 0 || t.minBlocks > targets::kMaxMinBlocks)
    return fail("tuning min_blocks = " + std::to_string(t.minBlocks) + " is outside 0.." +
                std::to_string(targets::kMaxMinBlocks));
  if (t.prefetch != 0 && t.prefetch != 1) return fail("tuning prefetch = " + std::to_string(t.prefetch) + " must be 0 or 1");
  if (!target.hasL2Prefetch()) t.prefetch = 0;  // one kernel, one name
  plan.gridDependency = t.prefetch > 0 && target.hasGridDependencyControl();
  auto decoder = makeQuantDecoder(quant, 4 * t.vectorWidth, cols, nullptr);
  // A width past what the type's slice can hold changes nothing (Q4_0 takes at most a block's 16
  // bytes of codes): keep the smallest width that cuts rows the same way, so names stay honest and
  // equal kernels share one.
  while (t.vectorWidth > 1) {
    auto narrower = makeQuantDecoder(quant, 2 * t.vectorWidth, cols, nullptr);
    if (narrower->groupLength() != decoder->groupLength() || narrower->groupsPerSlice() != decoder->groupsPerSlice() ||
        narrower->slicesPerBlock() != decoder->slicesPerBlock())
      break;
    t.vectorWidth /= 2;
    decoder = std::move(narrower);
  }
  plan.groupLength = decoder->groupLength();
  plan.groupsPerSlice = decoder->groupsPerSlice();
  plan.slicesPerBlock = decoder->slicesPerBlock();
  plan.slicesPerRow = cols / decoder->blockValues() * decoder->slicesPerBlock();
  if (target.isGpu() && t.slicesPerLane > 0 && t.rowsPerBlock == 1 && plan.slicesPerRow % t.slicesPerLane == 0) {
    // Warps fitted to the row: 4096 Q4_0 columns are 128 blocks (4 warps, a block per lane),
    // 14336 are 448 (14 warps) instead of 3.5 rounds of 4 warps with half the lanes idle in the last.
    const int64_t lanes = plan.slicesPerRow / t.slicesPerLane;
    const int64_t warps = lanes / target.warpSize();
    if (lanes % target.warpSize() == 0 && warps >= 1 && warps <= 16) t.warps = warps;
  }
  if (target.isGpu()) {
    // Row groups: gcd(rows, warps) unless the tuning asks for groups of groupWarps warps.
    const int64_t byDefault = std::gcd(t.rowsPerBlock, t.warps);
    plan.rowGroups = byDefault;
    if (t.groupWarps > 0) {
      if (!targets::group_warps_fit(t.rowsPerBlock, t.warps, t.groupWarps))
        return fail("tuning group_warps = " + std::to_string(t.groupWarps) + " must divide warps = " +
                    std::to_string(t.warps) + " into a number of groups that divides rows_per_block = " +
                    std::to_string(t.rowsPerBlock));
      plan.rowGroups = t.warps / t.groupWarps;
    }
    plan.warpsPerGroup = t.warps / plan.rowGroups;
    plan.rowsPerGroup = t.rowsPerBlock / plan.rowGroups;
    // The default rule's grouping keeps no groupWarps: one kernel, one name.
    if (plan.rowGroups == byDefault) t.groupWarps = 0;
    // No more resident workgroups than the threads of a multiprocessor hold.
    t.minBlocks = std::min(t.minBlocks, targets::kMaxResidentThreads / (t.warps * target.warpSize()));
  }
  if (!target.hasOccupancyControl()) t.minBlocks = 0;  // one kernel, one name
  plan.tuning = t;
  plan.method = allowInt8 && target.isGpu() && target.hasInt8Dot() && decoder->hasInt8Dot() && cols % 32 == 0
                    ? DotMethod::Int8
                    : DotMethod::F32;

  const std::string shape = std::to_string(rows) + "x" + std::to_string(cols) + "_b" + std::to_string(batch);
  // The name says everything that shapes the code, so that variants can share a bundle.
  const std::string config = "r" + std::to_string(t.rowsPerBlock) + "w" + std::to_string(t.warps) + "v" +
                             std::to_string(t.vectorWidth) + "u" + std::to_string(t.unroll) +
                             (t.groupWarps > 0 ? "g" + std::to_string(t.groupWarps) : "") +
                             (t.prefetch > 0 ? "p" + std::to_string(t.prefetch) : "") +
                             (t.rowSteps > 1 ? "s" + std::to_string(t.rowSteps) : "") +
                             (t.minBlocks > 0 ? "m" + std::to_string(t.minBlocks) : "");
  plan.kernelName = "llmc_qmatvec_" + quantName + "_" + shape + "_" + std::string(dotMethodName(plan.method)) + "_" +
                    config + layoutSuffix(plan.layout);
  if (target.isGpu()) {
    plan.gridX = (rows + t.rowsPerBlock * t.rowSteps - 1) / (t.rowsPerBlock * t.rowSteps);
    plan.blockX = t.warps * target.warpSize();
  } else {
    plan.gridX = 1;
    plan.blockX = 1;
  }
  const int64_t values = batch * cols;
  if (target.isGpu()) {
    plan.stagedBytes = plan.method == DotMethod::Int8 ? values + 2 * 4 * (values / 32) : 4 * values;
    // By rows_per_block alone, so that row steps change nothing but the walk over the rows.
    plan.stagedActivations = t.rowsPerBlock >= kStagingMinRows && plan.stagedBytes <= kStagingMaxBytes;
    if (!plan.stagedActivations) plan.stagedBytes = 0;
    const int64_t partials = plan.warpsPerGroup > 1 ? 4 * t.warps * plan.rowsPerGroup * batch : 0;
    plan.sharedBytes = plan.stagedBytes + partials;
    const int64_t limit = static_cast<int64_t>(target.chip().max_shared_mem_per_block_bytes);
    if (limit > 0 && plan.sharedBytes > limit)
      return fail("tuning rows_per_block = " + std::to_string(t.rowsPerBlock) + ", warps = " + std::to_string(t.warps) +
                  " needs " + std::to_string(plan.sharedBytes) + " bytes of workgroup memory; " + target.chipName() +
                  " has " + std::to_string(limit));
  }
  if (plan.needsQuantizer()) {
    plan.quantizeKernelName = "llmc_quantize_q8_" + std::to_string(cols) + "_b" + std::to_string(batch);
    plan.quantizeBlockX = 256;  // whole blocks of 32 per warp of 32 or 64 lanes
    plan.quantizeGridX = (values + plan.quantizeBlockX - 1) / plan.quantizeBlockX;
    plan.scratchBytes = values + 2 * 4 * (values / 32);
  }
  return plan;
}

}  // namespace llmc::compiler
