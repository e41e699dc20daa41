// Builds the functions of a planned qmatvec kernel: the GPU kernel (gpu.func) with its activation
// quantizer, or the x86 function over a row range (func.func). The lowering pass and nothing else
// calls these; the plan says what to build.
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "llmc/compiler/QMatVecPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

// Adds the product kernel of `plan` to `module`: gpu.func @plan.kernelName(w, x | scratch, y).
mlir::gpu::GPUFuncOp emitGpuQMatVec(mlir::gpu::GPUModuleOp module, const QMatVecPlan& plan, const TargetInfo& target);

// Adds the int8 activation quantizer of `plan`: gpu.func @plan.quantizeKernelName(x, scratch).
// Scratch layout: batch x cols int8 codes, then per block of 32 codes a pair of f32: the scale,
// and scale x sum(codes).
mlir::gpu::GPUFuncOp emitGpuQuantizeActivations(mlir::gpu::GPUModuleOp module, const QMatVecPlan& plan,
                                                const TargetInfo& target);

// Adds the x86 function: func.func @plan.kernelName(w, x, y, row_begin, row_end), which computes
// rows [row_begin, row_end) of y.
mlir::func::FuncOp emitCpuQMatVec(mlir::ModuleOp module, const QMatVecPlan& plan, const TargetInfo& target);

}  // namespace llmc::compiler
