// gfx906 (wave64) code of the row and cache kernels: a row reduction's butterfly crosses all 64
// lanes (the 32-apart step through ds_bpermute), a q8_0 block of 32 is quantized within half a
// wave, and no function is called (no ocml).
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=gfx906 | FileCheck %s
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=gfx906 | FileCheck %s --check-prefix=NOCALL

// CHECK: .amdgcn_target \22amdgcn-amd-amdhsa--gfx906
// CHECK-SAME: llmc_rms_norm_t1x4096_e3727c5ac:
// CHECK-SAME: ds_bpermute_b32
// CHECK-SAME: v_sqrt_f32
// CHECK-SAME: llmc_softmax_t1x32000:
// CHECK-SAME: llmc_kv_store_q8_0_t1x1024_n64:
// CHECK-SAME: v_cvt_f16_f32
// CHECK-SAME: .wavefront_size: 64
// NOCALL-NOT: {{s_swappc_b64|__ocml}}
// NOCALL: gpu.binary
func.func @decode(%x: memref<1x4096xf32>, %w: memref<4096xf32>, %logits: memref<1x32000xf32>,
                  %kv: memref<1x1024xf32>, %cache: memref<64x1088xi8>, %p: index) {
  llmc.rms_norm %x, %w -> %x eps = 9.99999974E-6 : memref<1x4096xf32>, memref<4096xf32>, memref<1x4096xf32>
  llmc.softmax %logits -> %logits : memref<1x32000xf32>, memref<1x32000xf32>
  llmc.kv_store %kv -> %cache[%p] kv_cache<q8_0> : memref<1x1024xf32>, memref<64x1088xi8>
  return
}
