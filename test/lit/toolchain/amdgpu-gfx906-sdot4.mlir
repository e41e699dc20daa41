// gfx906 (GCN, wave64) code from MLIR 22 without ROCm: llvm.amdgcn.sdot4 becomes v_dot4_i32_i8.
// REQUIRES: compiler
// RUN: llmc-opt %s --gpu-module-to-binary=format=isa | FileCheck %s

// CHECK: .amdgcn_target \22amdgcn-amd-amdhsa--gfx906
// CHECK: v_dot4_i32_i8
// CHECK: .wavefront_size: 64
module attributes {gpu.container_module} {
  gpu.module @kernels [#rocdl.target<chip = "gfx906">] {
    llvm.func @dot4(%a: i32, %b: i32, %c: i32, %out: !llvm.ptr<1>) attributes {rocdl.kernel} {
      %clamp = llvm.mlir.constant(false) : i1
      %r = llvm.call_intrinsic "llvm.amdgcn.sdot4"(%a, %b, %c, %clamp) : (i32, i32, i32, i1) -> i32
      llvm.store %r, %out : i32, !llvm.ptr<1>
      llvm.return
    }
  }
}
