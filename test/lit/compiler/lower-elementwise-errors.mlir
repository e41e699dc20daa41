// llmc-lower-elementwise generates kernels for static token counts and reports what it cannot
// lower, naming the op, the operand and the reason.
// REQUIRES: compiler
// RUN: not llmc-opt %s --split-input-file --llmc-lower-elementwise="target=x86" 2>&1 | FileCheck %s
// RUN: not llmc-opt %s --split-input-file --llmc-lower-elementwise="target=amdgpu chip=sm_61" 2>&1 | FileCheck %s --check-prefix=MISMATCH

// CHECK: error: cannot lower: the row count of x must be static (kernels are generated for one shape)
// MISMATCH: error: llmc-lower-elementwise: chip 'sm_61' is a nvptx chip, not amdgpu
func.func @dynamic(%x: memref<?x4096xf32>, %w: memref<4096xf32>) {
  llmc.rms_norm %x, %w -> %x eps = 9.99999974E-6 : memref<?x4096xf32>, memref<4096xf32>, memref<?x4096xf32>
  return
}

// -----

// CHECK: error: cannot lower: the position count of cache must be static
func.func @cache(%k: memref<1x1024xf32>, %cache: memref<?x1088xi8>, %p: index) {
  llmc.kv_store %k -> %cache[%p] kv_cache<q8_0> : memref<1x1024xf32>, memref<?x1088xi8>
  return
}
