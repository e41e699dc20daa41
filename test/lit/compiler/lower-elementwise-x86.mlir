// llmc-lower-elementwise for x86-64: each kernel is a function over a range of token rows, its
// rows walked in 256-bit vectors (8 f32) where the row length allows and in narrower ones where it
// does not; the op becomes a call over all rows.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-elementwise=target=x86 --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @decode
// CHECK: call @llmc_softmax_t3x1000(%{{.*}}, %{{.*}}, %c0, %c3) : (memref<3x1000xf32>, memref<3x1000xf32>, index, index) -> ()
// CHECK: call @llmc_mul_t2x17_row(%{{.*}}, %{{.*}}, %{{.*}}, %c0, %c2) : (memref<2x17xf32>, memref<17xf32>, memref<2x17xf32>, index, index) -> ()
// CHECK: call @llmc_kv_store_f16_t1x64_n16(%{{.*}}, %{{.*}}, %{{.*}}, %c0, %c1) : (memref<1x64xf32>, memref<16x64xf16>, i64, index, index) -> ()
// CHECK-NOT: gpu.

// CHECK: func.func @llmc_softmax_t3x1000(%{{.*}}: memref<3x1000xf32>, %{{.*}}: memref<3x1000xf32>, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK-SAME: llmc.kernel = "softmax"
// CHECK: scf.for %[[ROW:.*]] = %[[BEGIN]] to %[[END]] step %c1
// CHECK: llvm.intr.maxnum({{.*}}) : (vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// CHECK: vector.reduction <maxnumf>
// CHECK: vector.store {{.*}} : memref<3x1000xf32>, vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK: func.func @llmc_mul_t2x17_row
// CHECK: arith.mulf {{.*}} : vector<1xf32>
// CHECK: func.func @llmc_kv_store_f16_t1x64_n16
// CHECK: arith.truncf {{.*}} : vector<8xf32> to vector<8xf16>
func.func @decode(%x: memref<3x1000xf32>, %a: memref<2x17xf32>, %b: memref<17xf32>, %kv: memref<1x64xf32>,
                  %cache: memref<16x64xf16>, %p: index) {
  llmc.softmax %x -> %x : memref<3x1000xf32>, memref<3x1000xf32>
  llmc.mul %a, %b -> %a : memref<2x17xf32>, memref<17xf32>, memref<2x17xf32>
  llmc.kv_store %kv -> %cache[%p] kv_cache<f16> : memref<1x64xf32>, memref<16x64xf16>
  return
}
