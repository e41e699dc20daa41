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

class QuantDecoder {
 public:
  QuantDecoder(int64_t blockValues, int64_t blockBytes, int64_t groupLength, int64_t groupsPerSlice,
               int64_t slicesPerBlock)
      : blockValues_(blockValues), blockBytes_(blockBytes), groupLength_(groupLength),
        groupsPerSlice_(groupsPerSlice), slicesPerBlock_(slicesPerBlock) {}
  virtual ~QuantDecoder() = default;

  int64_t blockValues() const { return blockValues_; }  // ggml's block, or a run of f32/f16/bf16
  int64_t blockBytes() const { return blockBytes_; }
  // Alignment of every block's first byte, given a 16-byte aligned buffer.
  int64_t blockAlign() const;
  int64_t groupLength() const { return groupLength_; }
  int64_t groupsPerSlice() const { return groupsPerSlice_; }
  int64_t slicesPerBlock() const { return slicesPerBlock_; }

  // Offset of group `g` of slice `part` (an index) from the block's first value.
  virtual mlir::Value groupOffset(KernelIRBuilder& kb, mlir::Value part, int g) const = 0;
  // The f32 values (vector<groupLength x f32>) of every group of slice `part` of the block whose
  // first byte is `block`.
  virtual llvm::SmallVector<mlir::Value> dequantize(KernelIRBuilder& kb, const WeightViews& w, mlir::Value block,
                                                    mlir::Value part) const = 0;

  virtual bool hasInt8Dot() const { return false; }
  // The slice's f32 contribution to the dot product; `x` holds one entry per group.
  virtual mlir::Value dotInt8(KernelIRBuilder& kb, const TargetInfo& target, const WeightViews& w, mlir::Value block,
                              mlir::Value part, llvm::ArrayRef<Int8Activations> x) const;

 private:
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
                                               TableProvider tables);

// True when the lowering has a kernel for `type`.
bool hasQMatVecKernel(mlir::llmc::QuantType type);

}  // namespace llmc::compiler
