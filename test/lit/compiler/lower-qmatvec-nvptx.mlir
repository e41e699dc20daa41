// llmc-lower-qmatvec for NVPTX: on sm_61 (dp4a) a q8_0 product becomes two kernels, an activation
// quantizer and an int8 product, launched in that order through a scratch buffer.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=nvptx chip=sm_61" --canonicalize --cse | FileCheck %s

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @decode
// CHECK: %[[W:.*]] = memref.cast %{{.*}} : memref<?xi8> to memref<17408xi8>
// CHECK: %[[SCRATCH:.*]] = gpu.alloc () : memref<320xi8>
// CHECK: gpu.launch_func @llmc_kernels::@llmc_quantize_q8_256_b1 blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%{{.*}} : memref<1x256xf32>, %[[SCRATCH]] : memref<320xi8>)
// CHECK: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q8_0_64x256_b1_int8_r1w4v2u1 blocks in (%c64, %c1, %c1) threads in (%c128, %c1, %c1) args(%[[W]] : memref<17408xi8>, %[[SCRATCH]] : memref<320xi8>, %{{.*}} : memref<1x64xf32>)
// CHECK: gpu.dealloc %[[SCRATCH]]
// CHECK-NOT: llmc.qmatvec

// CHECK: gpu.module @llmc_kernels [#nvvm.target<O = 3, chip = "sm_61", features = "+ptx60">]
// CHECK: gpu.func @llmc_qmatvec_q8_0_64x256_b1_int8_r1w4v2u1(%{{.*}}: memref<17408xi8>, %{{.*}}: memref<320xi8>, %{{.*}}: memref<1x64xf32>) workgroup(%{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: nvvm.dot.accumulate.4way {{.*}} <signed>, {{.*}} <signed>
// CHECK: gpu.shuffle xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: gpu.barrier
// CHECK: gpu.func @llmc_quantize_q8_256_b1(%{{.*}}: memref<1x256xf32>, %{{.*}}: memref<320xi8>) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
func.func @decode(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x64xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 256
      : memref<?xi8>, memref<1x256xf32>, memref<1x64xf32>
  return
}
