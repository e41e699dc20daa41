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

def LowerQMatMulPass : Pass<"llmc-lower-qmatmul", "::mlir::ModuleOp"> {
  let summary = "Lower llmc.qmatmul to a tiled GPU kernel or an x86-64 function over weight rows";
  let description = [{
    Replaces every `llmc.qmatmul` (the prefill product: a quantized matrix times T > 8 token
    rows) with a launch (NVPTX, AMDGPU) or a call (x86) of a kernel generated for its quant type,
    shape and tuning; equal kernels are generated once per module. The token count T stays
    dynamic: the op's x and y are passed with their row count widened to the kernel's maximum,
    and T itself as an i64 operand.

    GPU kernels are `gpu.func`s in `gpu.module @llmc_kernels`: a workgroup computes a tile of
    rows x tokens; per K-step its threads dequantize the tile's weights into workgroup memory
    once (f32, through the qmatvec decoders), stage the tile's activations next to them, and
    each thread accumulates a register block of rows x tokens with FMAs. The launch has
    ceil(T / tile tokens) workgroups along y. x86 kernels are `func.func`s over a range of weight
    rows: rows are dequantized into a stack buffer once and dotted with every token row in
    256-bit FMAs. The tuning attribute (or the chip default) sets the tiles: rows_per_block is the
    tile's rows, warps the workgroup's warps, vector_width the tokens and unroll the rows of a
    thread's register block (x86: rows per step, tokens per step, vector lanes).

    Before:

    ```mlir
    llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 64 cols = 256
        : memref<?xi8>, memref<?x256xf32>, memref<?x64xf32>
    ```

    After (target=nvptx):

    ```mlir
    gpu.module @llmc_kernels [#nvvm.target<chip = "sm_61", features = "+ptx60">] {
      gpu.func @llmc_qmatmul_q8_0_64x256_r64w8v4u4(...) workgroup(...) kernel { ... }
    }
    %t = memref.dim %x, %c0 : memref<?x256xf32>
    gpu.launch_func @llmc_kernels::@llmc_qmatmul_q8_0_64x256_r64w8v4u4
        blocks in (%c1, ceildiv(%t, 64), %c1) threads in (%c256, %c1, %c1) ...
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
  ];
}

def LowerElementwisePass : Pass<"llmc-lower-elementwise", "::mlir::ModuleOp"> {
  let summary = "Lower the llmc element-wise, row-wise, rope, kv_store, embed and attention ops to kernels";
  let description = [{
    Replaces every `llmc.rms_norm`, `llmc.add`, `llmc.mul`, `llmc.swiglu`, `llmc.softmax`,
    `llmc.argmax`, `llmc.rope`, `llmc.kv_store`, `llmc.embed` and `llmc.attention` (f16 cache)
    with a launch (NVPTX, AMDGPU) or a
    call (x86) of a kernel generated for its shapes and attributes; equal kernels are generated once
    per module. GPU kernels are `gpu.func`s in `gpu.module @llmc_kernels` (shared with
    llmc-lower-qmatvec); row ops run one workgroup per row and reduce with warp shuffles and
    workgroup memory, element-wise ops one thread per vector, attention one workgroup per query
    row and head with a running softmax per warp. x86 kernels are `func.func`s over a
    range of token rows, vectorized along the row. Exponentials, sines and cosines are built from
    arith operations (no libdevice or ocml calls).

    Token counts (and a KV cache's positions) must be static: kernels are generated per shape.

    Before:

    ```mlir
    llmc.rms_norm %x, %w -> %x eps = 9.99999974E-6
        : memref<1x4096xf32>, memref<4096xf32>, memref<1x4096xf32>
    ```

    After (target=nvptx):

    ```mlir
    gpu.module @llmc_kernels [#nvvm.target<chip = "sm_61", features = "+ptx60">] {
      gpu.func @llmc_rms_norm_t1x4096_e3727c5ac(...) workgroup(...) kernel { ... }
    }
    gpu.launch_func @llmc_kernels::@llmc_rms_norm_t1x4096_e3727c5ac blocks in (%c1, %c1, %c1) ...
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
  ];
}

#endif // LLMC_COMPILER_PASSES_TD
