// The whole in-process pipeline for sm_61 (llmc-kernel-pipeline: lowering, NVVM conversion,
// serialization by LLVM's NVPTX backend): PTX for sm_61 whose q4_0 product uses dp4a and whose
// reductions use the sync shuffles of PTX 6.0.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s

// CHECK: gpu.binary @llmc_kernels
// CHECK-SAME: .version 6.0
// CHECK-SAME: .target sm_61
// CHECK-SAME: .visible .entry llmc_qmatvec_q4_0_64x512_b1_int8_r1w4v2u1(
// CHECK-SAME: dp4a.s32.s32
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: .visible .entry llmc_quantize_q8_512_b1(
func.func @decode(%w: memref<?xi8>, %x: memref<1x512xf32>, %y: memref<1x64xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q4_0> rows = 64 cols = 512 : memref<?xi8>, memref<1x512xf32>, memref<1x64xf32>
  return
}
