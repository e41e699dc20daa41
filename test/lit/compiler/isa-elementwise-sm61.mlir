// sm_61 PTX of the element-wise and row kernels from the whole in-process pipeline: rows walked
// without loop branches, warp reductions through shfl.sync butterflies, the exact square root and division, f16 conversion
// in hardware, and no call at all: exp, sin and cos are built from arithmetic, so nothing from
// libdevice is needed.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s
// RUN: llmc-opt %s --llmc-kernel-pipeline=chip=sm_61 | FileCheck %s --check-prefix=NOCALL

// CHECK: .version 6.0
// CHECK-SAME: .target sm_61
// CHECK-SAME: .visible .entry llmc_rms_norm_t1x4096_e3727c5ac(
// A lane's four vectors of the row (and of the weights) load without a branch between them
// (Lanes::walk unrolls).
// CHECK-SAME: ld.global.v4.b32
// CHECK-NOT: bra
// CHECK-SAME: +12288]
// CHECK-NOT: bra
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: bar.sync
// The weights were loaded with x, before the reduction: the second pass only scales and stores.
// CHECK-NOT: ld.global
// CHECK-SAME: sqrt.rn.f32
// CHECK-NOT: ld.global
// CHECK-SAME: st.global.v4.b32
// CHECK-SAME: .visible .entry llmc_softmax_t1x32000(
// CHECK-SAME: .visible .entry llmc_argmax_t1x32000(
// CHECK-SAME: .visible .entry llmc_swiglu_t1x4096(
// CHECK-SAME: div.rn.f32
// CHECK-SAME: .visible .entry llmc_rope_norm_t1_h32x128_d128_f48f42400(
// CHECK-SAME: .visible .entry llmc_kv_store_f16_t1x1024_n64(
// CHECK-SAME: cvt.rn.f16.f32
// NOCALL-NOT: {{call\.uni|call \(|\.extern|__nv_}}
// NOCALL: gpu.binary
func.func @decode(%x: memref<1x4096xf32>, %w: memref<4096xf32>, %logits: memref<1x32000xf32>, %tok: memref<1xi32>,
                  %q: memref<1x4096xf32>, %pos: memref<1xi32>, %kv: memref<1x1024xf32>, %cache: memref<64x1024xf16>, %p: index) {
  llmc.rms_norm %x, %w -> %x eps = 9.99999974E-6 : memref<1x4096xf32>, memref<4096xf32>, memref<1x4096xf32>
  llmc.softmax %logits -> %logits : memref<1x32000xf32>, memref<1x32000xf32>
  llmc.argmax %logits -> %tok : memref<1x32000xf32>, memref<1xi32>
  llmc.swiglu %x, %q -> %x : memref<1x4096xf32>, memref<1x4096xf32>, memref<1x4096xf32>
  llmc.rope %q, %pos -> %q mode<norm> dims = 128 n_heads = 32 head_dim = 128 freq_base = 5.000000e+05
      : memref<1x4096xf32>, memref<1xi32>, memref<1x4096xf32>
  llmc.kv_store %kv -> %cache[%p] kv_cache<f16> : memref<1x1024xf32>, memref<64x1024xf16>
  return
}
