// Builds the functions of a planned qmatmul kernel (docs/compiler.md, "The prefill product"): the
// tiled GPU kernel (gpu.func) or the x86 function over a range of weight rows (func.func). The
// lowering pass (llmc-lower-qmatmul) and nothing else calls these; the plan says what to build.
#pragma once

#include "llvm/ADT/SmallVector.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "llmc/compiler/QMatMulPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

// The buffers' parameter types: w memref<weightBytes x i8>, x memref<maxTokens x cols x f32>,
// y memref<maxTokens x rows x f32> (only the first T rows are touched), then T as i64.
llvm::SmallVector<mlir::Type> qmatmulParamTypes(mlir::MLIRContext* context, const QMatMulPlan& plan);

// Adds gpu.func @plan.kernelName(w, x, y, tokens) to `module`, launched as plan.gridX x
// ceil(T / plan.tileTokens) workgroups of plan.blockX threads.
mlir::gpu::GPUFuncOp emitGpuQMatMul(mlir::gpu::GPUModuleOp module, const QMatMulPlan& plan, const TargetInfo& target);

// Adds func.func @plan.kernelName(w, x, y, tokens, row_begin, row_end): rows [row_begin, row_end)
// of y for every token row.
mlir::func::FuncOp emitCpuQMatMul(mlir::ModuleOp module, const QMatMulPlan& plan, const TargetInfo& target);

}  // namespace llmc::compiler
