// Row groups on a GPU: by default gcd(rows_per_block, warps) groups of warps each own their
// rows (two warps, two rows: a row per warp, no workgroup memory); group_warps = 2 makes one
// group of two warps that share both rows and meet in workgroup memory (2 warps x 2 sums).
// group_warps = 1 asks for what the default gives, so it builds the same kernel, once.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=nvptx chip=sm_90" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1g2 blocks in (%c32, %c1, %c1) threads in (%c64, %c1, %c1)
// CHECK: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1 blocks in (%c32, %c1, %c1) threads in (%c64, %c1, %c1)
// CHECK: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1 blocks in (%c32, %c1, %c1) threads in (%c64, %c1, %c1)

// CHECK: gpu.func @llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1g2({{.*}}) workgroup(%{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {{.*}}) kernel
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK: gpu.barrier
// CHECK: gpu.func @llmc_qmatvec_q8_0_64x256_b1_int8_r2w2v4u1(%{{.*}}: memref<17408xi8>, %{{.*}}: memref<320xi8>, %{{.*}}: memref<1x64xf32>) kernel
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK-NOT: gpu.barrier
// CHECK-NOT: gpu.func @llmc_qmatvec
func.func @decode(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x64xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 1, group_warps = 2>
      : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 1>
      : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256
      tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 1, group_warps = 1>
      : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
  return
}
