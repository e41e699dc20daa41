// llmc-lower-qmatmul reports what it cannot lower: a tuning whose threads do not form a grid
// over the tile, tiles too large for the chip's workgroup memory, strided activations, and
// targets it does not know.
// REQUIRES: compiler
// RUN: not llmc-opt %s --split-input-file --llmc-lower-qmatmul="target=nvptx chip=sm_61" 2>&1 | FileCheck %s
// RUN: not llmc-opt %s --split-input-file --llmc-lower-qmatmul=target=spirv 2>&1 | FileCheck %s --check-prefix=TARGET

// CHECK: error: cannot lower: tuning rows_per_block = 6, unroll = 1: 6 groups of thread rows do not divide the 32 threads of 1 warps
// TARGET: error: llmc-lower-qmatmul: unknown target 'spirv' (expected nvptx, amdgpu or x86)
func.func @grid(%w: memref<?xi8>, %x: memref<?x256xf32>, %y: memref<?x64xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q4_0> rows = 64 cols = 256
      tuning<rows_per_block = 6, warps = 1, vector_width = 4, unroll = 1>
      : memref<?xi8>, memref<?x256xf32>, memref<?x64xf32>
  return
}

// -----

// CHECK: error: cannot lower: tuning rows_per_block = 1, warps = 32, vector_width = 8, unroll = 1: a 1 x 8192 tile needs 1048704 bytes of workgroup memory; sm_61 has 49152
func.func @shared(%w: memref<?xi8>, %x: memref<?x256xf32>, %y: memref<?x64xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q4_0> rows = 64 cols = 256
      tuning<rows_per_block = 1, warps = 32, vector_width = 8, unroll = 1>
      : memref<?xi8>, memref<?x256xf32>, memref<?x64xf32>
  return
}

// -----

// CHECK: error: cannot lower: x must have the identity (row-major) layout
func.func @strided(%w: memref<?xi8>, %x: memref<?x256xf32, strided<[512, 1]>>, %y: memref<?x64xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q4_0> rows = 64 cols = 256
      : memref<?xi8>, memref<?x256xf32, strided<[512, 1]>>, memref<?x64xf32>
  return
}
