// llmc enums (quant type, KV cache type, rope mode), attributes, and the ggml block geometry.
#pragma once

#include <cstdint>
#include <optional>

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "llmc/IR/LLMCEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/IR/LLMCAttrs.h.inc"

namespace mlir::llmc {

// Values per ggml block: 1 for f32/f16/bf16, 32 for the legacy and IQ4_NL/MXFP4 formats,
// 256 for the K-quants and IQ4_XS.
int64_t getBlockSize(QuantType type);

// Bytes of one ggml block (sizeof(block_xxx) in ggml-common.h).
int64_t getBytesPerBlock(QuantType type);

// Bytes of a row of `cols` values, or nullopt when `cols` is not a whole number of blocks.
std::optional<int64_t> getRowBytes(QuantType type, int64_t cols);

// The block format a KV cache type stores its rows in.
QuantType getStorageType(KvCacheType type);

}  // namespace mlir::llmc
