// row_steps = 3: each workgroup computes three blocks of two rows in turn, so 67 rows take
// ceil(67 / 6) = 12 workgroups; the last one's last rows lie past the end, so stores are guarded.
// With prefetch, the workgroup first asks for its first block's 544 bytes (q8_0, 256 columns:
// 272 bytes a row) in L2, and each step for the next block's. Two warps share both rows
// (group_warps = 2), so each step ends at a barrier before the next step's partial sums overwrite
// the workgroup memory. CPUs ignore row_steps (one kernel, one name).
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=nvptx chip=sm_90" --canonicalize --cse | FileCheck %s
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s --check-prefix=PTX
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=x86" | FileCheck %s --check-prefix=CPU

// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_67x256_b1_int8_r2w2v4u1g2p1s3 blocks in (%c12, %c1, %c1) threads in (%c64, %c1, %c1)
// CHECK: gpu.func @llmc_qmatvec_q8_0_67x256_b1_int8_r2w2v4u1g2p1s3(
// CHECK: %[[GROUP:.*]] = gpu.block_id x
// CHECK: arith.muli %[[GROUP]], %c1632 : index
// CHECK: scf.for %{{.*}} = %thread_id_x to %c6 step %c64 {
// CHECK: "prefetch.global.L2 [$0];"
// CHECK: scf.for %[[STEP:.*]] = %c0 to %c3 step %c1 {
// CHECK: %[[FIRST:.*]] = arith.muli %[[GROUP]], %c3 : index
// CHECK: %[[BLOCK:.*]] = arith.addi %[[FIRST]], %[[STEP]] : index
// CHECK: %[[NEXT:.*]] = arith.addi %[[BLOCK]], %c1 : index
// CHECK: arith.muli %[[NEXT]], %c544 : index
// CHECK: "prefetch.global.L2 [$0];"
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %{{.*}}, %c67 : index
// CHECK: memref.store %{{.*}}, %arg2[%c0, %{{.*}}] : memref<1x67xf32>
// CHECK: gpu.barrier
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return

// PTX: .visible .entry llmc_qmatvec_q8_0_67x256_b1_int8_r2w2v4u1g2p1s3(
// PTX: prefetch.global.L2
// PTX: dp4a.s32.s32
// PTX: bar.sync

// CPU: func.func @llmc_qmatvec_q8_0_67x256_b1_f32_r2w1v4u1(
func.func @decode(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x67xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 67 cols = 256
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 1, group_warps = 2, prefetch = 1, row_steps = 3>
      : memref<?xi8>, memref<1x256xf32>, memref<1x67xf32>
  return
}
