#include "ObjectEmitter.h"

#include <memory>
#include <mutex>

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "mlir/ExecutionEngine/OptUtils.h"

extern "C" {
void LLVMInitializeX86TargetInfo();
void LLVMInitializeX86Target();
void LLVMInitializeX86TargetMC();
void LLVMInitializeX86AsmPrinter();
void LLVMInitializeAMDGPUTargetInfo();
void LLVMInitializeAMDGPUTarget();
void LLVMInitializeAMDGPUTargetMC();
void LLVMInitializeAMDGPUAsmPrinter();
}

namespace llmc::compiler {
namespace {

void initializeBackends() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeAMDGPUTargetInfo();
    LLVMInitializeAMDGPUTarget();
    LLVMInitializeAMDGPUTargetMC();
    LLVMInitializeAMDGPUAsmPrinter();
  });
}

std::optional<std::string> runCodeGen(llvm::Module& module, llvm::TargetMachine& machine, llvm::CodeGenFileType type,
                                      std::string* error) {
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  llvm::legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, stream, nullptr, type)) {
    *error = "the " + module.getTargetTriple().str() + " code generator cannot emit this file type";
    return std::nullopt;
  }
  passes.run(module);
  return std::string(buffer.str());
}

}  // namespace

std::optional<std::string> emitObject(llvm::Module& module, const MachineTarget& target, std::string* assembly,
                                      std::string* error) {
  initializeBackends();
  llvm::Triple triple(target.triple);
  std::string lookupError;
  const llvm::Target* backend = llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!backend) {
    *error = "no LLVM backend for " + target.triple + ": " + lookupError;
    return std::nullopt;
  }
  std::unique_ptr<llvm::TargetMachine> machine(backend->createTargetMachine(
      triple, target.cpu, target.features, llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine) {
    *error = "cannot create an LLVM target machine for " + target.triple + " " + target.cpu;
    return std::nullopt;
  }
  module.setTargetTriple(triple);
  module.setDataLayout(machine->createDataLayout());
  if (llvm::Error failure = mlir::makeOptimizingTransformer(3, 0, machine.get())(&module)) {
    *error = "LLVM optimization failed: " + llvm::toString(std::move(failure));
    return std::nullopt;
  }
  if (assembly) {
    // Code generation changes the module; listing a copy keeps the object's input intact.
    std::unique_ptr<llvm::Module> copy = llvm::CloneModule(module);
    std::optional<std::string> text = runCodeGen(*copy, *machine, llvm::CodeGenFileType::AssemblyFile, error);
    if (!text) return std::nullopt;
    *assembly = std::move(*text);
  }
  return runCodeGen(module, *machine, llvm::CodeGenFileType::ObjectFile, error);
}

}  // namespace llmc::compiler
