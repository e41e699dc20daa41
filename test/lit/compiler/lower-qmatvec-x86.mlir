// llmc-lower-qmatvec for x86-64: the kernel is a function over a row range (rows_per_block rows
// per step, 4 on x86-64), vectorized with the vector dialect; the op becomes a call over all rows.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatvec=target=x86 --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @decode
// CHECK: call @llmc_qmatvec_q6_K_10x256_b1_f32_r4w1v4u2(%{{.*}}, %{{.*}}, %{{.*}}, %c0, %c10) : (memref<2100xi8>, memref<1x256xf32>, memref<1x10xf32>, index, index) -> ()
// CHECK: func.func @llmc_qmatvec_q6_K_10x256_b1_f32_r4w1v4u2(%{{.*}}: memref<2100xi8>, %{{.*}}: memref<1x256xf32>, %{{.*}}: memref<1x10xf32>, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK-SAME: llmc.kernel = "qmatvec"
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[END]] step %c4
// CHECK: vector.fma {{.*}} : vector<16xf32>
// CHECK: vector.reduction <add>
// CHECK-NOT: gpu.
func.func @decode(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x10xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q6_K> rows = 10 cols = 256 : memref<?xi8>, memref<1x256xf32>, memref<1x10xf32>
  return
}
