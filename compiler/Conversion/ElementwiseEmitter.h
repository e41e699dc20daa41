// Builds the kernels of planned element-wise, row-wise, rotary, KV cache, embedding and attention
// ops: a gpu.func for NVPTX and AMDGPU, or an x86 func.func over a range of token rows. The lowering pass
// (llmc-lower-elementwise) and nothing else calls these; the plan says what to build.
#pragma once

#include "llvm/ADT/SmallVector.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "llmc/compiler/OpPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

// The kernel's parameter types, in the plan's order: static memrefs for buffers (a quantized KV
// cache flattened to its bytes), i64 for a scalar.
llvm::SmallVector<mlir::Type> opKernelParamTypes(mlir::MLIRContext* context, const OpPlan& plan);

// Adds gpu.func @plan.kernelName(params...) to `module`, launched as plan.gridX x plan.blockX.
mlir::gpu::GPUFuncOp emitGpuOpKernel(mlir::gpu::GPUModuleOp module, const OpPlan& plan, const TargetInfo& target);

// Adds func.func @plan.kernelName(params..., row_begin, row_end) to `module`: token rows
// [row_begin, row_end) of the op.
mlir::func::FuncOp emitCpuOpKernel(mlir::ModuleOp module, const OpPlan& plan, const TargetInfo& target);

}  // namespace llmc::compiler
