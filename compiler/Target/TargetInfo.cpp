// The chip lookup and the parts of TargetInfo that are the same for every GPU (the gpu dialect
// already abstracts shuffles and workgroup memory).
#include "llmc/compiler/TargetInfo.h"

#include <optional>

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

#include "TargetFactories.h"
#include "llmc/targets/device_catalog.h"

namespace llmc::compiler {

std::string_view codeGenKindName(CodeGenKind kind) {
  switch (kind) {
    case CodeGenKind::Nvptx: return "nvptx";
    case CodeGenKind::Amdgpu: return "amdgpu";
    case CodeGenKind::X86: return "x86";
  }
  return "unknown";
}

std::string_view defaultChip(CodeGenKind kind) {
  switch (kind) {
    case CodeGenKind::Nvptx: return "sm_61";
    case CodeGenKind::Amdgpu: return "gfx906";
    case CodeGenKind::X86: return "x86-64";
  }
  return "";
}

std::unique_ptr<TargetInfo> makePassTarget(std::string_view target, std::string_view chip, std::string* error) {
  std::optional<CodeGenKind> kind;
  for (CodeGenKind k : {CodeGenKind::Nvptx, CodeGenKind::Amdgpu, CodeGenKind::X86})
    if (target == codeGenKindName(k)) kind = k;
  if (!kind) {
    *error = "unknown target '" + std::string(target) + "' (expected nvptx, amdgpu or x86)";
    return nullptr;
  }
  const std::string chipName(chip.empty() ? defaultChip(*kind) : chip);
  std::unique_ptr<TargetInfo> info = makeTargetInfo(chipName, error);
  if (info && info->kind() != *kind) {
    *error = "chip '" + chipName + "' is a " + std::string(codeGenKindName(info->kind())) + " chip, not " +
             std::string(target);
    return nullptr;
  }
  return info;
}

mlir::Value TargetInfo::shuffleXor(mlir::OpBuilder& b, mlir::Location loc, mlir::Value value, int offset) const {
  auto shuffle = mlir::gpu::ShuffleOp::create(b, loc, value, offset, warpSize(), mlir::gpu::ShuffleMode::XOR);
  return shuffle.getShuffleResult();
}

mlir::Attribute TargetInfo::sharedMemorySpace(mlir::MLIRContext* context) const {
  return mlir::gpu::AddressSpaceAttr::get(context, mlir::gpu::AddressSpace::Workgroup);
}

std::unique_ptr<TargetInfo> makeTargetInfo(std::string_view chip, std::string* error) {
  const targets::ChipInfo* info = targets::DeviceCatalog::builtin().find_chip(chip);
  auto fail = [&](std::string message) -> std::unique_ptr<TargetInfo> {
    if (error) *error = std::move(message);
    return nullptr;
  };
  if (!info) return fail("unknown chip '" + std::string(chip) + "' (see targets/chips.json)");
  switch (info->vendor) {
    case targets::Vendor::Nvidia:
      if (smVersion(chip) < 60)
        return fail("chip '" + std::string(chip) + "' is older than sm_60, the oldest llmc generates PTX for");
      return makeNvptxTargetInfo(*info);
    case targets::Vendor::Amd: return makeAmdgpuTargetInfo(*info);
    case targets::Vendor::Cpu:
      if (info->arch != "x86-64") return fail("chip '" + std::string(chip) + "' has no code generator (x86-64 only)");
      return makeX86TargetInfo(*info);
  }
  return fail("chip '" + std::string(chip) + "' has no code generator");
}

namespace {

class RejectExternalCalls final
    : public mlir::PassWrapper<RejectExternalCalls, mlir::OperationPass<mlir::gpu::GPUModuleOp>> {
 public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(RejectExternalCalls)
  llvm::StringRef getArgument() const override { return "llmc-reject-external-calls"; }

  void runOnOperation() override {
    getOperation().walk([&](mlir::LLVM::LLVMFuncOp func) {
      if (!func.isExternal()) return;
      func.emitError() << "kernel code calls '" << func.getSymName()
                       << "', which the module does not define; llmc links no libdevice or ocml";
      signalPassFailure();
    });
  }
};

}  // namespace

std::unique_ptr<mlir::Pass> createRejectExternalCallsPass() { return std::make_unique<RejectExternalCalls>(); }

}  // namespace llmc::compiler
