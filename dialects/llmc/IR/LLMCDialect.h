// The llmc dialect and its registration.
#pragma once

#include "mlir/IR/Dialect.h"

#include "llmc/IR/LLMCDialect.h.inc"

namespace mlir::llmc {

// Adds the llmc dialect to `registry`, for tools that parse or build llmc IR.
void registerLLMCDialect(DialectRegistry& registry);

}  // namespace mlir::llmc
