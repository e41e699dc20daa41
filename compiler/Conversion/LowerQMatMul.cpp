// llmc-lower-qmatmul: every llmc.qmatmul becomes a launch (GPU) or a call (x86) of a tiled kernel
// generated for its quant type, shape and tuning; equal kernels are generated once per module.
// The token count stays dynamic: it is read from x and passed to the kernel.
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
#include "mlir/Pass/Pass.h"

#include "KernelIRBuilder.h"
#include "QMatMulEmitter.h"
#include "llmc/IR/LLMCOps.h"
#include "llmc/compiler/Passes.h"
#include "llmc/compiler/QMatMulPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

#define GEN_PASS_DEF_LOWERQMATMULPASS
#include "llmc/compiler/Passes.h.inc"

namespace {


QMatVecTuning tuningOf(mlir::llmc::QMatMulOp op, const TargetInfo& target) {
  if (auto tuning = op.getTuningAttr())
    return {tuning.getRowsPerBlock(), tuning.getWarps(), tuning.getVectorWidth(), tuning.getUnroll()};
  return defaultQMatMulTuning(target);
}

// `value` as the kernel's parameter type: the same buffer, its row count replaced by the kernel's
// declared maximum (the kernel touches only the first T rows). Only identity layouts qualify.
mlir::Value asKernelRows(mlir::OpBuilder& b, mlir::Location loc, mlir::Value value, mlir::MemRefType type) {
  if (value.getType() == type) return value;
  return mlir::memref::ReinterpretCastOp::create(b, loc, type, value, 0, type.getShape(),
                                                 llvm::ArrayRef<int64_t>{type.getDimSize(1), 1});
}

class LowerQMatMulPass : public impl::LowerQMatMulPassBase<LowerQMatMulPass> {
 public:
  using LowerQMatMulPassBase::LowerQMatMulPassBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    std::string error;
    std::unique_ptr<TargetInfo> info = makePassTarget(target.getValue(), chip.getValue(), &error);
    if (!info) {
      module.emitError() << "llmc-lower-qmatmul: " << error;
      return signalPassFailure();
    }

    llvm::SmallVector<mlir::llmc::QMatMulOp> ops;
    module.walk([&](mlir::llmc::QMatMulOp op) { ops.push_back(op); });
    for (mlir::llmc::QMatMulOp op : ops) {
      for (auto [operand, name] : {std::pair{op.getX(), "x"}, std::pair{op.getY(), "y"}}) {
        if (!llvm::cast<mlir::MemRefType>(operand.getType()).getLayout().isIdentity()) {
          op.emitError() << "cannot lower: " << name << " must have the identity (row-major) layout";
          return signalPassFailure();
        }
      }
      std::optional<QMatMulPlan> plan =
          planQMatMul(*info, op.getQuant(), op.getRows(), op.getCols(), tuningOf(op, *info),
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
  // The kernel's operands (w, x, y, T as i64), and T as an index.
  std::pair<llvm::SmallVector<mlir::Value>, mlir::Value> operands(mlir::OpBuilder& b, mlir::llmc::QMatMulOp op,
                                                                   mlir::TypeRange types) {
    mlir::Location loc = op.getLoc();
    mlir::Value w = op.getW();
    auto weights = llvm::cast<mlir::MemRefType>(types[0]);
    if (w.getType() != weights) w = mlir::memref::CastOp::create(b, loc, weights, w);
    mlir::Value tokens = mlir::memref::DimOp::create(b, loc, op.getX(), 0);
    llvm::SmallVector<mlir::Value> values = {
        w, asKernelRows(b, loc, op.getX(), llvm::cast<mlir::MemRefType>(types[1])),
        asKernelRows(b, loc, op.getY(), llvm::cast<mlir::MemRefType>(types[2])),
        mlir::arith::IndexCastOp::create(b, loc, b.getI64Type(), tokens)};
    return {values, tokens};
  }

  void lowerToGpu(mlir::ModuleOp module, mlir::llmc::QMatMulOp op, const QMatMulPlan& plan, const TargetInfo& info) {
    mlir::gpu::GPUModuleOp kernels = kernelModule(module, info);
    auto func = kernels.lookupSymbol<mlir::gpu::GPUFuncOp>(plan.kernelName);
    if (!func) func = emitGpuQMatMul(kernels, plan, info);
    mlir::OpBuilder b(op);
    mlir::Location loc = op.getLoc();
    auto [args, tokens] = operands(b, op, func.getArgumentTypes());
    auto index = [&](int64_t v) { return mlir::arith::ConstantIndexOp::create(b, loc, v).getResult(); };
    mlir::Value tokenTiles = mlir::arith::CeilDivUIOp::create(b, loc, tokens, index(plan.tileTokens));
    mlir::gpu::LaunchFuncOp::create(b, loc, func, mlir::gpu::KernelDim3{index(plan.gridX), tokenTiles, index(1)},
                                    mlir::gpu::KernelDim3{index(plan.blockX), index(1), index(1)}, mlir::Value(),
                                    args);
    op.erase();
  }

  void lowerToCpu(mlir::ModuleOp module, mlir::llmc::QMatMulOp op, const QMatMulPlan& plan, const TargetInfo& info) {
    auto func = module.lookupSymbol<mlir::func::FuncOp>(plan.kernelName);
    if (!func) func = emitCpuQMatMul(module, plan, info);
    mlir::OpBuilder b(op);
    mlir::Location loc = op.getLoc();
    llvm::SmallVector<mlir::Value> args = operands(b, op, func.getArgumentTypes().take_front(4)).first;
    args.push_back(mlir::arith::ConstantIndexOp::create(b, loc, 0));
    args.push_back(mlir::arith::ConstantIndexOp::create(b, loc, plan.rows));
    mlir::func::CallOp::create(b, loc, func, args);
    op.erase();
  }
};

}  // namespace

}  // namespace llmc::compiler
