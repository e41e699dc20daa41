// llmc-lower-elementwise: every llmc.rms_norm, add, mul, swiglu, softmax, argmax, rope, kv_store,
// embed and attention becomes a launch (GPU) or a call (x86) of a kernel planned from its attributes and
// static shapes (planOp); equal kernels are generated once per module.
#include "llvm/ADT/TypeSwitch.h"
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

#include "ElementwiseEmitter.h"
#include "KernelIRBuilder.h"
#include "llmc/IR/LLMCOps.h"
#include "llmc/compiler/OpPlan.h"
#include "llmc/compiler/Passes.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

#define GEN_PASS_DEF_LOWERELEMENTWISEPASS
#include "llmc/compiler/Passes.h.inc"

namespace {


bool isLowered(mlir::Operation* op) {
  return llvm::isa<mlir::llmc::RmsNormOp, mlir::llmc::AddOp, mlir::llmc::MulOp, mlir::llmc::SwiGluOp,
                   mlir::llmc::SoftmaxOp, mlir::llmc::ArgMaxOp, mlir::llmc::RopeOp, mlir::llmc::KvStoreOp,
                   mlir::llmc::EmbedOp, mlir::llmc::AttentionOp>(op);
}

// A static size of an operand's dimension, or an error naming it.
mlir::FailureOr<int64_t> staticSize(mlir::Operation* op, mlir::Value operand, llvm::StringRef name, unsigned dim,
                                    llvm::StringRef what) {
  const int64_t size = llvm::cast<mlir::MemRefType>(operand.getType()).getDimSize(dim);
  if (mlir::ShapedType::isDynamic(size))
    return op->emitError() << "cannot lower: " << what << " of " << name
                           << " must be static (kernels are generated for one shape)";
  return size;
}

// The kernel's spec from the op's attributes and static shapes.
mlir::FailureOr<OpSpec> specOf(mlir::Operation* op) {
  OpSpec spec;
  auto rowsOf = [&](mlir::Value v, llvm::StringRef name) -> mlir::LogicalResult {
    mlir::FailureOr<int64_t> tokens = staticSize(op, v, name, 0, "the row count");
    if (mlir::failed(tokens)) return mlir::failure();
    spec.tokens = *tokens;
    return mlir::success();
  };
  auto shapeOf = [&](mlir::Value v, llvm::StringRef name) -> mlir::LogicalResult {
    if (mlir::failed(rowsOf(v, name))) return mlir::failure();
    mlir::FailureOr<int64_t> width = staticSize(op, v, name, 1, "the row length");
    if (mlir::failed(width)) return mlir::failure();
    spec.width = *width;
    return mlir::success();
  };
  mlir::LogicalResult ok =
      llvm::TypeSwitch<mlir::Operation*, mlir::LogicalResult>(op)
          .Case([&](mlir::llmc::RmsNormOp o) {
            spec.kind = OpKind::RmsNorm;
            spec.eps = o.getEps().convertToFloat();
            spec.quantize = o.getQ8() != nullptr;
            return shapeOf(o.getX(), "x");
          })
          .Case([&](mlir::llmc::AddOp o) {
            spec.kind = OpKind::Add;
            spec.broadcast = o.getRhs().getType().getRank() == 1;
            return shapeOf(o.getLhs(), "lhs");
          })
          .Case([&](mlir::llmc::MulOp o) {
            spec.kind = OpKind::Mul;
            spec.broadcast = o.getRhs().getType().getRank() == 1;
            return shapeOf(o.getLhs(), "lhs");
          })
          .Case([&](mlir::llmc::SwiGluOp o) {
            spec.kind = OpKind::SwiGlu;
            return shapeOf(o.getGate(), "gate");
          })
          .Case([&](mlir::llmc::SoftmaxOp o) {
            spec.kind = OpKind::Softmax;
            if (std::optional<llvm::APFloat> scale = o.getScale()) spec.scale = scale->convertToFloat();
            return shapeOf(o.getX(), "x");
          })
          .Case([&](mlir::llmc::ArgMaxOp o) {
            spec.kind = OpKind::ArgMax;
            return shapeOf(o.getLogits(), "logits");
          })
          .Case([&](mlir::llmc::RopeOp o) {
            spec.kind = OpKind::Rope;
            spec.ropeMode = o.getMode();
            spec.heads = static_cast<int64_t>(o.getNHeads());
            spec.headDim = static_cast<int64_t>(o.getHeadDim());
            spec.ropeDims = static_cast<int64_t>(o.getDims());
            spec.freqBase = o.getFreqBase().convertToFloat();
            return rowsOf(o.getX(), "x");
          })
          .Case([&](mlir::llmc::KvStoreOp o) -> mlir::LogicalResult {
            spec.kind = OpKind::KvStore;
            spec.cache = o.getKv();
            mlir::FailureOr<int64_t> positions = staticSize(op, o.getCache(), "cache", 0, "the position count");
            if (mlir::failed(positions)) return mlir::failure();
            spec.contextLength = *positions;
            return shapeOf(o.getSrc(), "src");
          })
          .Case([&](mlir::llmc::EmbedOp o) {
            spec.kind = OpKind::Embed;
            spec.quant = o.getQuant();
            spec.tableRows = static_cast<int64_t>(o.getRows());
            spec.width = static_cast<int64_t>(o.getCols());
            spec.layout = o.getLayout().value_or(mlir::llmc::WeightLayout::Blocks);
            return rowsOf(o.getOut(), "out");
          })
          .Case([&](mlir::llmc::AttentionOp o) -> mlir::LogicalResult {
            spec.kind = OpKind::Attention;
            spec.cache = o.getKv();
            spec.heads = static_cast<int64_t>(o.getNHeads());
            spec.kvHeads = static_cast<int64_t>(o.getNKvHeads());
            spec.headDim = static_cast<int64_t>(o.getHeadDim());
            spec.scale = o.getScale().convertToFloat();
            spec.causal = o.getCausal();
            mlir::FailureOr<int64_t> positions = staticSize(op, o.getKCache(), "k_cache", 0, "the position count");
            if (mlir::failed(positions)) return mlir::failure();
            spec.contextLength = *positions;
            return rowsOf(o.getQ(), "q");
          })
          .Default([&](mlir::Operation*) { return mlir::failure(); });
  if (mlir::failed(ok)) return mlir::failure();
  return spec;
}

// The op's operands in the kernel's parameter order.
llvm::SmallVector<mlir::Value> kernelOperands(mlir::Operation* op) {
  return llvm::TypeSwitch<mlir::Operation*, llvm::SmallVector<mlir::Value>>(op)
      .Case([](mlir::llmc::RmsNormOp o) {
        llvm::SmallVector<mlir::Value> operands{o.getX(), o.getWeight(), o.getOut()};
        if (o.getQ8()) operands.push_back(o.getQ8());
        return operands;
      })
      .Case([](mlir::llmc::AddOp o) {
        return llvm::SmallVector<mlir::Value>{o.getLhs(), o.getRhs(), o.getOut()};
      })
      .Case([](mlir::llmc::MulOp o) {
        return llvm::SmallVector<mlir::Value>{o.getLhs(), o.getRhs(), o.getOut()};
      })
      .Case([](mlir::llmc::SwiGluOp o) {
        return llvm::SmallVector<mlir::Value>{o.getGate(), o.getUp(), o.getOut()};
      })
      .Case([](mlir::llmc::SoftmaxOp o) {
        return llvm::SmallVector<mlir::Value>{o.getX(), o.getOut()};
      })
      .Case([](mlir::llmc::ArgMaxOp o) {
        return llvm::SmallVector<mlir::Value>{o.getLogits(), o.getOut()};
      })
      .Case([](mlir::llmc::RopeOp o) {
        return llvm::SmallVector<mlir::Value>{o.getX(), o.getPositions(), o.getOut()};
      })
      .Case([](mlir::llmc::KvStoreOp o) {
        return llvm::SmallVector<mlir::Value>{o.getSrc(), o.getCache(), o.getPosition()};
      })
      .Case([](mlir::llmc::EmbedOp o) {
        return llvm::SmallVector<mlir::Value>{o.getTable(), o.getIds(), o.getOut()};
      })
      .Case([](mlir::llmc::AttentionOp o) {
        return llvm::SmallVector<mlir::Value>{o.getQ(), o.getKCache(), o.getVCache(), o.getNPast(), o.getOut()};
      })
      .Default([](mlir::Operation*) { return llvm::SmallVector<mlir::Value>{}; });
}

// `value` as the kernel parameter type `type`: a memref cast to static sizes, a quantized cache
// flattened to its bytes, an index position as i64.
mlir::Value adapt(mlir::OpBuilder& b, mlir::Location loc, mlir::Value value, mlir::Type type) {
  if (value.getType() == type) return value;
  if (value.getType().isIndex()) return mlir::arith::IndexCastOp::create(b, loc, type, value);
  auto source = llvm::cast<mlir::MemRefType>(value.getType());
  auto target = llvm::cast<mlir::MemRefType>(type);
  if (source.getRank() == target.getRank()) return mlir::memref::CastOp::create(b, loc, target, value);
  // A [positions, row bytes] cache seen as one run of bytes: make both sizes static, then collapse.
  llvm::SmallVector<int64_t> sizes(source.getShape());
  sizes.back() = target.getDimSize(0) / sizes.front();
  auto staticType = mlir::MemRefType::get(sizes, source.getElementType());
  mlir::Value cast = value;
  if (source != staticType) cast = mlir::memref::CastOp::create(b, loc, staticType, value);
  llvm::SmallVector<mlir::ReassociationIndices> all = {{0, 1}};
  return mlir::memref::CollapseShapeOp::create(b, loc, target, cast, all);
}

class LowerElementwisePass : public impl::LowerElementwisePassBase<LowerElementwisePass> {
 public:
  using LowerElementwisePassBase::LowerElementwisePassBase;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    std::string error;
    std::unique_ptr<TargetInfo> info = makePassTarget(target.getValue(), chip.getValue(), &error);
    if (!info) {
      module.emitError() << "llmc-lower-elementwise: " << error;
      return signalPassFailure();
    }

    llvm::SmallVector<mlir::Operation*> ops;
    module.walk([&](mlir::Operation* op) {
      if (isLowered(op)) ops.push_back(op);
    });
    for (mlir::Operation* op : ops) {
      mlir::FailureOr<OpSpec> spec = specOf(op);
      if (mlir::failed(spec)) return signalPassFailure();
      std::optional<OpPlan> plan = planOp(*info, *spec, &error);
      if (!plan) {
        op->emitError() << "cannot lower: " << error;
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
  llvm::SmallVector<mlir::Value> adaptOperands(mlir::OpBuilder& b, mlir::Operation* op, mlir::TypeRange types) {
    llvm::SmallVector<mlir::Value> operands;
    for (auto [value, type] : llvm::zip_equal(kernelOperands(op), types))
      operands.push_back(adapt(b, op->getLoc(), value, type));
    return operands;
  }

  void lowerToGpu(mlir::ModuleOp module, mlir::Operation* op, const OpPlan& plan, const TargetInfo& info) {
    mlir::gpu::GPUModuleOp kernels = kernelModule(module, info);
    auto func = kernels.lookupSymbol<mlir::gpu::GPUFuncOp>(plan.kernelName);
    if (!func) func = emitGpuOpKernel(kernels, plan, info);
    mlir::OpBuilder b(op);
    mlir::Location loc = op->getLoc();
    auto dims = [&](int64_t x) {
      return mlir::gpu::KernelDim3{mlir::arith::ConstantIndexOp::create(b, loc, x),
                                   mlir::arith::ConstantIndexOp::create(b, loc, 1),
                                   mlir::arith::ConstantIndexOp::create(b, loc, 1)};
    };
    mlir::gpu::LaunchFuncOp::create(b, loc, func, dims(plan.gridX), dims(plan.blockX), mlir::Value(),
                                    adaptOperands(b, op, func.getArgumentTypes()));
    op->erase();
  }

  void lowerToCpu(mlir::ModuleOp module, mlir::Operation* op, const OpPlan& plan, const TargetInfo& info) {
    auto func = module.lookupSymbol<mlir::func::FuncOp>(plan.kernelName);
    if (!func) func = emitCpuOpKernel(module, plan, info);
    mlir::OpBuilder b(op);
    mlir::Location loc = op->getLoc();
    llvm::SmallVector<mlir::Value> operands = adaptOperands(b, op, func.getArgumentTypes().drop_back(2));
    operands.push_back(mlir::arith::ConstantIndexOp::create(b, loc, 0));
    operands.push_back(mlir::arith::ConstantIndexOp::create(b, loc, plan.spec.tokens));
    mlir::func::CallOp::create(b, loc, func, operands);
    op->erase();
  }
};

}  // namespace

}  // namespace llmc::compiler
