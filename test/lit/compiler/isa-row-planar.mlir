// Row-planar Q6_K weights (layout<row_planar>): with 8 blocks per row every field's plane is
// 16-byte aligned, so the codes load as whole 16-byte vectors and, unlike the file's 210-byte
// blocks (isa-sm90.mlir), need no funnel shifts: no prmt on sm_90, no v_alignbit on gfx906 (the
// same product in the file's layout has 28 and 8).
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_90 | FileCheck %s --check-prefix=SM90-SHIFTS
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=gfx906 | FileCheck %s --check-prefix=GFX906

// SM90: .entry llmc_qmatvec_q6_K_32x2048_b1_int8_r4w2v4u2_rp(
// SM90-SAME: ld.global.nc.v4.b32
// SM90-SAME: dp4a.s32.s32
// SM90-SHIFTS: .entry llmc_qmatvec_q6_K_32x2048_b1_int8_r4w2v4u2_rp(
// SM90-SHIFTS-NOT: prmt.b32.f4e
// SM90-SHIFTS-SAME: ret;
// GFX906: .amdgcn_target \22amdgcn-amd-amdhsa--gfx906
// GFX906-SAME: llmc_qmatvec_q6_K_32x2048_b1_int8_{{r[0-9]+w[0-9]+v[0-9]+u[0-9]+}}_rp:
// GFX906-NOT: v_alignbit
// GFX906-SAME: v_dot4_i32_i8
// GFX906-NOT: v_alignbit
// GFX906-SAME: .Lfunc_end0:
func.func @decode(%w: memref<53760xi8>, %x: memref<1x2048xf32>, %y: memref<1x32xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q6_K> rows = 32 cols = 2048 layout<row_planar>
      : memref<53760xi8>, memref<1x2048xf32>, memref<1x32xf32>
  return
}
