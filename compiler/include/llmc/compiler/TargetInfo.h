// What the shared kernel lowering needs to know about one chip, behind one interface: warp size,
// the warp shuffle, the int8 dot-4 instruction, the shared-memory address space, the GPU target
// attribute and the conversion passes down to the LLVM dialect. NVPTX, AMDGPU and X86 implement
// it; everything else in the compiler is written once against it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"

#include "llmc/targets/device_profile.h"

namespace llmc::compiler {

enum class CodeGenKind { Nvptx, Amdgpu, X86 };

// "nvptx", "amdgpu", "x86".
std::string_view codeGenKindName(CodeGenKind kind);

class TargetInfo {
 public:
  explicit TargetInfo(targets::ChipInfo chip) : chip_(std::move(chip)) {}
  virtual ~TargetInfo() = default;

  virtual CodeGenKind kind() const = 0;
  bool isGpu() const { return kind() != CodeGenKind::X86; }
  const std::string& chipName() const { return chip_.arch; }
  // The chip's facts and default tuning (targets/chips.json).
  const targets::ChipInfo& chip() const { return chip_; }

  // Lanes that run in lock step and take part in a shuffle: 32 (NVIDIA, RDNA) or 64 (GCN, CDNA);
  // 1 on a CPU, where SIMD width is a vector type instead.
  int warpSize() const { return chip_.warp_size; }
  bool hasInt8Dot() const { return chip_.has_int8_dot; }

  // `value` from the lane whose id differs in bit `offset` (a butterfly step of a reduction).
  mlir::Value shuffleXor(mlir::OpBuilder& b, mlir::Location loc, mlir::Value value, int offset) const;

  // acc + the dot product of the four signed bytes of `a` and `b` (each an i32): dp4a on NVIDIA,
  // v_dot4_i32_i8 (v_dot4_i32_iu8 on RDNA3) on AMD. Only called when hasInt8Dot().
  virtual mlir::Value dot4(mlir::OpBuilder& b, mlir::Location loc, mlir::Value a, mlir::Value bv,
                           mlir::Value acc) const = 0;

  // Whether prefetchToL2 emits anything on this chip.
  virtual bool hasL2Prefetch() const { return false; }

  // Asks the memory system to bring the cache line holding byte `byteIndex` of the 1-D global
  // buffer `buffer` into L2, without waiting and without using a register. Emits nothing where
  // the chip has no such instruction (hasL2Prefetch).
  virtual void prefetchToL2(mlir::OpBuilder&, mlir::Location, mlir::Value /*buffer*/, mlir::Value /*byteIndex*/) const {}

  // Whether waitForPriorGrid emits anything on this chip: NVIDIA sm_90 and newer.
  virtual bool hasGridDependencyControl() const { return false; }

  // Waits until the grids this one was launched behind (with programmatic stream serialization)
  // have finished and their writes are visible. A no-op for a grid launched the ordinary way.
  // Kernels that emit it read nothing those grids write before it, and store nothing; LLVM must
  // not move such reads above it, so the kernel is marked (kGridDependencyAttr) and only its
  // weights keep read-only, non-aliasing loads.
  virtual void waitForPriorGrid(mlir::OpBuilder&, mlir::Location) const {}

  // Lets a grid launched behind this one with programmatic stream serialization start (it still
  // waits for this one before reading what it writes). A no-op when there is none.
  virtual void startDependentGrids(mlir::OpBuilder&, mlir::Location) const {}

  // Whether setMinResidentWorkgroups emits anything: GPUs.
  virtual bool hasOccupancyControl() const { return false; }

  // Asks the code generator to fit at least `count` workgroups of `threads` threads on one
  // multiprocessor at once, by capping the registers of each lane of `kernel` (a gpu.func):
  // `.minnctapersm` on NVIDIA, a minimum of waves per SIMD on AMD.
  virtual void setMinResidentWorkgroups(mlir::Operation* /*kernel*/, int64_t /*count*/, int64_t /*threads*/) const {}

  // Memory space of workgroup-shared buffers (gpu.func workgroup attributions).
  mlir::Attribute sharedMemorySpace(mlir::MLIRContext* context) const;

  // The gpu.module target attribute (#nvvm.target, #rocdl.target); null for X86.
  virtual mlir::Attribute gpuTargetAttr(mlir::MLIRContext* context) const = 0;

  // Passes that take a module holding lowered kernels (gpu.module for GPUs, func.func for X86) to
  // the LLVM dialect, ready for serialization.
  virtual void addToLLVMPasses(mlir::OpPassManager& pm) const = 0;

  // File extension of the chip's kernel file in a bundle: "ptx", "hsaco", "so".
  virtual std::string_view kernelFileExtension() const = 0;

 private:
  targets::ChipInfo chip_;
};

// Unit attribute on a kernel (gpu.func, then llvm.func) that waits for the prior grid.
inline constexpr llvm::StringLiteral kGridDependencyAttr = "llmc.grid_dependency";

// The target of a chip known to targets/chips.json with a supported code generator (sm_61 and
// newer, gfx906 and newer, x86-64), or nullptr with `error` saying why not.
std::unique_ptr<TargetInfo> makeTargetInfo(std::string_view chip, std::string* error = nullptr);

// A pass on a gpu.module lowered to the LLVM dialect (llmc-reject-external-calls) that fails when
// a kernel calls a function the module does not define (a libdevice __nv_* or ocml __ocml_* call
// that a conversion chose): no kernel file links those libraries, and a driver would refuse the
// file only when loading it.
std::unique_ptr<mlir::Pass> createRejectExternalCallsPass();

// The chip a code generator picks when none is named: sm_61, gfx906, x86-64.
std::string_view defaultChip(CodeGenKind kind);

// The target of a lowering pass's `target` (nvptx, amdgpu, x86) and `chip` (empty: the code
// generator's default) options, or nullptr with `error` saying which option is wrong.
std::unique_ptr<TargetInfo> makePassTarget(std::string_view target, std::string_view chip, std::string* error);

// 61 for "sm_61"; 0 for a name that is not an NVIDIA chip.
int smVersion(std::string_view chip);

// PTX ISA version a chip's kernels declare: the lowest that has the chip and the sync shuffles.
std::string_view ptxFeatureForChip(std::string_view chip);

}  // namespace llmc::compiler
