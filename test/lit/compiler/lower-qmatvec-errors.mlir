// llmc-lower-qmatvec reports targets and chips it cannot generate for.
// REQUIRES: compiler
// RUN: not llmc-opt %s --llmc-lower-qmatvec=target=spirv 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not llmc-opt %s --llmc-lower-qmatvec="target=nvptx chip=sm_99" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not llmc-opt %s --llmc-lower-qmatvec="target=amdgpu chip=sm_61" 2>&1 | FileCheck %s --check-prefix=MISMATCH

// TARGET: error: llmc-lower-qmatvec: unknown target 'spirv' (expected nvptx, amdgpu or x86)
// CHIP: error: llmc-lower-qmatvec: unknown chip 'sm_99' (see targets/chips.json)
// MISMATCH: error: llmc-lower-qmatvec: chip 'sm_61' is a nvptx chip, not amdgpu
func.func @decode(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x10xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q6_K> rows = 10 cols = 256 : memref<?xi8>, memref<1x256xf32>, memref<1x10xf32>
  return
}
