// NVIDIA: PTX from LLVM's NVPTX backend (no CUDA toolkit), dp4a through nvvm.dot.accumulate.4way.
#include <optional>
#include <string>

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

#include "TargetFactories.h"

namespace llmc::compiler {

int smVersion(std::string_view chip) {
  if (!chip.starts_with("sm_")) return 0;
  int version = 0;
  for (char c : chip.substr(3)) {
    if (c < '0' || c > '9') break;
    version = version * 10 + (c - '0');
  }
  return version;
}

std::string_view ptxFeatureForChip(std::string_view chip) {
  // PTX ISA release notes: shfl.sync and sm_70 arrive in 6.0, sm_75 in 6.3, sm_80 in 7.0,
  // sm_86 in 7.1, sm_89 and sm_90 in 7.8. The lowest version keeps old drivers able to JIT.
  const int sm = smVersion(chip);
  if (sm >= 89) return "+ptx78";
  if (sm >= 86) return "+ptx71";
  if (sm >= 80) return "+ptx70";
  if (sm >= 75) return "+ptx63";
  return "+ptx60";
}

namespace {

// The number of the function argument a pointer is derived from, through address arithmetic and
// the memref descriptors the GPU conversion builds around bare pointers; nothing when it is not
// an argument (`global` then says whether it is a global, such as a decode table) or cannot tell.
std::optional<unsigned> argumentRoot(mlir::Value pointer, bool& global) {
  global = false;
  for (int step = 0; step < 64; ++step) {
    if (auto argument = llvm::dyn_cast<mlir::BlockArgument>(pointer)) {
      if (!llvm::isa<mlir::LLVM::LLVMFuncOp>(argument.getOwner()->getParentOp())) return std::nullopt;
      return argument.getArgNumber();
    }
    mlir::Operation* op = pointer.getDefiningOp();
    if (auto gep = llvm::dyn_cast_or_null<mlir::LLVM::GEPOp>(op)) {
      pointer = gep.getBase();
    } else if (auto cast = llvm::dyn_cast_or_null<mlir::LLVM::AddrSpaceCastOp>(op)) {
      pointer = cast.getArg();
    } else if (llvm::isa_and_nonnull<mlir::LLVM::AddressOfOp>(op)) {
      global = true;
      return std::nullopt;
    } else if (auto extract = llvm::dyn_cast_or_null<mlir::LLVM::ExtractValueOp>(op)) {
      // The value last inserted at the same position of the descriptor.
      mlir::Value container = extract.getContainer();
      auto insert = container.getDefiningOp<mlir::LLVM::InsertValueOp>();
      while (insert && insert.getPosition() != extract.getPosition())
        insert = insert.getContainer().getDefiningOp<mlir::LLVM::InsertValueOp>();
      if (!insert) return std::nullopt;
      pointer = insert.getValue();
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Marks the global-memory loads of the mat-vec and mat-mul kernels (and the activation quantizer)
// as invariant, so that NVPTX reads weights and activations through the read-only data path
// (ld.global.nc). Sound because these kernels never read memory they write, apart from
// workgroup memory (address space 3), whose loads stay as they are. A kernel that waits for the
// prior grid (kGridDependencyAttr) reads activations that grid writes: there only the weights
// (argument 0) and constant tables are marked, and the other inputs are not declared noalias, so
// that their loads stay below the wait.
class MarkReadOnlyLoads final : public mlir::PassWrapper<MarkReadOnlyLoads, mlir::OperationPass<mlir::gpu::GPUModuleOp>> {
 public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(MarkReadOnlyLoads)
  llvm::StringRef getArgument() const override { return "llmc-mark-read-only-loads"; }

  void runOnOperation() override {
    getOperation().walk([](mlir::LLVM::LLVMFuncOp func) {
      auto role = func->getAttrOfType<mlir::StringAttr>("llmc.kernel");
      if (!role || (role.getValue() != "qmatvec" && role.getValue() != "quantize_q8" && role.getValue() != "qmatmul"))
        return;
      // Inputs (every pointer argument but the last, the output; qmatmul's token count follows
      // it) are read-only and distinct.
      mlir::Builder b(func.getContext());
      const bool waits = func->hasAttr(kGridDependencyAttr);
      unsigned output = 0;
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        if (llvm::isa<mlir::LLVM::LLVMPointerType>(func.getArgument(i).getType())) output = i;
      for (unsigned i = 0; i < output; ++i) {
        if (!llvm::isa<mlir::LLVM::LLVMPointerType>(func.getArgument(i).getType())) continue;
        if (!waits || i == 0) func.setArgAttr(i, mlir::LLVM::LLVMDialect::getNoAliasAttrName(), b.getUnitAttr());
        func.setArgAttr(i, mlir::LLVM::LLVMDialect::getReadonlyAttrName(), b.getUnitAttr());
      }
      func.walk([&](mlir::LLVM::LoadOp load) {
        auto type = llvm::dyn_cast<mlir::LLVM::LLVMPointerType>(load.getAddr().getType());
        if (!type || type.getAddressSpace() == 3) return;
        if (waits) {
          bool global = false;
          const std::optional<unsigned> root = argumentRoot(load.getAddr(), global);
          if (!global && root != 0u) return;
        }
        load.setInvariant(true);
      });
    });
  }
};

class NvptxTargetInfo final : public TargetInfo {
 public:
  using TargetInfo::TargetInfo;

  CodeGenKind kind() const override { return CodeGenKind::Nvptx; }

  mlir::Value dot4(mlir::OpBuilder& b, mlir::Location loc, mlir::Value a, mlir::Value bv,
                   mlir::Value acc) const override {
    auto bytes = mlir::VectorType::get({4}, b.getI8Type());
    auto asBytes = [&](mlir::Value word) {
      auto one = mlir::vector::BroadcastOp::create(b, loc, mlir::VectorType::get({1}, b.getI32Type()), word);
      return mlir::vector::BitCastOp::create(b, loc, bytes, one).getResult();
    };
    auto sign = mlir::NVVM::DotAccumulateTypeAttr::get(b.getContext(), mlir::NVVM::DotAccumulateType::SIGNED);
    return mlir::NVVM::DotAccumulate4WayOp::create(b, loc, b.getI32Type(), asBytes(a), sign, asBytes(bv), sign, acc);
  }

  bool hasL2Prefetch() const override { return true; }

  // prefetch.global.L2 (PTX 2.0, every supported chip). Inline PTX: NVPTX selects its prefetch
  // intrinsics only for PTX 8.0 and sm_90.
  void prefetchToL2(mlir::OpBuilder& b, mlir::Location loc, mlir::Value buffer, mlir::Value byteIndex) const override {
    mlir::Value base = mlir::memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    mlir::Value address = mlir::arith::AddIOp::create(b, loc, base, byteIndex);
    mlir::Value word = mlir::arith::IndexCastOp::create(b, loc, b.getI64Type(), address);
    inlinePtx(b, loc, "prefetch.global.L2 [$0];", "l", word);
  }

  bool hasGridDependencyControl() const override { return smVersion(chipName()) >= 90; }

  // griddepcontrol (PTX 7.8, sm_90). The wait clobbers memory, so that LLVM keeps ordinary loads
  // after it.
  void waitForPriorGrid(mlir::OpBuilder& b, mlir::Location loc) const override {
    if (hasGridDependencyControl()) inlinePtx(b, loc, "griddepcontrol.wait;", "~{memory}");
  }
  void startDependentGrids(mlir::OpBuilder& b, mlir::Location loc) const override {
    if (hasGridDependencyControl()) inlinePtx(b, loc, "griddepcontrol.launch_dependents;", "~{memory}");
  }

  bool hasOccupancyControl() const override { return true; }

  // nvvm.minctasm, carried to the llvm.func and printed as .minnctapersm next to the .maxntid the
  // known block size gives: ptxas caps registers at what `count` blocks of that many threads leave.
  void setMinResidentWorkgroups(mlir::Operation* kernel, int64_t count, int64_t /*threads*/) const override {
    mlir::Builder b(kernel->getContext());
    kernel->setAttr(mlir::NVVM::NVVMDialect::getMinctasmAttrName(), b.getI32IntegerAttr(static_cast<int32_t>(count)));
  }

  mlir::Attribute gpuTargetAttr(mlir::MLIRContext* context) const override {
    return mlir::NVVM::NVVMTargetAttr::get(context, /*optLevel=*/3, "nvptx64-nvidia-cuda", chipName(),
                                           ptxFeatureForChip(chipName()));
  }

  void addToLLVMPasses(mlir::OpPassManager& pm) const override {
    mlir::OpPassManager& kernels = pm.nest<mlir::gpu::GPUModuleOp>();
    kernels.addPass(mlir::createSCFToControlFlowPass());
    mlir::ConvertGpuOpsToNVVMOpsOptions options;
    options.useBarePtrCallConv = true;  // kernels take plain device pointers
    kernels.addPass(mlir::createConvertGpuOpsToNVVMOps(options));
    kernels.addPass(createRejectExternalCallsPass());
    kernels.addPass(std::make_unique<MarkReadOnlyLoads>());
    pm.addPass(mlir::createReconcileUnrealizedCastsPass());
  }

  std::string_view kernelFileExtension() const override { return "ptx"; }

 private:
  // One PTX statement without results, which LLVM keeps where it stands (side effects).
  static void inlinePtx(mlir::OpBuilder& b, mlir::Location loc, llvm::StringRef text, llvm::StringRef constraints,
                        mlir::ValueRange operands = {}) {
    mlir::LLVM::InlineAsmOp::create(b, loc, mlir::Type(), operands, text, constraints,
                                    /*has_side_effects=*/true, /*is_align_stack=*/false,
                                    mlir::LLVM::tailcallkind::TailCallKind::None, mlir::LLVM::AsmDialectAttr(),
                                    mlir::ArrayAttr());
  }
};

}  // namespace

std::unique_ptr<TargetInfo> makeNvptxTargetInfo(const targets::ChipInfo& chip) {
  return std::make_unique<NvptxTargetInfo>(chip);
}

}  // namespace llmc::compiler
