// llmc-lower-qmatmul for NVPTX: the prefill product becomes one tiled kernel. The token count
// stays dynamic: it is read from x, passed as an i64, and sets the grid's y (64-token tiles);
// x and y are passed with their row count widened to the kernel's maximum. Per K-step the
// workgroup fills two tiles of workgroup memory (the 64 rows' weights, dequantized once, and the
// 64 tokens' activations), then each thread accumulates a 4 x 4 block with vector FMAs.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatmul="target=nvptx chip=sm_61" --canonicalize --cse | FileCheck %s
// RUN: llmc-opt %s --llmc-lower-qmatmul="target=amdgpu chip=gfx906" --canonicalize --cse | FileCheck %s --check-prefix=AMD

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @prefill
// CHECK: %[[W:.*]] = memref.cast %{{.*}} : memref<?xi8> to memref<9648xi8>
// CHECK: %[[T:.*]] = memref.dim %{{.*}}, %c0 : memref<?x256xf32>
// CHECK: %[[X:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [65536, 256], strides: [256, 1] : memref<?x256xf32> to memref<65536x256xf32>
// CHECK: %[[Y:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [65536, 67], strides: [67, 1] : memref<?x67xf32> to memref<65536x67xf32>
// CHECK: %[[T64:.*]] = arith.index_cast %[[T]] : index to i64
// CHECK: %[[TILES:.*]] = arith.ceildivui %[[T]], %c64 : index
// CHECK: gpu.launch_func @llmc_kernels::@llmc_qmatmul_q4_0_67x256_r64w8v4u4 blocks in (%c2, %[[TILES]], %c1) threads in (%c256, %c1, %c1) args(%[[W]] : memref<9648xi8>, %[[X]] : memref<65536x256xf32>, %[[Y]] : memref<65536x67xf32>, %[[T64]] : i64)
// CHECK-NOT: llmc.qmatmul

// CHECK: gpu.func @llmc_qmatmul_q4_0_67x256_r64w8v4u4(%{{.*}}: memref<9648xi8>, %{{.*}}: memref<65536x256xf32>, %{{.*}}: memref<65536x67xf32>, %{{.*}}: i64) workgroup(%[[WT:.*]] : memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[XT:.*]] : memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME: llmc.kernel = "qmatmul"
// CHECK: gpu.block_id y
// CHECK: scf.for {{.*}} = %c0 to %c4 step %c1 iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: vector.load {{.*}} : memref<65536x256xf32>, vector<16xf32>
// CHECK: memref.store {{.*}}, %[[XT]]
// CHECK: memref.store {{.*}}, %[[WT]]
// CHECK: gpu.barrier
// CHECK: vector.load %[[WT]]{{.*}} vector<4xf32>
// CHECK: vector.load %[[XT]]{{.*}} vector<4xf32>
// CHECK: vector.fma {{.*}} : vector<4xf32>
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}} : memref<65536x67xf32>

// wave64: the same 256 threads are 4 waves (r64w4v4u4).
// AMD: gpu.module @llmc_kernels [#rocdl.target<O = 3, chip = "gfx906">]
// AMD: gpu.func @llmc_qmatmul_q4_0_67x256_r64w4v4u4
// AMD-SAME: known_block_size = array<i32: 256, 1, 1>
func.func @prefill(%w: memref<?xi8>, %x: memref<?x256xf32>, %y: memref<?x67xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q4_0> rows = 67 cols = 256
      : memref<?xi8>, memref<?x256xf32>, memref<?x67xf32>
  return
}
