// The shape of one generated qmatmul kernel (quantized matrix times T token rows, the prefill
// product) on one chip, decided before any IR is built: the tiles, the register blocks, how a
// K-step of the row is cut into decoder slices, and the functions' names. The lowering builds
// exactly this, and the bundle writer records it in the manifest.
//
// GPU: a tiled matrix-matrix kernel. Workgroup (i, j) computes the tile of rows
// [i x tileRows, ...) and tokens [j x tileTokens, ...) of y. The row (cols) is walked in K-steps
// of stepValues values; per step the workgroup dequantizes its tileRows weight rows into
// workgroup memory once (f32) and stages the tile's activations there, then each thread
// multiplies threadRows x threadTokens register blocks out of them.
//
// x86-64: a function over a range of weight rows; it dequantizes rowsPerStep rows at a time into a
// stack buffer and dots them with every token row, tokensPerStep tokens at a time, with vector
// FMAs: T dot products per dequantization.
//
// How #llmc.tuning<rows_per_block = R, warps = W, vector_width = V, unroll = U> maps:
//   GPU     R: tileRows (weight rows per workgroup), W: warps per workgroup, V: threadTokens
//           (tokens per thread, a power of two up to 8), U: threadRows (rows per thread, a divisor
//           of R up to 8). tileTokens = W x warp size x U x V / R.
//   x86-64  R: rowsPerStep (rows dequantized per step, 1..8), U: tokensPerStep (1..4), V: f32
//           lanes per FMA (a power of two up to 8 that divides cols); W is 1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "llmc/IR/LLMCAttrs.h"
#include "llmc/compiler/QMatVecPlan.h"

namespace llmc::compiler {

class TargetInfo;

struct QMatMulPlan {
  mlir::llmc::QuantType quant = mlir::llmc::QuantType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  QMatVecTuning tuning;  // as applied, after clamping to the chip

  int64_t rowBytes = 0;
  int64_t weightBytes = 0;
  mlir::llmc::WeightLayout layout = mlir::llmc::WeightLayout::Blocks;  // as for qmatvec
  // T of one launch or call is at most this: the kernel's x and y are declared with this many
  // rows (the lowering needs static shapes), and on GPUs the token tiles must fit the grid's y.
  int64_t maxTokens = 0;

  // Row cutting, as the decoders see it: slices of groupsPerSlice groups of groupLength values,
  // from laneBytes of packed data each.
  int64_t laneBytes = 0;
  int64_t groupLength = 0;
  int64_t groupsPerSlice = 0;
  int64_t slicesPerBlock = 0;
  int64_t slicesPerRow = 0;
  // A K-step is slicesPerStep consecutive slices, stepValues values (GPU only).
  int64_t slicesPerStep = 0;
  int64_t stepValues = 0;
  int64_t steps = 0;

  std::string kernelName;

  // GPU: gridX = ceil(rows / tileRows) workgroups of blockX threads along x, ceil(T / tileTokens)
  // along y. Threads form threadRowGroups x threadTokenGroups; thread (a, b) owns rows
  // a x threadRows .. and tokens b x threadTokens .. of the tile.
  int64_t tileRows = 0;
  int64_t tileTokens = 0;
  int64_t threadRows = 0;
  int64_t threadTokens = 0;
  int64_t threadRowGroups = 0;
  int64_t threadTokenGroups = 0;
  int64_t blockX = 1;
  int64_t gridX = 1;
  int64_t sharedBytes = 0;  // the weight tile and the activation tile, f32, per K-step

  // x86-64.
  int64_t rowsPerStep = 1;
  int64_t tokensPerStep = 1;
  int64_t vectorWidth = 1;
  int64_t stackBytes = 0;  // the dequantized rows' buffer (none for F32, read in place)
};

// Tokens a qmatmul kernel takes per launch at most: a prompt batch larger than this is split.
inline constexpr int64_t kQMatMulMaxTokens = 65536;
// Values per K-step a GPU plan aims for: with 64 x 64 tiles, 32 KiB of workgroup memory.
inline constexpr int64_t kQMatMulStepValues = 64;
// The x86-64 row buffer stays within this many bytes, unless one row alone is larger.
inline constexpr int64_t kQMatMulStackBytes = 128 * 1024;

// Plans the kernel for `quant` weights of `rows` x `cols` in `layout` on `target`. Tuning values are clamped
// to what the kernel can use (see above); returns nullopt with `error` set when there is no kernel
// (a type without a decoder, cols not a whole number of blocks, a tuning whose thread grid or
// workgroup memory does not fit).
std::optional<QMatMulPlan> planQMatMul(const TargetInfo& target, mlir::llmc::QuantType quant, int64_t rows,
                                       int64_t cols, const QMatVecTuning& tuning, mlir::llmc::WeightLayout layout,
                                       std::string* error);

// The chip's default qmatmul tuning: 64-row tiles of 256 threads with 4 x 4 register blocks on
// GPUs (64 x 64 tiles), 4 rows and 2 tokens per step in 8-lane vectors on x86-64.
QMatVecTuning defaultQMatMulTuning(const TargetInfo& target);

}  // namespace llmc::compiler
