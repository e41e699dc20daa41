// llmc-lower-elementwise for NVPTX (sm_61): row ops run one workgroup per row and reduce with
// warp shuffles and one value per warp in workgroup memory; element-wise ops give each thread a
// vector of four; a q8_0 cache store quantizes each block of 32 in 32 lanes; the position index
// is passed as i64. Equal ops share one kernel.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-elementwise="target=nvptx chip=sm_61" --canonicalize --cse | FileCheck %s

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @llmc_kernels::@llmc_rms_norm_t2x4096_e3727c5ac blocks in (%c2, %c1, %c1) threads in (%c256, %c1, %c1) args(%{{.*}} : memref<2x4096xf32>, %{{.*}} : memref<4096xf32>, %{{.*}} : memref<2x4096xf32>)
// CHECK: gpu.launch_func @llmc_kernels::@llmc_add_t2x4096_row blocks in (%c8, %c1, %c1) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @llmc_kernels::@llmc_swiglu_t2x4096
// CHECK: gpu.launch_func @llmc_kernels::@llmc_swiglu_t2x4096
// CHECK: gpu.launch_func @llmc_kernels::@llmc_softmax_t2x32000_s3f000000
// CHECK: gpu.launch_func @llmc_kernels::@llmc_argmax_t2x32000 {{.*}} args(%{{.*}} : memref<2x32000xf32>, %{{.*}} : memref<2xi32>)
// CHECK: gpu.launch_func @llmc_kernels::@llmc_rope_neox_t2_h4x128_d64_f49742400
// CHECK: %[[CACHE:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0, 1]] : memref<64x1088xi8> into memref<69632xi8>
// CHECK: %[[POS:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: gpu.launch_func @llmc_kernels::@llmc_kv_store_q8_0_t2x1024_n64 {{.*}} args(%{{.*}} : memref<2x1024xf32>, %[[CACHE]] : memref<69632xi8>, %[[POS]] : i64)
// CHECK: gpu.launch_func @llmc_kernels::@llmc_embed_q6_K_100x256_t2 {{.*}} args(%{{.*}} : memref<21000xi8>, %{{.*}} : memref<2xi32>, %{{.*}} : memref<2x256xf32>)
// CHECK-NOT: llmc.

// CHECK: gpu.module @llmc_kernels [#nvvm.target<O = 3, chip = "sm_61", features = "+ptx60">]
// The rotary frequencies of pair i, freq_base^(-2i / dims), as a float and its remainder.
// CHECK-NEXT: memref.global "private" constant @llmc_rope_neox_t2_h4x128_d64_f49742400_freq : memref<64xf32, #gpu.address_space<global>> = dense<[1.000000e+00, 0.000000e+00, 0.649381638, -5.99703087E-9,
// CHECK: gpu.func @llmc_rms_norm_t2x4096_e3727c5ac({{.*}}) workgroup(%{{.*}} : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME: llmc.kernel = "rms_norm"
// CHECK: vector.load {{.*}} : memref<2x4096xf32>, vector<4xf32>
// CHECK: gpu.shuffle xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: gpu.barrier
// CHECK: llvm.call_intrinsic "llvm.sqrt"
// CHECK: gpu.func @llmc_add_t2x4096_row
// CHECK-COUNT-1: gpu.func @llmc_swiglu_t2x4096
// CHECK: gpu.func @llmc_softmax_t2x32000_s3f000000
// CHECK: gpu.func @llmc_argmax_t2x32000({{.*}}) workgroup(%{{.*}} : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK: gpu.shuffle xor %{{.*}}, %c16_i32, %c32_i32 : i32
// CHECK: gpu.func @llmc_rope_neox_t2_h4x128_d64_f49742400
// CHECK: gpu.func @llmc_kv_store_q8_0_t2x1024_n64(%{{.*}}: memref<2x1024xf32>, %{{.*}}: memref<69632xi8>, %{{.*}}: i64) kernel
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: gpu.func @llmc_embed_q6_K_100x256_t2
func.func @decode(%x: memref<2x4096xf32>, %w: memref<4096xf32>, %g: memref<2x4096xf32>, %logits: memref<2x32000xf32>,
                  %tok: memref<2xi32>, %pos: memref<2xi32>, %q: memref<2x512xf32>, %kc: memref<64x1088xi8>,
                  %kv: memref<2x1024xf32>, %p: index, %table: memref<?xi8>, %ids: memref<2xi32>, %emb: memref<2x256xf32>) {
  llmc.rms_norm %x, %w -> %x eps = 9.99999974E-6 : memref<2x4096xf32>, memref<4096xf32>, memref<2x4096xf32>
  llmc.add %x, %w -> %x : memref<2x4096xf32>, memref<4096xf32>, memref<2x4096xf32>
  llmc.swiglu %g, %x -> %g : memref<2x4096xf32>, memref<2x4096xf32>, memref<2x4096xf32>
  llmc.swiglu %x, %g -> %x : memref<2x4096xf32>, memref<2x4096xf32>, memref<2x4096xf32>
  llmc.softmax %logits -> %logits scale = 0.5 : memref<2x32000xf32>, memref<2x32000xf32>
  llmc.argmax %logits -> %tok : memref<2x32000xf32>, memref<2xi32>
  llmc.rope %q, %pos -> %q mode<neox> dims = 64 n_heads = 4 head_dim = 128 freq_base = 1.000000e+06
      : memref<2x512xf32>, memref<2xi32>, memref<2x512xf32>
  llmc.kv_store %kv -> %kc[%p] kv_cache<q8_0> : memref<2x1024xf32>, memref<64x1088xi8>
  llmc.embed %table[%ids] -> %emb quant<q6_K> rows = 100 cols = 256 : memref<?xi8>, memref<2xi32>, memref<2x256xf32>
  return
}
