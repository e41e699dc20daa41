// The toolchain facts llmc's PTX path rests on: MLIR 22 lowers a gpu.module for sm_61 to PTX
// without a CUDA toolkit, and nvvm.dot.accumulate.4way becomes dp4a.
// REQUIRES: compiler
// RUN: llmc-opt %s --gpu-module-to-binary=format=isa | FileCheck %s

// CHECK: .target sm_61
// CHECK: dp4a.s32.s32
module attributes {gpu.container_module} {
  gpu.module @kernels [#nvvm.target<chip = "sm_61">] {
    llvm.func @dot4(%a: vector<4xi8>, %b: vector<4xi8>, %c: i32, %out: !llvm.ptr<1>) attributes {nvvm.kernel} {
      %r = nvvm.dot.accumulate.4way %a <signed>, %b <signed>, %c : vector<4xi8>, vector<4xi8>
      llvm.store %r, %out : i32, !llvm.ptr<1>
      llvm.return
    }
  }
}
