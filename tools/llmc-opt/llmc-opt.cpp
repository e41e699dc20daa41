// llmc-opt: an mlir-opt for the lit tests. It registers the llmc dialect and the upstream dialects and passes that the
// llmc lowering pipelines use (gpu, nvvm, rocdl, llvm, scf, vector, arith, ...), plus the
// translations gpu-module-to-binary needs to emit PTX and AMDGPU code.
#include "llmc/IR/LLMCDialect.h"
#include "llmc/compiler/KernelPipeline.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVM/ROCDL/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char** argv) {
  mlir::registerAllPasses();
  llmc::compiler::registerCompilerPasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::llmc::registerLLMCDialect(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::ROCDL::registerROCDLTargetInterfaceExternalModels(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(argc, argv, "llmc optimizer driver\n", registry));
}
