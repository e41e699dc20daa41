// rms_norm with q8 on NVPTX (sm_61) and x86-64: one kernel writes the normalized rows and their
// int8 blocks (codes as 32-byte vectors, then each block's scale and scaled sum), so the int8
// products that follow need no quantizer launch of their own. On sm_90 it lets a product launched
// overlapping it start at once, as the quantizer it replaces does; sm_61 has no such control.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-elementwise="target=nvptx chip=sm_61" --canonicalize --cse | FileCheck %s
// RUN: llmc-opt %s --llmc-lower-elementwise="target=x86" --canonicalize --cse | FileCheck %s --check-prefix=CPU
// RUN: llmc-opt %s --llmc-lower-elementwise="target=nvptx chip=sm_90" | FileCheck %s --check-prefix=SM90
// RUN: llmc-opt %s --llmc-lower-elementwise="target=nvptx chip=sm_61" | FileCheck %s --check-prefix=SM61
// SM90: gpu.func @llmc_rms_norm_t1x4096_e3727c5ac_q8(
// SM90-NEXT: gpu.thread_id
// SM90: "griddepcontrol.launch_dependents;"
// SM61-NOT: griddepcontrol

// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @llmc_kernels::@llmc_rms_norm_t1x4096_e3727c5ac_q8 blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%{{.*}} : memref<1x4096xf32>, %{{.*}} : memref<4096xf32>, %{{.*}} : memref<1x4096xf32>, %{{.*}} : memref<5120xi8>)
// CHECK: gpu.func @llmc_rms_norm_t1x4096_e3727c5ac_q8(
// CHECK: gpu.shuffle xor
// CHECK: vector.reduction <maxnumf>, %{{.*}} : vector<32xf32> into f32
// CHECK: arith.trunci %{{.*}} : vector<32xi32> to vector<32xi8>
// CHECK: vector.store %{{.*}} : memref<5120xi8>, vector<32xi8>
// CHECK: memref.store %{{.*}} : memref<1280xf32>
// CPU: func.func @llmc_rms_norm_t1x4096_e3727c5ac_q8(
// CPU: vector.reduction <maxnumf>, %{{.*}} : vector<32xf32> into f32
// CPU: vector.store %{{.*}} : memref<5120xi8>, vector<32xi8>
func.func @decode(%x: memref<1x4096xf32>, %weight: memref<4096xf32>, %out: memref<1x4096xf32>, %q8: memref<5120xi8>) {
  llmc.rms_norm %x, %weight -> %out, %q8 eps = 1.0e-5
      : memref<1x4096xf32>, memref<4096xf32>, memref<1x4096xf32>, memref<5120xi8>
  return
}
