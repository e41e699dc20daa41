#include "llmc/IR/LLMCDialect.h"

#include "mlir/IR/DialectRegistry.h"

#include "llmc/IR/LLMCAttrs.h"
#include "llmc/IR/LLMCOps.h"

#include "llmc/IR/LLMCDialect.cpp.inc"

namespace mlir::llmc {

void LLMCDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "llmc/IR/LLMCOps.cpp.inc"
      >();
}

void registerLLMCDialect(DialectRegistry& registry) { registry.insert<LLMCDialect>(); }

}  // namespace mlir::llmc
