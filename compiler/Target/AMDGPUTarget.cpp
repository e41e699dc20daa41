// AMD: code objects from LLVM's AMDGPU backend, wave64 on GCN/CDNA and wave32 on RDNA, the int8
// dot through llvm.amdgcn.sdot4 (llvm.amdgcn.sudot4 on RDNA3, which has only the mixed-sign form).
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/ROCDLDialect.h"

#include "TargetFactories.h"

namespace llmc::compiler {
namespace {

class AmdgpuTargetInfo final : public TargetInfo {
 public:
  using TargetInfo::TargetInfo;

  CodeGenKind kind() const override { return CodeGenKind::Amdgpu; }

  mlir::Value dot4(mlir::OpBuilder& b, mlir::Location loc, mlir::Value a, mlir::Value bv,
                   mlir::Value acc) const override {
    auto i32 = b.getI32Type();
    auto flag = [&](bool value) { return mlir::LLVM::ConstantOp::create(b, loc, b.getI1Type(), b.getBoolAttr(value)); };
    if (chip().int8_dot_instruction == "v_dot4_i32_iu8") {
      auto op = mlir::LLVM::CallIntrinsicOp::create(
          b, loc, i32, b.getStringAttr("llvm.amdgcn.sudot4"),
          mlir::ValueRange{flag(true), a, flag(true), bv, acc, flag(false)});
      return op.getResult(0);
    }
    auto op = mlir::LLVM::CallIntrinsicOp::create(b, loc, i32, b.getStringAttr("llvm.amdgcn.sdot4"),
                                                    mlir::ValueRange{a, bv, acc, flag(false)});
    return op.getResult(0);
  }

  mlir::Attribute gpuTargetAttr(mlir::MLIRContext* context) const override {
    // RDNA runs wave32 by default; GCN and CDNA have wave64 only.
    return mlir::ROCDL::ROCDLTargetAttr::get(context, /*optLevel=*/3, "amdgcn-amd-amdhsa", chipName());
  }

  void addToLLVMPasses(mlir::OpPassManager& pm) const override {
    mlir::OpPassManager& kernels = pm.nest<mlir::gpu::GPUModuleOp>();
    kernels.addPass(mlir::createSCFToControlFlowPass());
    mlir::ConvertGpuOpsToROCDLOpsOptions options;
    options.chipset = chipName();
    options.useBarePtrCallConv = true;
    options.runtime = mlir::gpu::amd::Runtime::HIP;
    kernels.addPass(mlir::createConvertGpuOpsToROCDLOps(options));
    pm.addPass(mlir::createReconcileUnrealizedCastsPass());
  }

  std::string_view kernelFileExtension() const override { return "hsaco"; }
};

}  // namespace

std::unique_ptr<TargetInfo> makeAmdgpuTargetInfo(const targets::ChipInfo& chip) {
  return std::make_unique<AmdgpuTargetInfo>(chip);
}

}  // namespace llmc::compiler
