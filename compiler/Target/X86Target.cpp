// x86-64: kernels are plain functions over a range of rows, vectorized with the vector dialect and
// compiled by LLVM's X86 backend for the AVX2 baseline (x86-64-v3).
#include "mlir/Conversion/Passes.h"

#include "TargetFactories.h"

namespace llmc::compiler {
namespace {

class X86TargetInfo final : public TargetInfo {
 public:
  using TargetInfo::TargetInfo;

  CodeGenKind kind() const override { return CodeGenKind::X86; }

  mlir::Value dot4(mlir::OpBuilder&, mlir::Location, mlir::Value, mlir::Value, mlir::Value) const override {
    return {};  // hasInt8Dot() is false: AVX2 has no signed 4-way byte dot.
  }

  mlir::Attribute gpuTargetAttr(mlir::MLIRContext*) const override { return {}; }

  void addToLLVMPasses(mlir::OpPassManager& pm) const override {
    pm.addPass(mlir::createSCFToControlFlowPass());
    mlir::ConvertVectorToLLVMPassOptions vectorOptions;
    vectorOptions.reassociateFPReductions = true;  // a tree of adds; the order is ours to pick
    pm.addPass(mlir::createConvertVectorToLLVMPass(vectorOptions));
    pm.addPass(mlir::createFinalizeMemRefToLLVMConversionPass());
    pm.addPass(mlir::createArithToLLVMConversionPass());
    pm.addPass(mlir::createConvertIndexToLLVMPass());
    mlir::ConvertFuncToLLVMPassOptions funcOptions;
    funcOptions.useBarePtrCallConv = true;  // extern "C" signatures with plain pointers
    pm.addPass(mlir::createConvertFuncToLLVMPass(funcOptions));
    pm.addPass(mlir::createConvertControlFlowToLLVMPass());
    pm.addPass(mlir::createUBToLLVMConversionPass());
    pm.addPass(mlir::createReconcileUnrealizedCastsPass());
  }

  std::string_view kernelFileExtension() const override { return "so"; }
};

}  // namespace

std::unique_ptr<TargetInfo> makeX86TargetInfo(const targets::ChipInfo& chip) {
  return std::make_unique<X86TargetInfo>(chip);
}

}  // namespace llmc::compiler
