// llmc operations.
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llmc/IR/LLMCAttrs.h"
#include "llmc/IR/LLMCDialect.h"

#define GET_OP_CLASSES
#include "llmc/IR/LLMCOps.h.inc"
