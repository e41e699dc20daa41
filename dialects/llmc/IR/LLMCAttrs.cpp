#include "llmc/IR/LLMCAttrs.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "llmc/IR/LLMCDialect.h"

#include "llmc/IR/LLMCEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/IR/LLMCAttrs.cpp.inc"

namespace mlir::llmc {

namespace {

struct BlockGeometry {
  int64_t values;
  int64_t bytes;
};

// sizeof(block_xxx) and QK_xxx from ggml-common.h.
BlockGeometry getBlockGeometry(QuantType type) {
  switch (type) {
    case QuantType::F32: return {1, 4};
    case QuantType::F16: return {1, 2};
    case QuantType::BF16: return {1, 2};
    case QuantType::Q4_0: return {32, 18};
    case QuantType::Q4_1: return {32, 20};
    case QuantType::Q5_0: return {32, 22};
    case QuantType::Q5_1: return {32, 24};
    case QuantType::Q8_0: return {32, 34};
    case QuantType::Q2_K: return {256, 84};
    case QuantType::Q3_K: return {256, 110};
    case QuantType::Q4_K: return {256, 144};
    case QuantType::Q5_K: return {256, 176};
    case QuantType::Q6_K: return {256, 210};
    case QuantType::IQ4_NL: return {32, 18};
    case QuantType::IQ4_XS: return {256, 136};
    case QuantType::MXFP4: return {32, 17};
  }
  llvm_unreachable("QuantType covers every enumerator above");
}

// Limits of the kernels the lowering generates: a workgroup of at most 1024 threads is 32
// warps of 32 lanes; loads are 1 to 16 values wide (up to 64 bytes of f32); rows per block
// and unroll beyond these bounds exhaust registers on every supported chip.
constexpr int64_t kMaxRowsPerBlock = 64;
constexpr int64_t kMaxWarps = 32;
constexpr int64_t kVectorWidths[] = {1, 2, 4, 8, 16};
constexpr int64_t kMaxUnroll = 16;
constexpr int64_t kMaxRowSteps = 64;
constexpr int64_t kMaxMinBlocks = 32;

}  // namespace

void LLMCDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "llmc/IR/LLMCAttrs.cpp.inc"
      >();
}

int64_t getBlockSize(QuantType type) { return getBlockGeometry(type).values; }

int64_t getBytesPerBlock(QuantType type) { return getBlockGeometry(type).bytes; }

std::optional<int64_t> getRowBytes(QuantType type, int64_t cols) {
  BlockGeometry block = getBlockGeometry(type);
  if (cols < 0 || cols % block.values != 0) return std::nullopt;
  return llvm::checkedMul(cols / block.values, block.bytes);
}

QuantType getStorageType(KvCacheType type) {
  switch (type) {
    case KvCacheType::F16: return QuantType::F16;
    case KvCacheType::Q8_0: return QuantType::Q8_0;
    case KvCacheType::Q4_0: return QuantType::Q4_0;
  }
  llvm_unreachable("KvCacheType covers every enumerator above");
}

LogicalResult TuningAttr::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                                 int64_t rowsPerBlock, int64_t warps, int64_t vectorWidth,
                                 int64_t unroll, int64_t groupWarps, int64_t prefetch,
                                 int64_t rowSteps, int64_t minBlocks) {
  if (rowsPerBlock < 1 || rowsPerBlock > kMaxRowsPerBlock)
    return emitError() << "rows_per_block (" << rowsPerBlock << ") must be in 1.."
                       << kMaxRowsPerBlock;
  if (warps < 1 || warps > kMaxWarps)
    return emitError() << "warps (" << warps << ") must be in 1.." << kMaxWarps;
  if (!llvm::is_contained(kVectorWidths, vectorWidth))
    return emitError() << "vector_width (" << vectorWidth << ") must be 1, 2, 4, 8 or 16";
  if (unroll < 1 || unroll > kMaxUnroll)
    return emitError() << "unroll (" << unroll << ") must be in 1.." << kMaxUnroll;
  if (groupWarps != 0) {
    if (groupWarps < 1 || warps % groupWarps != 0)
      return emitError() << "group_warps (" << groupWarps << ") must divide warps (" << warps << ")";
    if (rowsPerBlock % (warps / groupWarps) != 0)
      return emitError() << "group_warps (" << groupWarps << ") makes " << warps / groupWarps
                         << " groups of warps, which must divide rows_per_block (" << rowsPerBlock << ")";
  }
  if (prefetch != 0 && prefetch != 1)
    return emitError() << "prefetch (" << prefetch << ") must be 0 (none) or 1 (the workgroup's weight rows into L2)";
  if (rowSteps < 1 || rowSteps > kMaxRowSteps)
    return emitError() << "row_steps (" << rowSteps << ") must be in 1.." << kMaxRowSteps;
  if (minBlocks < 0 || minBlocks > kMaxMinBlocks)
    return emitError() << "min_blocks (" << minBlocks << ") must be in 0.." << kMaxMinBlocks
                       << " (workgroups resident per multiprocessor; 0: no register cap)";
  return success();
}

}  // namespace mlir::llmc
