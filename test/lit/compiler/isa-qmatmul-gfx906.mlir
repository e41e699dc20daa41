// gfx906 (wave64) code of the prefill product: 32 KiB of LDS for the two tiles, filled with
// ds_write, fenced by s_barrier, read back as 128-bit ds_read_b128 into FMA register blocks, and
// no function called (no ocml).
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=gfx906 | FileCheck %s
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=gfx906 | FileCheck %s --check-prefix=NOCALL

// CHECK: .amdgcn_target \22amdgcn-amd-amdhsa--gfx906
// CHECK-SAME: llmc_qmatmul_q8_0_130x1024_r64w4v4u4:
// CHECK-SAME: ds_write{{[a-z0-9]*}}_b32
// CHECK-SAME: s_barrier
// CHECK-SAME: ds_read_b128
// CHECK-SAME: v_{{fmac|fma}}_f32
// CHECK-SAME: .group_segment_fixed_size: 32768
// CHECK-SAME: .wavefront_size: 64
// NOCALL-NOT: {{s_swappc_b64|__ocml}}
// NOCALL: gpu.binary
func.func @prefill(%w: memref<?xi8>, %x: memref<?x1024xf32>, %y: memref<?x130xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 130 cols = 1024
      : memref<?xi8>, memref<?x1024xf32>, memref<?x130xf32>
  return
}
