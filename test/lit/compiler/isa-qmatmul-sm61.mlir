// sm_61 PTX of the prefill product from the whole in-process pipeline: a q4_K weight tile and an
// activation tile in shared memory (16 KiB each), filled by every thread and fenced by bar.sync,
// read back as 128-bit vectors into 4 x 4 register blocks of fma.rn.f32; weights and activations
// through the read-only path; and no call (nothing from libdevice).
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s --check-prefix=NOCALL

// CHECK: .version 6.0
// CHECK-SAME: .target sm_61
// CHECK-SAME: .visible .entry llmc_qmatmul_q4_K_130x1024_r64w8v4u4(
// CHECK-SAME: .param .u64 llmc_qmatmul_q4_K_130x1024_r64w8v4u4_param_3
// CHECK-SAME: .maxntid 256, 1, 1
// CHECK-SAME: .shared .align 16 .b8 __wg_llmc_qmatmul_q4_K_130x1024_r64w8v4u4_0[16384]
// CHECK-SAME: .shared .align 16 .b8 __wg_llmc_qmatmul_q4_K_130x1024_r64w8v4u4_1[16384]
// CHECK-SAME: mov.u32 {{.*}}%ctaid.y
// CHECK-SAME: ld.global.nc
// CHECK-SAME: st.shared.b32
// CHECK-SAME: bar.sync
// CHECK-SAME: ld.shared.v4.b32
// CHECK-SAME: fma.rn.f32
// CHECK-SAME: bar.sync
// NOCALL-NOT: {{call\.uni|call \(|\.extern|__nv_}}
// NOCALL: gpu.binary
func.func @prefill(%w: memref<?xi8>, %x: memref<?x1024xf32>, %y: memref<?x130xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q4_K> rows = 130 cols = 1024
      : memref<?xi8>, memref<?x1024xf32>, memref<?x130xf32>
  return
}
