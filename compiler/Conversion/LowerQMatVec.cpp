// llmc-lower-qmatvec: every llmc.qmatvec becomes a launch (GPU) or a call (x86) of a kernel
// generated for its quant type, shape and tuning; equal kernels are generated once per module.
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/LLVMIR/ROCDLDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"

#include "KernelIRBuilder.h"
#include "QMatVecEmitter.h"
#include "llmc/IR/LLMCOps.h"
#include "llmc/compiler/Passes.h"
#include "llmc/compiler/QMatVecPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

#define GEN_PASS_DEF_LOWERQMATVECPASS
#include "llmc/compiler/Passes.h.inc"

namespace {


QMatVecTuning tuningOf(mlir::llmc::QMatVecOp op, const TargetInfo& target) {
  if (auto tuning = op.getTuningAttr())
    return {tuning.getRowsPerBlock(), tuning.getWarps(), tuning.getVectorWidth(), tuning.getUnroll(), 0,
            tuning.getGroupWarps(), tuning.getPrefetch(), tuning.getRowSteps(), tuning.getMinBlocks()};
  return defaultTuning(target, op.getQuant());
}

// `value` as `type` (a static shape of the same element type), casting when they differ.
mlir::Value castTo(mlir::OpBuilder& b, mlir::Location loc, mlir::Value value, mlir::MemRefType type) {
  if (value.getType() == type) return value;
  return mlir::memref::CastOp::create(b, loc, type, value);
}

class LowerQMatVecPass : public impl::LowerQMatVecPassBase<LowerQMatVecPass> {
 public:
  using LowerQMatVecPassBase::LowerQMatVecPassBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    std::string error;
    std::unique_ptr<TargetInfo> info = makePassTarget(target.getValue(), chip.getValue(), &error);
    if (!info) {
      module.emitError() << "llmc-lower-qmatvec: " << error;
      return signalPassFailure();
    }

    llvm::SmallVector<mlir::llmc::QMatVecOp> ops;
    module.walk([&](mlir::llmc::QMatVecOp op) { ops.push_back(op); });
    for (mlir::llmc::QMatVecOp op : ops) {
      auto x = llvm::cast<mlir::MemRefType>(op.getX().getType());
      std::optional<QMatVecPlan> plan = planQMatVec(*info, op.getQuant(), op.getRows(), op.getCols(), x.getDimSize(0),
                                                    tuningOf(op, *info), int8Dot,
                                                    op.getLayout().value_or(mlir::llmc::WeightLayout::Blocks), &error);
      if (!plan) {
        op.emitError() << "cannot lower: " << error;
        return signalPassFailure();
      }
      if (info->isGpu()) {
        lowerToGpu(module, op, *plan, *info);
      } else {
        lowerToCpu(module, op, *plan, *info);
      }
    }
  }

 private:
  void lowerToGpu(mlir::ModuleOp module, mlir::llmc::QMatVecOp op, const QMatVecPlan& plan, const TargetInfo& info) {
    mlir::gpu::GPUModuleOp kernels = kernelModule(module, info);
    auto product = kernels.lookupSymbol<mlir::gpu::GPUFuncOp>(plan.kernelName);
    if (!product) product = emitGpuQMatVec(kernels, plan, info);
    mlir::gpu::GPUFuncOp quantize;
    if (plan.needsQuantizer()) {
      quantize = kernels.lookupSymbol<mlir::gpu::GPUFuncOp>(plan.quantizeKernelName);
      if (!quantize) quantize = emitGpuQuantizeActivations(kernels, plan, info);
    }

    mlir::OpBuilder b(op);
    mlir::Location loc = op.getLoc();
    auto operandType = [&](mlir::gpu::GPUFuncOp func, unsigned i) {
      return llvm::cast<mlir::MemRefType>(func.getArgumentTypes()[i]);
    };
    mlir::Value w = castTo(b, loc, op.getW(), operandType(product, 0));
    mlir::Value y = castTo(b, loc, op.getY(), operandType(product, 2));
    auto dims = [&](int64_t x) {
      return mlir::gpu::KernelDim3{mlir::arith::ConstantIndexOp::create(b, loc, x), mlir::arith::ConstantIndexOp::create(b, loc, 1),
                                   mlir::arith::ConstantIndexOp::create(b, loc, 1)};
    };
    if (plan.needsQuantizer()) {
      mlir::Value x = castTo(b, loc, op.getX(), operandType(quantize, 0));
      auto scratchType = operandType(product, 1);
      mlir::Value scratch = mlir::gpu::AllocOp::create(b, loc, scratchType, mlir::Type(), mlir::ValueRange{},
                                                       mlir::ValueRange{}, mlir::ValueRange{})
                                .getMemref();
      mlir::gpu::LaunchFuncOp::create(b, loc, quantize, dims(plan.quantizeGridX), dims(plan.quantizeBlockX),
                                      mlir::Value(), mlir::ValueRange{x, scratch});
      mlir::gpu::LaunchFuncOp::create(b, loc, product, dims(plan.gridX), dims(plan.blockX), mlir::Value(),
                                      mlir::ValueRange{w, scratch, y});
      mlir::gpu::DeallocOp::create(b, loc, mlir::Type(), mlir::ValueRange{}, scratch);
    } else {
      mlir::Value x = castTo(b, loc, op.getX(), operandType(product, 1));
      mlir::gpu::LaunchFuncOp::create(b, loc, product, dims(plan.gridX), dims(plan.blockX), mlir::Value(),
                                      mlir::ValueRange{w, x, y});
    }
    op.erase();
  }

  void lowerToCpu(mlir::ModuleOp module, mlir::llmc::QMatVecOp op, const QMatVecPlan& plan, const TargetInfo& info) {
    auto func = module.lookupSymbol<mlir::func::FuncOp>(plan.kernelName);
    if (!func) func = emitCpuQMatVec(module, plan, info);
    mlir::OpBuilder b(op);
    mlir::Location loc = op.getLoc();
    auto argType = [&](unsigned i) { return llvm::cast<mlir::MemRefType>(func.getArgumentTypes()[i]); };
    mlir::Value operands[] = {castTo(b, loc, op.getW(), argType(0)), castTo(b, loc, op.getX(), argType(1)),
                              castTo(b, loc, op.getY(), argType(2)), mlir::arith::ConstantIndexOp::create(b, loc, 0),
                              mlir::arith::ConstantIndexOp::create(b, loc, plan.rows)};
    mlir::func::CallOp::create(b, loc, func, operands);
    op.erase();
  }
};

}  // namespace

}  // namespace llmc::compiler
