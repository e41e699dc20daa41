// GPU kernel modules lowered to the LLVM dialect may call only what they define: a libdevice or
// ocml function (which a conversion may pick for a math op) is linked by no llmc kernel file, and
// a driver would refuse the file only when loading it. The NVPTX and AMDGPU pipelines end with this
// check; a module without such calls passes unchanged.
// REQUIRES: compiler
// RUN: not llmc-opt %s --split-input-file --pass-pipeline='builtin.module(gpu.module(llmc-reject-external-calls))' 2>&1 | FileCheck %s

// CHECK: error: kernel code calls '__nv_fmaxf', which the module does not define; llmc links no libdevice or ocml
gpu.module @kernels {
  llvm.func @__nv_fmaxf(f32, f32) -> f32
  llvm.func @k(%a: f32, %b: f32) -> f32 {
    %m = llvm.call @__nv_fmaxf(%a, %b) : (f32, f32) -> f32
    llvm.return %m : f32
  }
}

// -----

// CHECK-NOT: error
// CHECK: gpu.module @clean
// CHECK: llvm.intr.maxnum
gpu.module @clean {
  llvm.func @k(%a: f32, %b: f32) -> f32 {
    %m = llvm.intr.maxnum(%a, %b) : (f32, f32) -> f32
    llvm.return %m : f32
  }
}
