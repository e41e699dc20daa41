// How each ggml weight format is cut into lane steps and decoded, written once for every target.
//
// A row is a run of blocks; a block is cut into `slicesPerBlock` slices, the work of one lane for
// one step. A slice decodes `groupsPerSlice` groups of `groupLength` consecutive values each (for
// Q4_0, the low and the high nibbles of the same bytes are two groups 16 values apart). Group
// offsets are multiples of the group length, so activations load as aligned vectors.
//
// Two ways to use a slice: `dequantize` gives f32 values for an f32 dot with the activations (every
// type, every target); `dotInt8` multiplies the integer codes with activations quantized to int8
// blocks of 32 through the chip's dot-4 instruction (types where hasInt8Dot()).
//
// Decoders address a block's bytes through `at`, so one decoder serves both weight layouts
// (llmc::WeightLayout): the file's rows of whole blocks, and rows stored field by field.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include "KernelIRBuilder.h"
#include "llmc/IR/LLMCAttrs.h"

namespace llmc::compiler {

class TargetInfo;

// One group's activations in the int8 form: `quads` (vector<groupLength/4 x i32>, four int8 each),
// the scale d of their block of 32 (x = d * q) and d * sum(q) over that whole block.
struct Int8Activations {
  mlir::Value quads;
  mlir::Value scale;
  mlir::Value scaledSum;
};

// A block of a weight row: the row's first byte and the block's number within the row (both index).
struct BlockRef {
  mlir::Value rowStart;
  mlir::Value index;
};

class QuantDecoder {
 public:
  QuantDecoder(int64_t blockValues, int64_t blockBytes, int64_t groupLength, int64_t groupsPerSlice,
               int64_t slicesPerBlock)
      : blockValues_(blockValues), blockBytes_(blockBytes), groupLength_(groupLength),
        groupsPerSlice_(groupsPerSlice), slicesPerBlock_(slicesPerBlock) {}
  virtual ~QuantDecoder() = default;

  int64_t blockValues() const { return blockValues_; }  // ggml's block, or a run of f32/f16/bf16
  int64_t blockBytes() const { return blockBytes_; }
  mlir::llmc::WeightLayout layout() const { return layout_; }
  int64_t groupLength() const { return groupLength_; }
  int64_t groupsPerSlice() const { return groupsPerSlice_; }
  int64_t slicesPerBlock() const { return slicesPerBlock_; }

  // Offset of group `g` of slice `part` (an index) from the block's first value.
  virtual mlir::Value groupOffset(KernelIRBuilder& kb, mlir::Value part, int g) const = 0;
  // The f32 values (vector<groupLength x f32>) of every group of slice `part` of `block`.
  virtual llvm::SmallVector<mlir::Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, const BlockRef& block,
                                                    mlir::Value part) const = 0;

  virtual bool hasInt8Dot() const { return false; }
  // The slice's f32 contribution to the dot product; `x` holds one entry per group.
  virtual mlir::Value dotInt8(KernelIRBuilder& kb, const TargetInfo& target, const WeightViews& w, const BlockRef& block,
                              mlir::Value part, llvm::ArrayRef<Int8Activations> x) const;
  // n > 1 when group g of every slice reads activation block first + g * n / groupsPerSlice of a
  // run of n consecutive blocks of 32 whose first is a multiple of n (their scales then load as one
  // vector); 1 when every group of a slice is in one activation block.
  virtual int64_t activationBlocksPerSlice() const { return 1; }

  // Fixes the layout of the rows this decoder reads (rows of `cols` values; `blocks` until set).
  void setLayout(mlir::llmc::QuantType type, mlir::llmc::WeightLayout layout, int64_t cols);

 protected:
  // Byte index of byte `offset` of `block` (plus `within`, an index that stays inside the field
  // holding `offset`), in the decoder's layout.
  mlir::Value at(KernelIRBuilder& kb, const BlockRef& block, int64_t offset, mlir::Value within = {}) const;
  // The alignment `at` guarantees for `offset` when `within` is a multiple of `withinAlign` (0: no
  // `within`), given a 16-byte aligned buffer.
  int64_t alignAt(int64_t offset, int64_t withinAlign = 0) const;

 private:
  struct Field {
    int64_t offset;
    int64_t bytes;
  };
  const Field& fieldOf(int64_t offset) const;

  mlir::llmc::WeightLayout layout_ = mlir::llmc::WeightLayout::Blocks;
  // The runs of a block a row stores apart, in order: row_planar's fields, or the whole block.
  llvm::SmallVector<Field, 4> fields_;
  int64_t blocksPerRow_ = 0;
  int64_t rowBytes_ = 0;
  int64_t blockValues_;
  int64_t blockBytes_;
  int64_t groupLength_;
  int64_t groupsPerSlice_;
  int64_t slicesPerBlock_;
};

// The decoder for `type` with `laneBytes` bytes of packed codes per lane step (4 x the tuning's
// vector width), for rows of `cols` values; nullptr for a type without a kernel. `tables` supplies
// the value grids of IQ4_NL, IQ4_XS and MXFP4.
std::unique_ptr<QuantDecoder> makeQuantDecoder(mlir::llmc::QuantType type, int64_t laneBytes, int64_t cols,
                                               TableProvider tables,
                                               mlir::llmc::WeightLayout layout = mlir::llmc::WeightLayout::Blocks);

// The layout a weight of `type` really has when `requested`: row_planar only for types whose
// fields it moves (others are the same bytes either way, and are called `blocks`).
mlir::llmc::WeightLayout effectiveLayout(mlir::llmc::QuantType type, mlir::llmc::WeightLayout requested);

// True when the lowering has a kernel for `type`.
bool hasQMatVecKernel(mlir::llmc::QuantType type);

}  // namespace llmc::compiler
