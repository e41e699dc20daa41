//===- Passes.td - llmc compiler passes --------------------------*- tablegen -*-===//

#ifndef LLMC_COMPILER_PASSES_TD
#define LLMC_COMPILER_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerQMatVecPass : Pass<"llmc-lower-qmatvec", "::mlir::ModuleOp"> {
  let summary = "Lower llmc.qmatvec to a GPU kernel (gpu/scf/vector) or an x86-64 function";
  let description = [{
    Replaces every `llmc.qmatvec` with a call of a kernel generated for one chip. For NVPTX and
    AMDGPU the kernel is a `gpu.func` in the module's `gpu.module @llmc_kernels` (created with the
    chip's target attribute) and the op becomes `gpu.launch_func`; on chips with an int8 dot
    instruction, the types with an integer kernel (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)
    multiply int8-quantized activations by dp4a / v_dot4; with fewer than 16 rows per workgroup a
    second kernel quantizes x first.
    For x86 the kernel is a `func.func` over a range of rows (scf loops, vector arithmetic) and the
    op becomes a `func.call` over all rows. The tuning attribute (or the chip's default from
    targets/chips.json) sets rows per workgroup, warps, bytes per lane step and unroll; kernel
    names say the type, shape, dot method and tuning.

    Before:

    ```mlir
    llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256
        : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
    ```

    After (target=nvptx):

    ```mlir
    gpu.module @llmc_kernels [#nvvm.target<chip = "sm_61", features = "+ptx60">] {
      gpu.func @llmc_qmatvec_q8_0_64x256_b1_int8_r1w4v2u1(...) kernel { ... }
      gpu.func @llmc_quantize_q8_256_b1(...) kernel { ... }
    }
    gpu.launch_func @llmc_kernels::@llmc_quantize_q8_256_b1 ...
    gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_64x256_b1_int8_r1w4v2u1 ...
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::ROCDL::ROCDLDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"nvptx\"",
           "Code generator: nvptx, amdgpu or x86">,
    Option<"chip", "chip", "std::string", /*default=*/"\"\"",
           "Chip (sm_61, gfx906, x86-64, ...); empty picks the target's oldest supported chip">,
    Option<"int8Dot", "int8-dot", "bool", /*default=*/"true",
           "Use the chip's int8 dot-4 instruction where the quant type has an integer kernel">,
  ];
}

#endif // LLMC_COMPILER_PASSES_TD
