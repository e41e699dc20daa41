// The f32 method: without the int8 dot (int8-dot=false, or a type without an integer kernel) the
// weights are dequantized in registers and multiplied with f32 activations, each lane summing
// into one f32 per row and vector with contractible multiply-adds; one kernel, no scratch. The
// tuning attribute sets the launch: 2 rows and 8 warps per workgroup, two groups of 4 warps with
// a row each, so 8 warps x 1 row x 2 vectors of partial sums in workgroup memory.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatvec="target=nvptx chip=sm_90 int8-dot=false" --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @decode
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch_func @llmc_kernels::@llmc_qmatvec_q4_K_100x512_b2_f32_r2w8v4u2 blocks in (%c50, %c1, %c1) threads in (%c256, %c1, %c1)
// CHECK: gpu.module @llmc_kernels [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx78">]
// CHECK: gpu.func @llmc_qmatvec_q4_K_100x512_b2_f32_r2w8v4u2
// CHECK-SAME: workgroup(%{{.*}} : memref<16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-NOT: nvvm.dot.accumulate.4way
// CHECK: %[[PRODUCT:.*]] = arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : f32
// CHECK-NEXT: arith.addf %[[PRODUCT]], %{{.*}} fastmath<contract> : f32
// CHECK: gpu.shuffle xor
func.func @decode(%w: memref<28800xi8>, %x: memref<2x512xf32>, %y: memref<2x100xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q4_K> rows = 100 cols = 512
      tuning<rows_per_block = 2, warps = 8, vector_width = 4, unroll = 2>
      : memref<28800xi8>, memref<2x512xf32>, memref<2x100xf32>
  return
}
