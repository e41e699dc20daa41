// The shape of one generated qmatvec kernel on one chip, decided before any IR is built: which dot
// method, how a row is cut into lane steps, the launch geometry and the functions' names. The
// lowering builds exactly this, and the bundle writer records it in the manifest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "llmc/IR/LLMCAttrs.h"

namespace llmc::compiler {

class TargetInfo;

// Tuning values as #llmc.tuning carries them.
struct QMatVecTuning {
  int64_t rowsPerBlock = 1;
  int64_t warps = 4;
  int64_t vectorWidth = 2;  // 32-bit words of packed weights per lane step
  int64_t unroll = 1;
  // When positive and rowsPerBlock is 1 on a GPU, `warps` is replaced per matrix by the count
  // that gives every lane exactly this many lane steps of the row (when that is 1 to 16 warps):
  // no lane idles in a last, partial round. Chip defaults set it (chips.json slices_per_lane);
  // an explicit #llmc.tuning does not.
  int64_t slicesPerLane = 0;
  // GPU: warps per row group (see QMatVecPlan::rowGroups); 0 takes gcd(rowsPerBlock, warps)
  // groups. The plan keeps 0 when the value equals what the default rule gives.
  int64_t groupWarps = 0;
  // GPU: 1 = each workgroup first asks for its weight rows in L2 (TargetInfo::prefetchToL2), so
  // that they stream from memory while the lanes' own loads are still few. Chips without an L2
  // prefetch instruction, and CPUs, keep 0.
  int64_t prefetch = 0;
  // GPU: blocks of rowsPerBlock rows each workgroup computes in turn (a grid rowSteps times
  // smaller). CPUs keep 1.
  int64_t rowSteps = 1;
  // GPU: > 0 asks the code generator to keep at least this many workgroups resident per
  // multiprocessor (TargetInfo::setMinResidentWorkgroups), capping each lane's registers to what
  // they leave; at most as many as 2048 threads hold (targets::kMaxResidentThreads). CPUs keep 0.
  int64_t minBlocks = 0;
};

// f32: weights dequantized and multiplied with f32 activations. int8: activations quantized to
// blocks of 32 int8 first (by a second kernel), weights' integer codes multiplied with them by the
// chip's dot-4 instruction, scales applied per block.
enum class DotMethod { F32, Int8 };
std::string_view dotMethodName(DotMethod method);

struct QMatVecPlan {
  mlir::llmc::QuantType quant = mlir::llmc::QuantType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t batch = 1;
  QMatVecTuning tuning;
  DotMethod method = DotMethod::F32;

  // Row cutting: a row is slicesPerRow lane steps, each of groupsPerSlice x groupLength values.
  int64_t groupLength = 0;
  int64_t groupsPerSlice = 0;
  int64_t slicesPerBlock = 0;
  int64_t slicesPerRow = 0;

  int64_t weightBytes = 0;  // rows x bytes per row
  int64_t rowBytes = 0;
  // How the rows hold their blocks; row_planar only for types it changes (kernel names end "_rp").
  mlir::llmc::WeightLayout layout = mlir::llmc::WeightLayout::Blocks;

  // GPU, prefetch on a chip with grid dependency control (sm_90): the product asks for its rows in
  // L2, then waits for the prior grid before reading activations, so a runtime may launch it with
  // programmatic stream serialization (its weights stream in while the prior grid finishes).
  bool gridDependency = false;

  // The product kernel. GPU: gridX workgroups of blockX threads; CPU: one call per row range.
  std::string kernelName;
  int64_t gridX = 1;
  int64_t blockX = 1;

  // GPU: a workgroup's warps are spread over its rows before its columns. rowGroups groups of
  // warpsPerGroup warps each own rowsPerGroup rows and split their columns; a group of one warp
  // reduces with shuffles alone, wider groups add one pass through workgroup memory. By default
  // rowGroups = gcd(rows_per_block, warps); the tuning's groupWarps may ask for fewer, wider
  // groups (two warps sharing two rows), so that each lane's activations serve more rows.
  int64_t rowGroups = 1;
  int64_t warpsPerGroup = 1;
  int64_t rowsPerGroup = 1;

  // GPU workgroups of many rows first copy the activations into workgroup memory (quantized to
  // int8 blocks for the int8 method), so that every row reads them from there: one launch, and x
  // crosses L2 once per workgroup.
  bool stagedActivations = false;
  int64_t stagedBytes = 0;
  int64_t sharedBytes = 0;  // all workgroup memory: staged activations and cross-warp partial sums

  // int8 method without staging: the kernel that quantizes x into a scratch buffer of
  // scratchBytes, launched before the product.
  std::string quantizeKernelName;
  int64_t quantizeGridX = 0;
  int64_t quantizeBlockX = 0;
  int64_t scratchBytes = 0;
  bool needsQuantizer() const { return method == DotMethod::Int8 && !stagedActivations; }
};

// Workgroups of at least this many rows stage their activations (when they fit): the copy (and
// for the int8 method the quantization) is shared by enough rows to pay for itself, and it spares
// the separate quantizer launch.
inline constexpr int64_t kStagingMinRows = 8;
// At most this much workgroup memory for staged activations: every chip has 48 KiB per block.
inline constexpr int64_t kStagingMaxBytes = 40 * 1024;

// Plans the kernel for `quant` weights of `rows` x `cols` times `batch` vectors on `target`.
// `allowInt8` permits the int8 method where the chip and the type have it; `layout` is the weights'
// layout (row_planar falls back to blocks for types whose blocks it leaves whole). Tuning values are
// clamped to what the chip and the type can use. Returns nullopt with `error` set when there is
// no kernel (unsupported type, cols not a whole number of blocks, batch outside 1..8).
std::optional<QMatVecPlan> planQMatVec(const TargetInfo& target, mlir::llmc::QuantType quant, int64_t rows,
                                       int64_t cols, int64_t batch, const QMatVecTuning& tuning, bool allowInt8,
                                       mlir::llmc::WeightLayout layout, std::string* error);

// The layout weights take on `target` unless a request says otherwise: row_planar on GPUs (aligned
// codes for their vector loads), the file's blocks on CPUs (which read the mapped file in place).
mlir::llmc::WeightLayout defaultWeightLayout(const TargetInfo& target);

// "_rp" for row_planar, "" for blocks: the kernel name's layout suffix.
std::string layoutSuffix(mlir::llmc::WeightLayout layout);

// The chip's default tuning for `quant` weights (targets/chips.json qmatvec, or its by_quant
// entry for the type, or for the type and the shape class of a rows x cols matrix when given).
QMatVecTuning defaultTuning(const TargetInfo& target, mlir::llmc::QuantType quant, int64_t rows = 0,
                            int64_t cols = 0);

}  // namespace llmc::compiler
