// llmc-lower-elementwise for decode attention over an f16 cache: on NVPTX one workgroup of four
// warps per query row and head (grid T x n_heads), n_past passed as i64, each warp's running
// softmax merged through 16-byte aligned workgroup memory (four maxima, four sums, four heads of
// output); on x86-64 a function over token rows with the scaled query and the output in stack
// buffers.
// REQUIRES: compiler
// RUN: llmc-opt %s --llmc-lower-elementwise="target=nvptx chip=sm_61" --canonicalize --cse | FileCheck %s
// RUN: llmc-opt %s --llmc-lower-elementwise=target=x86 --canonicalize --cse | FileCheck %s --check-prefix=X86

// CHECK-LABEL: func.func @decode
// CHECK: %[[PAST:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: gpu.launch_func @llmc_kernels::@llmc_attention_f16_t1_h32x128_kv8_n256_s3db504f3 blocks in (%c32, %c1, %c1) threads in (%c128, %c1, %c1) args(%{{.*}} : memref<1x4096xf32>, %{{.*}} : memref<256x1024xf16>, %{{.*}} : memref<256x1024xf16>, %[[PAST]] : i64, %{{.*}} : memref<1x4096xf32>)
// CHECK: gpu.func @llmc_attention_f16_t1_h32x128_kv8_n256_s3db504f3({{.*}}) workgroup(%{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<512xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: llmc.kernel = "attention"
// CHECK: vector.load %{{.*}} : memref<256x1024xf16>, vector<4xf16>
// CHECK: arith.extf %{{.*}} : vector<4xf16> to vector<4xf32>
// CHECK: gpu.shuffle xor %{{.*}}, %c16_i32, %c32_i32 : f32
// CHECK: gpu.barrier

// X86: call @llmc_attention_f16_t1_h32x128_kv8_n256_s3db504f3(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c0, %c1)
// X86: func.func @llmc_attention_f16_t1_h32x128_kv8_n256_s3db504f3(%{{.*}}: memref<1x4096xf32>, %{{.*}}: memref<256x1024xf16>, %{{.*}}: memref<256x1024xf16>, %{{.*}}: i64, %{{.*}}: memref<1x4096xf32>, %{{.*}}: index, %{{.*}}: index)
// X86: memref.alloca() {alignment = 32 : i64} : memref<128xf32>
// X86: vector.load %{{.*}} : memref<256x1024xf16>, vector<8xf16>
func.func @decode(%q: memref<1x4096xf32>, %k: memref<256x1024xf16>, %v: memref<256x1024xf16>, %n: index,
                  %out: memref<1x4096xf32>) {
  llmc.attention %q, %k, %v, n_past = %n -> %out kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128
      scale = 0.0883883461 : memref<1x4096xf32>, memref<256x1024xf16>, memref<256x1024xf16>, memref<1x4096xf32>
  return
}
