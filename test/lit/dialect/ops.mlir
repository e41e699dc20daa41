// Every llmc op and attribute prints in a form that parses back to the same IR.
// REQUIRES: compiler
// RUN: llmc-opt %s | llmc-opt | FileCheck %s
// RUN: llmc-opt %s -mlir-print-op-generic | llmc-opt | FileCheck %s

// CHECK-LABEL: func.func @qmatvec_decode(
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<9437184xi8>, %[[X:[a-z0-9]+]]: memref<1x4096xf32>, %[[Y:[a-z0-9]+]]: memref<1x4096xf32>)
// CHECK: llmc.qmatvec %[[W]], %[[X]] -> %[[Y]] quant<q4_K> rows = 4096 cols = 4096 tuning<rows_per_block = 1, warps = 4, vector_width = 4, unroll = 2> : memref<9437184xi8>, memref<1x4096xf32>, memref<1x4096xf32>
func.func @qmatvec_decode(%w: memref<9437184xi8>, %x: memref<1x4096xf32>, %y: memref<1x4096xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q4_K> rows = 4096 cols = 4096
      tuning<rows_per_block = 1, warps = 4, vector_width = 4, unroll = 2>
      : memref<9437184xi8>, memref<1x4096xf32>, memref<1x4096xf32>
  return
}

// The batch may come from y alone; the weight size may be dynamic; tuning is optional.
// CHECK-LABEL: func.func @qmatvec_batch8(
// CHECK: llmc.qmatvec %{{.*}}, %{{.*}} -> %{{.*}} quant<q8_0> rows = 1024 cols = 4096 : memref<?xi8>, memref<?x4096xf32>, memref<8x1024xf32>
// CHECK-NOT: tuning
func.func @qmatvec_batch8(%w: memref<?xi8>, %x: memref<?x4096xf32>, %y: memref<8x1024xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 1024 cols = 4096
      : memref<?xi8>, memref<?x4096xf32>, memref<8x1024xf32>
  return
}

// CHECK-LABEL: func.func @qmatvec_float_weights(
// CHECK: llmc.qmatvec %{{.*}}, %{{.*}} -> %{{.*}} quant<bf16> rows = 3 cols = 5 : memref<30xi8>, memref<2x5xf32>, memref<2x3xf32>
func.func @qmatvec_float_weights(%w: memref<30xi8>, %x: memref<2x5xf32>, %y: memref<2x3xf32>) {
  llmc.qmatvec %w, %x -> %y quant<bf16> rows = 3 cols = 5
      : memref<30xi8>, memref<2x5xf32>, memref<2x3xf32>
  return
}

// CHECK-LABEL: func.func @qmatmul_prefill(
// CHECK-SAME: %[[W:[a-z0-9]+]]: memref<?xi8>, %[[X:[a-z0-9]+]]: memref<?x4096xf32>, %[[Y:[a-z0-9]+]]: memref<?x14336xf32>)
// CHECK: llmc.qmatmul %[[W]], %[[X]] -> %[[Y]] quant<q6_K> rows = 14336 cols = 4096 tuning<rows_per_block = 64, warps = 8, vector_width = 16, unroll = 16> : memref<?xi8>, memref<?x4096xf32>, memref<?x14336xf32>
func.func @qmatmul_prefill(%w: memref<?xi8>, %x: memref<?x4096xf32>, %y: memref<?x14336xf32>) {
  llmc.qmatmul %w, %x -> %y quant<q6_K> rows = 14336 cols = 4096
      tuning<rows_per_block = 64, warps = 8, vector_width = 16, unroll = 16>
      : memref<?xi8>, memref<?x4096xf32>, memref<?x14336xf32>
  return
}

// CHECK-LABEL: func.func @qmatmul_static_batch(
// CHECK: llmc.qmatmul %{{.*}}, %{{.*}} -> %{{.*}} quant<mxfp4> rows = 64 cols = 2880 : memref<97920xi8>, memref<9x2880xf32>, memref<9x64xf32>
func.func @qmatmul_static_batch(%w: memref<97920xi8>, %x: memref<9x2880xf32>, %y: memref<9x64xf32>) {
  llmc.qmatmul %w, %x -> %y quant<mxfp4> rows = 64 cols = 2880
      : memref<97920xi8>, memref<9x2880xf32>, memref<9x64xf32>
  return
}

// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<?x4096xf32>, %[[WEIGHT:[a-z0-9]+]]: memref<4096xf32>, %[[OUT:[a-z0-9]+]]: memref<?x4096xf32>)
// CHECK: llmc.rms_norm %[[X]], %[[WEIGHT]] -> %[[OUT]] eps = 9.99999974E-6 : memref<?x4096xf32>, memref<4096xf32>, memref<?x4096xf32>
func.func @rms_norm(%x: memref<?x4096xf32>, %weight: memref<4096xf32>, %out: memref<?x4096xf32>) {
  llmc.rms_norm %x, %weight -> %out eps = 1.0e-5
      : memref<?x4096xf32>, memref<4096xf32>, memref<?x4096xf32>
  return
}

// With q8, the rows are also written as the int8 products read them: 4096 codes and 128 pairs.
// CHECK-LABEL: func.func @rms_norm_q8(
// CHECK: llmc.rms_norm %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} eps = 9.99999974E-6 : memref<1x4096xf32>, memref<4096xf32>, memref<1x4096xf32>, memref<5120xi8>
func.func @rms_norm_q8(%x: memref<1x4096xf32>, %weight: memref<4096xf32>, %out: memref<1x4096xf32>, %q8: memref<5120xi8>) {
  llmc.rms_norm %x, %weight -> %out, %q8 eps = 1.0e-5
      : memref<1x4096xf32>, memref<4096xf32>, memref<1x4096xf32>, memref<5120xi8>
  return
}

// CHECK-LABEL: func.func @rope(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: memref<?x4096xf32>, %[[POS:[a-z0-9]+]]: memref<?xi32>, %[[K:[a-z0-9]+]]: memref<1x512xf32>, %[[POS1:[a-z0-9]+]]: memref<1xi32>)
// CHECK: llmc.rope %[[Q]], %[[POS]] -> %[[Q]] mode<neox> dims = 128 n_heads = 32 head_dim = 128 freq_base = 1.000000e+06 : memref<?x4096xf32>, memref<?xi32>, memref<?x4096xf32>
// CHECK: llmc.rope %[[K]], %[[POS1]] -> %[[K]] mode<norm> dims = 64 n_heads = 4 head_dim = 128 freq_base = 1.000000e+04 : memref<1x512xf32>, memref<1xi32>, memref<1x512xf32>
func.func @rope(%q: memref<?x4096xf32>, %positions: memref<?xi32>, %k: memref<1x512xf32>, %position: memref<1xi32>) {
  llmc.rope %q, %positions -> %q mode<neox> dims = 128 n_heads = 32 head_dim = 128
      freq_base = 1000000.0 : memref<?x4096xf32>, memref<?xi32>, memref<?x4096xf32>
  llmc.rope %k, %position -> %k mode<norm> dims = 64 n_heads = 4 head_dim = 128
      freq_base = 10000.0 : memref<1x512xf32>, memref<1xi32>, memref<1x512xf32>
  return
}

// CHECK-LABEL: func.func @swiglu(
// CHECK-SAME: %[[GATE:[a-z0-9]+]]: memref<?x14336xf32>, %[[UP:[a-z0-9]+]]: memref<?x14336xf32>)
// CHECK: llmc.swiglu %[[GATE]], %[[UP]] -> %[[GATE]] : memref<?x14336xf32>, memref<?x14336xf32>, memref<?x14336xf32>
func.func @swiglu(%gate: memref<?x14336xf32>, %up: memref<?x14336xf32>) {
  llmc.swiglu %gate, %up -> %gate : memref<?x14336xf32>, memref<?x14336xf32>, memref<?x14336xf32>
  return
}

// CHECK-LABEL: func.func @softmax(
// CHECK: llmc.softmax %{{.*}} -> %{{.*}} : memref<1x32000xf32>, memref<?x32000xf32>
// CHECK: llmc.softmax %{{.*}} -> %{{.*}} scale = 1.250000e-01 : memref<1x32000xf32>, memref<?x32000xf32>
func.func @softmax(%x: memref<1x32000xf32>, %out: memref<?x32000xf32>) {
  llmc.softmax %x -> %out : memref<1x32000xf32>, memref<?x32000xf32>
  llmc.softmax %x -> %out scale = 0.125 : memref<1x32000xf32>, memref<?x32000xf32>
  return
}

// CHECK-LABEL: func.func @add_mul(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<?x1024xf32>, %[[BIAS:[a-z0-9]+]]: memref<1024xf32>, %[[R:[a-z0-9]+]]: memref<?x1024xf32>)
// CHECK: llmc.add %[[X]], %[[BIAS]] -> %[[X]] : memref<?x1024xf32>, memref<1024xf32>, memref<?x1024xf32>
// CHECK: llmc.add %[[X]], %[[R]] -> %[[R]] : memref<?x1024xf32>, memref<?x1024xf32>, memref<?x1024xf32>
// CHECK: llmc.mul %[[R]], %[[BIAS]] -> %[[X]] : memref<?x1024xf32>, memref<1024xf32>, memref<?x1024xf32>
func.func @add_mul(%x: memref<?x1024xf32>, %bias: memref<1024xf32>, %residual: memref<?x1024xf32>) {
  llmc.add %x, %bias -> %x : memref<?x1024xf32>, memref<1024xf32>, memref<?x1024xf32>
  llmc.add %x, %residual -> %residual : memref<?x1024xf32>, memref<?x1024xf32>, memref<?x1024xf32>
  llmc.mul %residual, %bias -> %x : memref<?x1024xf32>, memref<1024xf32>, memref<?x1024xf32>
  return
}

// CHECK-LABEL: func.func @embed(
// CHECK-SAME: %[[TABLE:[a-z0-9]+]]: memref<?xi8>, %[[IDS:[a-z0-9]+]]: memref<?xi32>, %[[OUT:[a-z0-9]+]]: memref<?x1024xf32>)
// CHECK: llmc.embed %[[TABLE]][%[[IDS]]] -> %[[OUT]] quant<q6_K> rows = 151936 cols = 1024 : memref<?xi8>, memref<?xi32>, memref<?x1024xf32>
func.func @embed(%table: memref<?xi8>, %ids: memref<?xi32>, %out: memref<?x1024xf32>) {
  llmc.embed %table[%ids] -> %out quant<q6_K> rows = 151936 cols = 1024
      : memref<?xi8>, memref<?xi32>, memref<?x1024xf32>
  return
}

// CHECK-LABEL: func.func @argmax(
// CHECK: llmc.argmax %{{.*}} -> %{{.*}} : memref<1x151936xf32>, memref<1xi32>
func.func @argmax(%logits: memref<1x151936xf32>, %token: memref<1xi32>) {
  llmc.argmax %logits -> %token : memref<1x151936xf32>, memref<1xi32>
  return
}

// CHECK-LABEL: func.func @kv_store(
// CHECK-SAME: %[[K:[a-z0-9]+]]: memref<1x1024xf32>, %[[F16:[a-z0-9]+]]: memref<4096x1024xf16>, %[[Q8:[a-z0-9]+]]: memref<4096x1088xi8>, %[[Q4:[a-z0-9]+]]: memref<?x576xi8>, %[[POS:[a-z0-9]+]]: index)
// CHECK: llmc.kv_store %[[K]] -> %[[F16]][%[[POS]]] kv_cache<f16> : memref<1x1024xf32>, memref<4096x1024xf16>
// CHECK: llmc.kv_store %[[K]] -> %[[Q8]][%[[POS]]] kv_cache<q8_0> : memref<1x1024xf32>, memref<4096x1088xi8>
// CHECK: llmc.kv_store %[[K]] -> %[[Q4]][%[[POS]]] kv_cache<q4_0> : memref<1x1024xf32>, memref<?x576xi8>
func.func @kv_store(%k: memref<1x1024xf32>, %f16: memref<4096x1024xf16>, %q8: memref<4096x1088xi8>,
                    %q4: memref<?x576xi8>, %pos: index) {
  llmc.kv_store %k -> %f16[%pos] kv_cache<f16> : memref<1x1024xf32>, memref<4096x1024xf16>
  llmc.kv_store %k -> %q8[%pos] kv_cache<q8_0> : memref<1x1024xf32>, memref<4096x1088xi8>
  llmc.kv_store %k -> %q4[%pos] kv_cache<q4_0> : memref<1x1024xf32>, memref<?x576xi8>
  return
}

// CHECK-LABEL: func.func @attention_decode(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: memref<1x4096xf32>, %[[K:[a-z0-9]+]]: memref<8192x1024xf16>, %[[V:[a-z0-9]+]]: memref<8192x1024xf16>, %[[N:[a-z0-9]+]]: index, %[[OUT:[a-z0-9]+]]: memref<1x4096xf32>)
// CHECK: llmc.attention %[[Q]], %[[K]], %[[V]], n_past = %[[N]] -> %[[OUT]] kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.0883883461 : memref<1x4096xf32>, memref<8192x1024xf16>, memref<8192x1024xf16>, memref<1x4096xf32>
// CHECK-NOT: causal
func.func @attention_decode(%q: memref<1x4096xf32>, %k_cache: memref<8192x1024xf16>,
                            %v_cache: memref<8192x1024xf16>, %n_past: index, %out: memref<1x4096xf32>) {
  llmc.attention %q, %k_cache, %v_cache, n_past = %n_past -> %out kv_cache<f16>
      n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.0883883461
      : memref<1x4096xf32>, memref<8192x1024xf16>, memref<8192x1024xf16>, memref<1x4096xf32>
  return
}

// CHECK-LABEL: func.func @attention_prefill(
// CHECK: llmc.attention %{{.*}}, %{{.*}}, %{{.*}}, n_past = %{{.*}} -> %{{.*}} kv_cache<q8_0> n_heads = 16 n_kv_heads = 16 head_dim = 64 scale = 1.250000e-01 causal : memref<?x1024xf32>, memref<?x1088xi8>, memref<?x1088xi8>, memref<?x1024xf32>
func.func @attention_prefill(%q: memref<?x1024xf32>, %k_cache: memref<?x1088xi8>,
                             %v_cache: memref<?x1088xi8>, %n_past: index, %out: memref<?x1024xf32>) {
  llmc.attention %q, %k_cache, %v_cache, n_past = %n_past -> %out kv_cache<q8_0>
      n_heads = 16 n_kv_heads = 16 head_dim = 64 scale = 0.125 causal
      : memref<?x1024xf32>, memref<?x1088xi8>, memref<?x1088xi8>, memref<?x1024xf32>
  return
}

// Ops take buffers that other dialects allocate and index.
// CHECK-LABEL: func.func @arena_views(
// CHECK: %[[ARENA:.*]] = memref.alloc() : memref<65536xi8>
// CHECK: %[[X:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<65536xi8> to memref<1x64xf32>
// CHECK: %[[Y:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<65536xi8> to memref<1x64xf32>
// CHECK: llmc.qmatvec %{{.*}}, %[[X]] -> %[[Y]] quant<q4_0> rows = 64 cols = 64
func.func @arena_views(%w: memref<2304xi8>) {
  %arena = memref.alloc() : memref<65536xi8>
  %x_offset = arith.constant 0 : index
  %y_offset = arith.constant 256 : index
  %x = memref.view %arena[%x_offset][] : memref<65536xi8> to memref<1x64xf32>
  %y = memref.view %arena[%y_offset][] : memref<65536xi8> to memref<1x64xf32>
  llmc.qmatvec %w, %x -> %y quant<q4_0> rows = 64 cols = 64
      : memref<2304xi8>, memref<1x64xf32>, memref<1x64xf32>
  memref.dealloc %arena : memref<65536xi8>
  return
}

// Every attribute value, in its standalone form.
// CHECK-LABEL: func.func @attributes()
// CHECK-SAME: kv = [#llmc.kv_cache<f16>, #llmc.kv_cache<q8_0>, #llmc.kv_cache<q4_0>]
// CHECK-SAME: quant = [#llmc.quant<f32>, #llmc.quant<f16>, #llmc.quant<bf16>, #llmc.quant<q4_0>, #llmc.quant<q4_1>, #llmc.quant<q5_0>, #llmc.quant<q5_1>, #llmc.quant<q8_0>, #llmc.quant<q2_K>, #llmc.quant<q3_K>, #llmc.quant<q4_K>, #llmc.quant<q5_K>, #llmc.quant<q6_K>, #llmc.quant<iq4_nl>, #llmc.quant<iq4_xs>, #llmc.quant<mxfp4>]
// CHECK-SAME: rope = [#llmc.rope_mode<norm>, #llmc.rope_mode<neox>]
// CHECK-SAME: tuning = #llmc.tuning<rows_per_block = 2, warps = 1, vector_width = 8, unroll = 1>
// CHECK-SAME: tuning_grouped = #llmc.tuning<rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1, group_warps = 2>
// CHECK-SAME: tuning_min_blocks = #llmc.tuning<rows_per_block = 2, warps = 1, vector_width = 4, unroll = 4, min_blocks = 16>
// CHECK-SAME: tuning_one_step = #llmc.tuning<rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1>
// CHECK-SAME: tuning_prefetched = #llmc.tuning<rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1, prefetch = 1>
// CHECK-SAME: tuning_steps = #llmc.tuning<rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1, prefetch = 1, row_steps = 4>
func.func @attributes() attributes {
  quant = [#llmc.quant<f32>, #llmc.quant<f16>, #llmc.quant<bf16>, #llmc.quant<q4_0>,
           #llmc.quant<q4_1>, #llmc.quant<q5_0>, #llmc.quant<q5_1>, #llmc.quant<q8_0>,
           #llmc.quant<q2_K>, #llmc.quant<q3_K>, #llmc.quant<q4_K>, #llmc.quant<q5_K>,
           #llmc.quant<q6_K>, #llmc.quant<iq4_nl>, #llmc.quant<iq4_xs>, #llmc.quant<mxfp4>],
  kv = [#llmc.kv_cache<f16>, #llmc.kv_cache<q8_0>, #llmc.kv_cache<q4_0>],
  rope = [#llmc.rope_mode<norm>, #llmc.rope_mode<neox>],
  tuning = #llmc.tuning<warps = 1, unroll = 1, rows_per_block = 2, vector_width = 8>,
  tuning_grouped = #llmc.tuning<group_warps = 2, rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1>,
  tuning_min_blocks = #llmc.tuning<min_blocks = 16, rows_per_block = 2, warps = 1, vector_width = 4, unroll = 4>,
  tuning_prefetched = #llmc.tuning<rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1, prefetch = 1>,
  tuning_steps = #llmc.tuning<row_steps = 4, rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1, prefetch = 1>,
  tuning_one_step = #llmc.tuning<rows_per_block = 2, warps = 2, vector_width = 8, unroll = 1, row_steps = 1>
} {
  return
}

// CHECK-LABEL: func.func @qmatvec_row_planar(
// CHECK: llmc.qmatvec %{{.*}}, %{{.*}} -> %{{.*}} quant<q6_K> rows = 64 cols = 4096 tuning<rows_per_block = 4, warps = 2, vector_width = 4, unroll = 2> layout<row_planar> : memref<215040xi8>, memref<1x4096xf32>, memref<1x64xf32>
func.func @qmatvec_row_planar(%w: memref<215040xi8>, %x: memref<1x4096xf32>, %y: memref<1x64xf32>) {
  llmc.qmatvec %w, %x -> %y quant<q6_K> rows = 64 cols = 4096
      tuning<rows_per_block = 4, warps = 2, vector_width = 4, unroll = 2> layout<row_planar>
      : memref<215040xi8>, memref<1x4096xf32>, memref<1x64xf32>
  return
}

// CHECK-LABEL: func.func @embed_row_planar(
// CHECK: llmc.embed %{{.*}}[%{{.*}}] -> %{{.*}} quant<q8_0> rows = 10 cols = 64 layout<row_planar> : memref<680xi8>, memref<?xi32>, memref<?x64xf32>
func.func @embed_row_planar(%t: memref<680xi8>, %ids: memref<?xi32>, %out: memref<?x64xf32>) {
  llmc.embed %t[%ids] -> %out quant<q8_0> rows = 10 cols = 64 layout<row_planar>
      : memref<680xi8>, memref<?xi32>, memref<?x64xf32>
  return
}
