// llmc-lower-qmatmul for x86-64: a function over a range of weight rows (4 per step), which
// dequantizes the step's rows into a stack buffer once and dots them with every token row, two
// tokens at a time, in 8-lane vector FMAs; the op becomes a call over all rows with the token
// count read from x.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-qmatmul=target=x86 --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @prefill
// CHECK: %[[T:.*]] = memref.dim %{{.*}}, %c0 : memref<?x512xf32>
// CHECK: %[[T64:.*]] = arith.index_cast %[[T]] : index to i64
// CHECK: call @llmc_qmatmul_q6_K_10x512_r4w1v8u2(%{{.*}}, %{{.*}}, %{{.*}}, %[[T64]], %c0, %c10) : (memref<4200xi8>, memref<65536x512xf32>, memref<65536x10xf32>, i64, index, index) -> ()
// CHECK: func.func @llmc_qmatmul_q6_K_10x512_r4w1v8u2(%{{.*}}: memref<4200xi8>, %{{.*}}: memref<65536x512xf32>, %{{.*}}: memref<65536x10xf32>, %{{.*}}: i64, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK-SAME: llmc.kernel = "qmatmul"
// CHECK: memref.alloca() {alignment = 32 : i64} : memref<2048xf32>
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[END]] step %c4
// CHECK: vector.store {{.*}} : memref<2048xf32>, vector<16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c2
// CHECK: scf.for {{.*}} = %c0 to %c512 step %c8 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK-NOT: gpu.
func.func @prefill(%w: memref<?xi8>, %x: memref<?x512xf32>, %y: memref<?x10xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q6_K> rows = 10 cols = 512 : memref<?xi8>, memref<?x512xf32>, memref<?x10xf32>
  return
}
