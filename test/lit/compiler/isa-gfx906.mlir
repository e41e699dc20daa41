// gfx906 code from the in-process pipeline: a wave64 code object whose q8_0 product uses
// v_dot4_i32_i8 and whose reduction crosses 64 lanes.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=gfx906 | FileCheck %s

// CHECK: .amdgcn_target \22amdgcn-amd-amdhsa--gfx906
// CHECK-SAME: llmc_qmatvec_q8_0_64x256_b1_int8_r1w2v2u1:
// CHECK-SAME: v_dot4_i32_i8
// CHECK-SAME: .wavefront_size: 64
func.func @decode(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x64xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256 : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
  return
}
