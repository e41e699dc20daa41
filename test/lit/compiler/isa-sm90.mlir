// sm_90 PTX declares PTX ISA 7.8; a Q6_K product uses dp4a there too, and a type without an
// integer kernel (IQ4_NL) falls back to f32 FMAs. Q6_K takes its own sm_90 default (chips.json
// by_quant: 4 rows, 2 warps, 2 slices per trip), IQ4_NL the chip default. Weights and activations
// load through the read-only path (ld.global.nc); Q6_K's 2-byte aligned codes are assembled with
// one funnel shift (prmt) per word.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_90 | FileCheck %s

// CHECK: .version 7.8
// CHECK-SAME: .target sm_90
// CHECK-SAME: .entry llmc_qmatvec_q6_K_32x256_b1_int8_r4w2v4u2(
// CHECK-SAME: ld.global.nc.v4.b32
// CHECK-SAME: prmt.b32.f4e
// CHECK-SAME: dp4a.s32.s32
// CHECK-SAME: .entry llmc_qmatvec_iq4_nl_32x256_b1_f32_r1w4v4u1(
// CHECK-SAME: fma.rn.f32
func.func @decode(%w6: memref<?xi8>, %w4: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x32xf32>) {
  llmc.qmatvec %w6, %x -> %y quant<q6_K> rows = 32 cols = 256 : memref<?xi8>, memref<1x256xf32>, memref<1x32xf32>
  llmc.qmatvec %w4, %x -> %y quant<iq4_nl> rows = 32 cols = 256 : memref<?xi8>, memref<1x256xf32>, memref<1x32xf32>
  return
}
