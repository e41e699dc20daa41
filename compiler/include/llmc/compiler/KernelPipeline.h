// In-process compilation of planned kernels for one chip: build the llmc IR, lower it with the
// llmc lowering passes and the target's conversions (PassManager, never an external mlir-opt),
// serialize with LLVM's backends, and link the chip's kernels into one bundle file.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmc/compiler/OpPlan.h"
#include "llmc/compiler/QMatMulPlan.h"
#include "llmc/compiler/QMatVecPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace mlir {
class DialectRegistry;
class MLIRContext;
class ModuleOp;
class OpPassManager;
class PassManager;
}  // namespace mlir

namespace llmc::compiler {

// One compiled kernel: PTX text (NVPTX) or a relocatable ELF object (AMDGPU, x86), plus the
// assembly text when asked for.
struct KernelObject {
  std::string bytes;
  std::string assembly;
};

// Registers everything the compiler's pipelines use (dialects, translations to LLVM IR, GPU
// target interfaces) in `registry`; llmc-opt calls it too.
void registerCompilerDialects(mlir::DialectRegistry& registry);

// Registers the llmc passes and the `llmc-kernel-pipeline` pipeline (lower + to LLVM + serialize
// to ISA text inside gpu.binary) for llmc-opt.
void registerCompilerPasses();

// Adds the passes that take a module of llmc ops to the LLVM dialect for `target`:
// llmc-lower-qmatvec, llmc-lower-qmatmul, llmc-lower-elementwise, canonicalization, the target's
// conversions.
void addQMatVecToLLVMPasses(mlir::OpPassManager& pm, const TargetInfo& target, bool allowInt8);

class KernelCompiler {
 public:
  // Uses `target` for every kernel it compiles. Not thread-safe; one per thread.
  explicit KernelCompiler(std::unique_ptr<TargetInfo> target);
  ~KernelCompiler();
  KernelCompiler(const KernelCompiler&) = delete;
  KernelCompiler& operator=(const KernelCompiler&) = delete;

  const TargetInfo& target() const { return *target_; }

  // Which function of a plan to compile: the product, or (int8 method) the activation quantizer,
  // which products of the same columns and batch share.
  enum class Part { Product, ActivationQuantizer };

  // Compiles one function of `plan` on its own, so that objects link without duplicates.
  std::optional<KernelObject> compile(const QMatVecPlan& plan, Part part, bool withAssembly, std::string* error);

  // Compiles the kernel of an element-wise, row-wise, rope, kv_store or embed plan.
  std::optional<KernelObject> compileOp(const OpPlan& plan, bool withAssembly, std::string* error);

  // Compiles the prefill product kernel of a qmatmul plan.
  std::optional<KernelObject> compileQMatMul(const QMatMulPlan& plan, bool withAssembly, std::string* error);

  // The chip's bundle file from its kernels: one PTX module, or a shared object (x86 .so, AMDGPU
  // .hsaco) linked by ld.lld. `workDir` holds temporary files.
  std::optional<std::string> link(const std::vector<const KernelObject*>& kernels, const std::string& workDir,
                                  std::string* error);

 private:
  // Runs `addLowering`'s passes on `module` (a host function holding llmc ops), keeps the kernel
  // `wanted` alone, converts it to LLVM and emits PTX or an object named `moduleName`.
  std::optional<KernelObject> lowerAndEmit(mlir::ModuleOp module, const std::string& wanted,
                                           const std::string& moduleName,
                                           const std::function<void(mlir::PassManager&)>& addLowering,
                                           bool withAssembly, std::string* error);

  std::unique_ptr<TargetInfo> target_;
  std::unique_ptr<mlir::MLIRContext> context_;
};

// ld.lld, from the LLVM the compiler was built with.
std::string lldPath();

}  // namespace llmc::compiler
