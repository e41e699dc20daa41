// llmc-lower-qmatvec for AMDGPU: gfx906 is wave64, so the butterfly starts 32 lanes apart and
// shuffles over 64 lanes; its int8 dot is llvm.amdgcn.sdot4 (v_dot4_i32_i8). Equal ops share
// one kernel.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=amdgpu chip=gfx906" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @decode
// CHECK-COUNT-2: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q4_0_32x128_b1_int8_r1w2v2u1
// CHECK: gpu.module @llmc_kernels [#rocdl.target<O = 3, chip = "gfx906">]
// CHECK-COUNT-1: gpu.func @llmc_qmatvec_q4_0_32x128_b1_int8_r1w2v2u1
// CHECK: llvm.call_intrinsic "llvm.amdgcn.sdot4"
// CHECK: gpu.shuffle xor %{{.*}}, %c32_i32, %c64_i32 : f32
// CHECK: gpu.func @llmc_quantize_q8_128_b1
// CHECK-NOT: gpu.func
func.func @decode(%w: memref<2304xi8>, %x: memref<1x128xf32>, %y0: memref<1x32xf32>, %y1: memref<1x32xf32>) {
  llmc.qmatvec %w, %x -> %y0 quant<q4_0> rows = 32 cols = 128 : memref<2304xi8>, memref<1x128xf32>, memref<1x32xf32>
  llmc.qmatvec %w, %x -> %y1 quant<q4_0> rows = 32 cols = 128 : memref<2304xi8>, memref<1x128xf32>, memref<1x32xf32>
  return
}
