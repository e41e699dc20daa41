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

  bool hasOccupancyControl() const override { return true; }

  // rocdl.waves_per_eu (amdgpu-waves-per-eu): `count` workgroups of threads / warpSize waves
  // spread over the four SIMDs of a GCN/CDNA compute unit (of an RDNA workgroup processor, in
  // the WGP mode LLVM compiles for by default). A minimum past what the chip holds is ignored.
  void setMinResidentWorkgroups(mlir::Operation* kernel, int64_t count, int64_t threads) const override {
    constexpr int64_t kSimdsPerUnit = 4;
    const int64_t waves = count * ((threads + warpSize() - 1) / warpSize());
    mlir::Builder b(kernel->getContext());
    kernel->setAttr(mlir::ROCDL::ROCDLDialect::WavesPerEuAttrHelper::getNameStr(),
                    b.getI32IntegerAttr(static_cast<int32_t>((waves + kSimdsPerUnit - 1) / kSimdsPerUnit)));
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
    kernels.addPass(createRejectExternalCallsPass());
    pm.addPass(mlir::createReconcileUnrealizedCastsPass());
  }

  std::string_view kernelFileExtension() const override { return "hsaco"; }
};

}  // namespace

std::unique_ptr<TargetInfo> makeAmdgpuTargetInfo(const targets::ChipInfo& chip) {
  return std::make_unique<AmdgpuTargetInfo>(chip);
}

}  // namespace llmc::compiler
