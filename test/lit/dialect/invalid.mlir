// Every llmc verifier message, and a sample of the operand and attribute constraints.
// REQUIRES: compiler
// RUN: llmc-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

// expected-error @+1 {{rows_per_block (0) must be in 1..64}}
func.func @tuning_rows_per_block() attributes {t = #llmc.tuning<rows_per_block = 0, warps = 4, vector_width = 4, unroll = 2>} {
  return
}

// -----

// expected-error @+1 {{rows_per_block (65) must be in 1..64}}
func.func @tuning_rows_per_block_high() attributes {t = #llmc.tuning<rows_per_block = 65, warps = 4, vector_width = 4, unroll = 2>} {
  return
}

// -----

// expected-error @+1 {{warps (33) must be in 1..32}}
func.func @tuning_warps() attributes {t = #llmc.tuning<rows_per_block = 1, warps = 33, vector_width = 4, unroll = 2>} {
  return
}

// -----

// expected-error @+1 {{vector_width (3) must be 1, 2, 4, 8 or 16}}
func.func @tuning_vector_width() attributes {t = #llmc.tuning<rows_per_block = 1, warps = 4, vector_width = 3, unroll = 2>} {
  return
}

// -----

// expected-error @+1 {{unroll (17) must be in 1..16}}
func.func @tuning_unroll() attributes {t = #llmc.tuning<rows_per_block = 1, warps = 4, vector_width = 4, unroll = 17>} {
  return
}

// -----

// expected-error @+1 {{struct is missing required parameter: unroll}}
func.func @tuning_missing() attributes {t = #llmc.tuning<rows_per_block = 1, warps = 4, vector_width = 4>} {
  return
}

// -----

// expected-error @+2 {{expected ::mlir::llmc::QuantType to be one of: f32, f16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs, bf16, mxfp4}}
// expected-error @+1 {{failed to parse LLMC_QuantTypeAttr parameter 'value'}}
func.func @unknown_quant() attributes {q = #llmc.quant<q7_0>} {
  return
}

// -----

// expected-error @+2 {{expected ::mlir::llmc::KvCacheType to be one of: f16, q4_0, q8_0}}
// expected-error @+1 {{failed to parse LLMC_KvCacheTypeAttr parameter 'value'}}
func.func @unknown_kv_cache() attributes {k = #llmc.kv_cache<q4_K>} {
  return
}

// -----

//===----------------------------------------------------------------------===//
// llmc.qmatvec and llmc.qmatmul
//===----------------------------------------------------------------------===//

func.func @qmatvec_cols_block(%w: memref<?xi8>, %x: memref<1x100xf32>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op cols (100) must be a multiple of the q4_K block size (256)}}
  llmc.qmatvec %w, %x -> %y quant<q4_K> rows = 64 cols = 100 : memref<?xi8>, memref<1x100xf32>, memref<1x64xf32>
  return
}

// -----

func.func @qmatvec_size_overflow(%w: memref<?xi8>, %x: memref<1x256xf32>, %y: memref<1x?xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op rows (9223372036854775807) x cols (256) of q4_K overflows a 64-bit byte size}}
  llmc.qmatvec %w, %x -> %y quant<q4_K> rows = 9223372036854775807 cols = 256 : memref<?xi8>, memref<1x256xf32>, memref<1x?xf32>
  return
}

// -----

func.func @qmatvec_weight_bytes(%w: memref<2048xi8>, %x: memref<1x64xf32>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op w holds 2048 bytes but rows (64) x cols (64) of q4_0 take 2304}}
  llmc.qmatvec %w, %x -> %y quant<q4_0> rows = 64 cols = 64 : memref<2048xi8>, memref<1x64xf32>, memref<1x64xf32>
  return
}

// -----

func.func @qmatvec_x_cols(%w: memref<?xi8>, %x: memref<1x96xf32>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op x row length (96) must equal cols (64)}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<1x96xf32>, memref<1x64xf32>
  return
}

// -----

func.func @qmatvec_y_rows(%w: memref<?xi8>, %x: memref<1x64xf32>, %y: memref<1x32xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op y row length (32) must equal rows (64)}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<1x64xf32>, memref<1x32xf32>
  return
}

// -----

func.func @qmatvec_batch_mismatch(%w: memref<?xi8>, %x: memref<2x64xf32>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op y has 1 rows but x has 2}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<2x64xf32>, memref<1x64xf32>
  return
}

// -----

func.func @qmatvec_dynamic_batch(%w: memref<?xi8>, %x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op batch must be static: x or y needs a static row count}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<?x64xf32>, memref<?x64xf32>
  return
}

// -----

func.func @qmatvec_batch_too_large(%w: memref<?xi8>, %x: memref<9x64xf32>, %y: memref<9x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op batch (9) must be in 1..8; larger batches use llmc.qmatmul}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<9x64xf32>, memref<9x64xf32>
  return
}

// -----

func.func @qmatvec_empty_batch(%w: memref<?xi8>, %x: memref<0x64xf32>, %y: memref<0x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op batch (0) must be in 1..8; larger batches use llmc.qmatmul}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<0x64xf32>, memref<0x64xf32>
  return
}

// -----

func.func @qmatvec_rows_positive(%w: memref<?xi8>, %x: memref<1x64xf32>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op attribute 'rows' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 0 cols = 64 : memref<?xi8>, memref<1x64xf32>, memref<1x64xf32>
  return
}

// -----

func.func @qmatvec_f16_input(%w: memref<?xi8>, %x: memref<1x64xf16>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op operand #1 must be 2D memref of 32-bit float values, but got 'memref<1x64xf16>'}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<1x64xf16>, memref<1x64xf32>
  return
}

// -----

func.func @qmatvec_weight_rank(%w: memref<64x68xi8>, %x: memref<1x64xf32>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{'llmc.qmatvec' op operand #0 must be 1D memref of 8-bit signless integer values, but got 'memref<64x68xi8>'}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<64x68xi8>, memref<1x64xf32>, memref<1x64xf32>
  return
}

// -----

func.func @qmatvec_bad_tuning(%w: memref<?xi8>, %x: memref<1x64xf32>, %y: memref<1x64xf32>) {
  // expected-error @+1 {{warps (0) must be in 1..32}}
  llmc.qmatvec %w, %x -> %y quant<q8_0> rows = 64 cols = 64 tuning<rows_per_block = 1, warps = 0, vector_width = 4, unroll = 2> : memref<?xi8>, memref<1x64xf32>, memref<1x64xf32>
  return
}

// -----

// expected-error @+1 {{group_warps (3) must divide warps (4)}}
func.func @tuning_group_warps() attributes {t = #llmc.tuning<rows_per_block = 2, warps = 4, vector_width = 4, unroll = 1, group_warps = 3>} {
  return
}

// -----

// expected-error @+1 {{group_warps (1) makes 4 groups of warps, which must divide rows_per_block (2)}}
func.func @tuning_group_rows() attributes {t = #llmc.tuning<rows_per_block = 2, warps = 4, vector_width = 4, unroll = 1, group_warps = 1>} {
  return
}

// -----

func.func @qmatmul_group_warps(%w: memref<?xi8>, %x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{'llmc.qmatmul' op tuning group_warps (2) applies to llmc.qmatvec only}}
  llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 64 cols = 64 tuning<rows_per_block = 2, warps = 2, vector_width = 4, unroll = 1, group_warps = 2> : memref<?xi8>, memref<?x64xf32>, memref<?x64xf32>
  return
}

// -----

// expected-error @+1 {{prefetch (2) must be 0 (none) or 1 (the workgroup's weight rows into L2)}}
func.func @tuning_prefetch() attributes {t = #llmc.tuning<rows_per_block = 2, warps = 4, vector_width = 4, unroll = 1, prefetch = 2>} {
  return
}

// -----

// expected-error @+1 {{row_steps (65) must be in 1..64}}
func.func @tuning_row_steps() attributes {t = #llmc.tuning<rows_per_block = 2, warps = 4, vector_width = 4, unroll = 1, row_steps = 65>} {
  return
}

// -----

func.func @qmatmul_row_steps(%w: memref<?xi8>, %x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{'llmc.qmatmul' op tuning row_steps (2) applies to llmc.qmatvec only}}
  llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 64 cols = 64 tuning<rows_per_block = 32, warps = 4, vector_width = 4, unroll = 1, row_steps = 2> : memref<?xi8>, memref<?x64xf32>, memref<?x64xf32>
  return
}

// -----

// expected-error @+1 {{min_blocks (33) must be in 0..32 (workgroups resident per multiprocessor; 0: no register cap)}}
func.func @tuning_min_blocks() attributes {t = #llmc.tuning<rows_per_block = 2, warps = 4, vector_width = 4, unroll = 1, min_blocks = 33>} {
  return
}

// -----

func.func @qmatmul_min_blocks(%w: memref<?xi8>, %x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{'llmc.qmatmul' op tuning min_blocks (4) applies to llmc.qmatvec only}}
  llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 64 cols = 64 tuning<rows_per_block = 32, warps = 4, vector_width = 4, unroll = 1, min_blocks = 4> : memref<?xi8>, memref<?x64xf32>, memref<?x64xf32>
  return
}

// -----

func.func @qmatmul_prefetch(%w: memref<?xi8>, %x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{'llmc.qmatmul' op tuning prefetch (1) applies to llmc.qmatvec only}}
  llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 64 cols = 64 tuning<rows_per_block = 32, warps = 4, vector_width = 4, unroll = 1, prefetch = 1> : memref<?xi8>, memref<?x64xf32>, memref<?x64xf32>
  return
}

// -----

func.func @qmatmul_small_batch(%w: memref<?xi8>, %x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  // expected-error @+1 {{'llmc.qmatmul' op batch (4) must be greater than 8; batches of 1..8 use llmc.qmatvec}}
  llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 64 cols = 64 : memref<?xi8>, memref<4x64xf32>, memref<4x64xf32>
  return
}

// -----

func.func @qmatmul_cols_block(%w: memref<?xi8>, %x: memref<?x1000xf32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{'llmc.qmatmul' op cols (1000) must be a multiple of the iq4_xs block size (256)}}
  llmc.qmatmul %w, %x -> %y quant<iq4_xs> rows = 64 cols = 1000 : memref<?xi8>, memref<?x1000xf32>, memref<?x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llmc.rms_norm
//===----------------------------------------------------------------------===//

func.func @rms_norm_weight(%x: memref<?x4096xf32>, %weight: memref<2048xf32>) {
  // expected-error @+1 {{'llmc.rms_norm' op weight length (2048) must equal the row length of x (4096)}}
  llmc.rms_norm %x, %weight -> %x eps = 1.0e-5 : memref<?x4096xf32>, memref<2048xf32>, memref<?x4096xf32>
  return
}

// -----

func.func @rms_norm_out(%x: memref<1x4096xf32>, %weight: memref<4096xf32>, %out: memref<2x4096xf32>) {
  // expected-error @+1 {{'llmc.rms_norm' op out shape (2x4096) must match x shape (1x4096)}}
  llmc.rms_norm %x, %weight -> %out eps = 1.0e-5 : memref<1x4096xf32>, memref<4096xf32>, memref<2x4096xf32>
  return
}

// -----

func.func @rms_norm_q8_width(%x: memref<1x1000xf32>, %weight: memref<1000xf32>, %q8: memref<1250xi8>) {
  // expected-error @+1 {{'llmc.rms_norm' op q8: the row length (1000) must be a multiple of 32}}
  llmc.rms_norm %x, %weight -> %x, %q8 eps = 1.0e-5 : memref<1x1000xf32>, memref<1000xf32>, memref<1x1000xf32>, memref<1250xi8>
  return
}

// -----

func.func @rms_norm_q8_size(%x: memref<2x4096xf32>, %weight: memref<4096xf32>, %q8: memref<5120xi8>) {
  // expected-error @+1 {{'llmc.rms_norm' op q8 holds 5120 bytes; 2 rows of 4096 values take 10240 (the codes, then 8 bytes of scales per 32)}}
  llmc.rms_norm %x, %weight -> %x, %q8 eps = 1.0e-5 : memref<2x4096xf32>, memref<4096xf32>, memref<2x4096xf32>, memref<5120xi8>
  return
}

// -----

func.func @rms_norm_eps(%x: memref<?x4096xf32>, %weight: memref<4096xf32>) {
  // expected-error @+1 {{'llmc.rms_norm' op eps (0.000000e+00) must be a positive finite number}}
  llmc.rms_norm %x, %weight -> %x eps = 0.0 : memref<?x4096xf32>, memref<4096xf32>, memref<?x4096xf32>
  return
}

// -----

func.func @rms_norm_eps_nan(%x: memref<?x4096xf32>, %weight: memref<4096xf32>) {
  // expected-error @+1 {{'llmc.rms_norm' op eps (nan) must be a positive finite number}}
  llmc.rms_norm %x, %weight -> %x eps = 0x7FC00000 : memref<?x4096xf32>, memref<4096xf32>, memref<?x4096xf32>
  return
}

// -----

func.func @rms_norm_weight_rank(%x: memref<?x4096xf32>, %weight: memref<1x4096xf32>) {
  // expected-error @+1 {{'llmc.rms_norm' op operand #1 must be 1D memref of 32-bit float values, but got 'memref<1x4096xf32>'}}
  llmc.rms_norm %x, %weight -> %x eps = 1.0e-5 : memref<?x4096xf32>, memref<1x4096xf32>, memref<?x4096xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llmc.rope
//===----------------------------------------------------------------------===//

func.func @rope_odd_dims(%x: memref<?x4096xf32>, %positions: memref<?xi32>) {
  // expected-error @+1 {{'llmc.rope' op dims (127) must be even}}
  llmc.rope %x, %positions -> %x mode<neox> dims = 127 n_heads = 32 head_dim = 128 freq_base = 10000.0 : memref<?x4096xf32>, memref<?xi32>, memref<?x4096xf32>
  return
}

// -----

func.func @rope_dims_head(%x: memref<?x4096xf32>, %positions: memref<?xi32>) {
  // expected-error @+1 {{'llmc.rope' op dims (256) must not exceed head_dim (128)}}
  llmc.rope %x, %positions -> %x mode<neox> dims = 256 n_heads = 32 head_dim = 128 freq_base = 10000.0 : memref<?x4096xf32>, memref<?xi32>, memref<?x4096xf32>
  return
}

// -----

func.func @rope_width_overflow(%x: memref<?x?xf32>, %positions: memref<?xi32>) {
  // expected-error @+1 {{'llmc.rope' op n_heads (9223372036854775807) x head_dim (128) overflows a 64-bit size}}
  llmc.rope %x, %positions -> %x mode<neox> dims = 128 n_heads = 9223372036854775807 head_dim = 128 freq_base = 10000.0 : memref<?x?xf32>, memref<?xi32>, memref<?x?xf32>
  return
}

// -----

func.func @rope_row_length(%x: memref<?x4000xf32>, %positions: memref<?xi32>) {
  // expected-error @+1 {{'llmc.rope' op x row length (4000) must equal n_heads (32) x head_dim (128) = 4096}}
  llmc.rope %x, %positions -> %x mode<norm> dims = 128 n_heads = 32 head_dim = 128 freq_base = 10000.0 : memref<?x4000xf32>, memref<?xi32>, memref<?x4000xf32>
  return
}

// -----

func.func @rope_positions(%x: memref<4x4096xf32>, %positions: memref<3xi32>) {
  // expected-error @+1 {{'llmc.rope' op positions length (3) must equal the row count of x (4)}}
  llmc.rope %x, %positions -> %x mode<norm> dims = 128 n_heads = 32 head_dim = 128 freq_base = 10000.0 : memref<4x4096xf32>, memref<3xi32>, memref<4x4096xf32>
  return
}

// -----

func.func @rope_out(%x: memref<4x4096xf32>, %positions: memref<4xi32>, %out: memref<4x2048xf32>) {
  // expected-error @+1 {{'llmc.rope' op out shape (4x2048) must match x shape (4x4096)}}
  llmc.rope %x, %positions -> %out mode<norm> dims = 128 n_heads = 32 head_dim = 128 freq_base = 10000.0 : memref<4x4096xf32>, memref<4xi32>, memref<4x2048xf32>
  return
}

// -----

func.func @rope_freq_base(%x: memref<?x4096xf32>, %positions: memref<?xi32>) {
  // expected-error @+1 {{'llmc.rope' op freq_base (-1.000000e+00) must be a positive finite number}}
  llmc.rope %x, %positions -> %x mode<norm> dims = 128 n_heads = 32 head_dim = 128 freq_base = -1.0 : memref<?x4096xf32>, memref<?xi32>, memref<?x4096xf32>
  return
}

// -----

func.func @rope_i64_positions(%x: memref<?x4096xf32>, %positions: memref<?xi64>) {
  // expected-error @+1 {{'llmc.rope' op operand #1 must be 1D memref of 32-bit signless integer values, but got 'memref<?xi64>'}}
  llmc.rope %x, %positions -> %x mode<norm> dims = 128 n_heads = 32 head_dim = 128 freq_base = 10000.0 : memref<?x4096xf32>, memref<?xi64>, memref<?x4096xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llmc.swiglu, llmc.softmax, llmc.add, llmc.mul
//===----------------------------------------------------------------------===//

func.func @swiglu_up(%gate: memref<?x14336xf32>, %up: memref<?x11008xf32>) {
  // expected-error @+1 {{'llmc.swiglu' op up shape (?x11008) must match gate shape (?x14336)}}
  llmc.swiglu %gate, %up -> %gate : memref<?x14336xf32>, memref<?x11008xf32>, memref<?x14336xf32>
  return
}

// -----

func.func @swiglu_out(%gate: memref<2x64xf32>, %up: memref<2x64xf32>, %out: memref<3x64xf32>) {
  // expected-error @+1 {{'llmc.swiglu' op out shape (3x64) must match gate shape (2x64)}}
  llmc.swiglu %gate, %up -> %out : memref<2x64xf32>, memref<2x64xf32>, memref<3x64xf32>
  return
}

// -----

func.func @softmax_out(%x: memref<1x32000xf32>, %out: memref<1x32001xf32>) {
  // expected-error @+1 {{'llmc.softmax' op out shape (1x32001) must match x shape (1x32000)}}
  llmc.softmax %x -> %out : memref<1x32000xf32>, memref<1x32001xf32>
  return
}

// -----

func.func @softmax_scale(%x: memref<1x32000xf32>) {
  // expected-error @+1 {{'llmc.softmax' op scale (-2.000000e+00) must be a positive finite number}}
  llmc.softmax %x -> %x scale = -2.0 : memref<1x32000xf32>, memref<1x32000xf32>
  return
}

// -----

func.func @softmax_rank(%x: memref<32000xf32>) {
  // expected-error @+1 {{'llmc.softmax' op operand #0 must be 2D memref of 32-bit float values, but got 'memref<32000xf32>'}}
  llmc.softmax %x -> %x : memref<32000xf32>, memref<32000xf32>
  return
}

// -----

func.func @add_broadcast(%x: memref<?x1024xf32>, %bias: memref<100xf32>) {
  // expected-error @+1 {{'llmc.add' op rhs length (100) must equal the row length of lhs (1024)}}
  llmc.add %x, %bias -> %x : memref<?x1024xf32>, memref<100xf32>, memref<?x1024xf32>
  return
}

// -----

func.func @add_shape(%x: memref<2x1024xf32>, %y: memref<3x1024xf32>) {
  // expected-error @+1 {{'llmc.add' op rhs shape (3x1024) must match lhs shape (2x1024)}}
  llmc.add %x, %y -> %x : memref<2x1024xf32>, memref<3x1024xf32>, memref<2x1024xf32>
  return
}

// -----

func.func @mul_out(%x: memref<?x1024xf32>, %scale: memref<1024xf32>, %out: memref<?x512xf32>) {
  // expected-error @+1 {{'llmc.mul' op out shape (?x512) must match lhs shape (?x1024)}}
  llmc.mul %x, %scale -> %out : memref<?x1024xf32>, memref<1024xf32>, memref<?x512xf32>
  return
}

// -----

func.func @mul_broadcast(%x: memref<?x1024xf32>, %scale: memref<512xf32>) {
  // expected-error @+1 {{'llmc.mul' op rhs length (512) must equal the row length of lhs (1024)}}
  llmc.mul %x, %scale -> %x : memref<?x1024xf32>, memref<512xf32>, memref<?x1024xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llmc.embed, llmc.argmax
//===----------------------------------------------------------------------===//

func.func @embed_cols_block(%table: memref<?xi8>, %ids: memref<?xi32>, %out: memref<?x1000xf32>) {
  // expected-error @+1 {{'llmc.embed' op cols (1000) must be a multiple of the q8_0 block size (32)}}
  llmc.embed %table[%ids] -> %out quant<q8_0> rows = 32000 cols = 1000 : memref<?xi8>, memref<?xi32>, memref<?x1000xf32>
  return
}

// -----

func.func @embed_table_bytes(%table: memref<1000xi8>, %ids: memref<?xi32>, %out: memref<?x64xf32>) {
  // expected-error @+1 {{'llmc.embed' op table holds 1000 bytes but rows (10) x cols (64) of f16 take 1280}}
  llmc.embed %table[%ids] -> %out quant<f16> rows = 10 cols = 64 : memref<1000xi8>, memref<?xi32>, memref<?x64xf32>
  return
}

// -----

func.func @embed_out_cols(%table: memref<?xi8>, %ids: memref<?xi32>, %out: memref<?x32xf32>) {
  // expected-error @+1 {{'llmc.embed' op out row length (32) must equal cols (64)}}
  llmc.embed %table[%ids] -> %out quant<q4_1> rows = 10 cols = 64 : memref<?xi8>, memref<?xi32>, memref<?x32xf32>
  return
}

// -----

func.func @embed_ids(%table: memref<?xi8>, %ids: memref<2xi32>, %out: memref<3x64xf32>) {
  // expected-error @+1 {{'llmc.embed' op ids length (2) must equal the row count of out (3)}}
  llmc.embed %table[%ids] -> %out quant<q5_0> rows = 10 cols = 64 : memref<?xi8>, memref<2xi32>, memref<3x64xf32>
  return
}

// -----

func.func @argmax_out(%logits: memref<1x32000xf32>, %token: memref<2xi32>) {
  // expected-error @+1 {{'llmc.argmax' op out length (2) must equal the row count of logits (1)}}
  llmc.argmax %logits -> %token : memref<1x32000xf32>, memref<2xi32>
  return
}

// -----

func.func @argmax_index_type(%logits: memref<1x32000xf32>, %token: memref<1xi64>) {
  // expected-error @+1 {{'llmc.argmax' op operand #1 must be 1D memref of 32-bit signless integer values, but got 'memref<1xi64>'}}
  llmc.argmax %logits -> %token : memref<1x32000xf32>, memref<1xi64>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llmc.kv_store
//===----------------------------------------------------------------------===//

func.func @kv_store_block(%k: memref<1x100xf32>, %cache: memref<4096x1088xi8>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op src row length (100) must be a multiple of the q8_0 block size (32)}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<q8_0> : memref<1x100xf32>, memref<4096x1088xi8>
  return
}

// -----

func.func @kv_store_f16_element(%k: memref<1x1024xf32>, %cache: memref<4096x1024xi8>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op cache element type must be f16 for kv_cache<f16>, got 'i8'}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<f16> : memref<1x1024xf32>, memref<4096x1024xi8>
  return
}

// -----

func.func @kv_store_q8_element(%k: memref<1x1024xf32>, %cache: memref<4096x1088xf16>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op cache element type must be i8 (raw q8_0 blocks) for kv_cache<q8_0>, got 'f16'}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<q8_0> : memref<1x1024xf32>, memref<4096x1088xf16>
  return
}

// -----

func.func @kv_store_q8_row(%k: memref<1x1024xf32>, %cache: memref<4096x1024xi8>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op cache row length (1024) must be 1088 to hold 1024 values as q8_0}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<q8_0> : memref<1x1024xf32>, memref<4096x1024xi8>
  return
}

// -----

func.func @kv_store_f16_row(%k: memref<1x1024xf32>, %cache: memref<4096x512xf16>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op cache row length (512) must be 1024 to hold 1024 values as f16}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<f16> : memref<1x1024xf32>, memref<4096x512xf16>
  return
}

// -----

func.func @kv_store_row_overflow(%k: memref<1x9223372036854775776xf32>, %cache: memref<4096x?xi8>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op a row of 9223372036854775776 values as q8_0 overflows a 64-bit size}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<q8_0> : memref<1x9223372036854775776xf32>, memref<4096x?xi8>
  return
}

// -----

func.func @kv_store_rows(%k: memref<5000x1024xf32>, %cache: memref<4096x1024xf16>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op src has 5000 rows but the cache holds 4096 positions}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<f16> : memref<5000x1024xf32>, memref<4096x1024xf16>
  return
}

// -----

func.func @kv_store_f32_cache(%k: memref<1x1024xf32>, %cache: memref<4096x1024xf32>, %pos: index) {
  // expected-error @+1 {{'llmc.kv_store' op operand #1 must be 2D memref of 16-bit float or 8-bit signless integer values, but got 'memref<4096x1024xf32>'}}
  llmc.kv_store %k -> %cache[%pos] kv_cache<f16> : memref<1x1024xf32>, memref<4096x1024xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llmc.attention
//===----------------------------------------------------------------------===//

func.func @attention_gqa(%q: memref<1x4096xf32>, %k: memref<?x768xf16>, %v: memref<?x768xf16>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op n_heads (32) must be a multiple of n_kv_heads (6)}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<f16> n_heads = 32 n_kv_heads = 6 head_dim = 128 scale = 0.125 : memref<1x4096xf32>, memref<?x768xf16>, memref<?x768xf16>, memref<1x4096xf32>
  return
}

// -----

func.func @attention_head_block(%q: memref<1x2560xf32>, %k: memref<?x2720xi8>, %v: memref<?x2720xi8>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op head_dim (80) must be a multiple of the q8_0 block size (32)}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<q8_0> n_heads = 32 n_kv_heads = 32 head_dim = 80 scale = 0.125 : memref<1x2560xf32>, memref<?x2720xi8>, memref<?x2720xi8>, memref<1x2560xf32>
  return
}

// -----

func.func @attention_width_overflow(%q: memref<1x?xf32>, %k: memref<?x?xf16>, %v: memref<?x?xf16>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op n_heads (9223372036854775807) x head_dim (128) overflows a 64-bit size}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<f16> n_heads = 9223372036854775807 n_kv_heads = 1 head_dim = 128 scale = 0.125 : memref<1x?xf32>, memref<?x?xf16>, memref<?x?xf16>, memref<1x?xf32>
  return
}

// -----

func.func @attention_q_width(%q: memref<1x4000xf32>, %k: memref<?x1024xf16>, %v: memref<?x1024xf16>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op q row length (4000) must equal n_heads (32) x head_dim (128) = 4096}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.125 : memref<1x4000xf32>, memref<?x1024xf16>, memref<?x1024xf16>, memref<1x4000xf32>
  return
}

// -----

func.func @attention_out(%q: memref<1x4096xf32>, %k: memref<?x1024xf16>, %v: memref<?x1024xf16>, %n: index, %out: memref<2x4096xf32>) {
  // expected-error @+1 {{'llmc.attention' op out shape (2x4096) must match q shape (1x4096)}}
  llmc.attention %q, %k, %v, n_past = %n -> %out kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.125 : memref<1x4096xf32>, memref<?x1024xf16>, memref<?x1024xf16>, memref<2x4096xf32>
  return
}

// -----

func.func @attention_k_element(%q: memref<1x4096xf32>, %k: memref<?x1024xi8>, %v: memref<?x1024xf16>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op k_cache element type must be f16 for kv_cache<f16>, got 'i8'}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.125 : memref<1x4096xf32>, memref<?x1024xi8>, memref<?x1024xf16>, memref<1x4096xf32>
  return
}

// -----

func.func @attention_v_row(%q: memref<1x4096xf32>, %k: memref<?x576xi8>, %v: memref<?x1088xi8>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op v_cache row length (1088) must be 576 to hold 1024 values as q4_0}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<q4_0> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.125 : memref<1x4096xf32>, memref<?x576xi8>, memref<?x1088xi8>, memref<1x4096xf32>
  return
}

// -----

func.func @attention_cache_lengths(%q: memref<1x4096xf32>, %k: memref<4096x1024xf16>, %v: memref<2048x1024xf16>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op v_cache shape (2048x1024) must match k_cache shape (4096x1024)}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.125 : memref<1x4096xf32>, memref<4096x1024xf16>, memref<2048x1024xf16>, memref<1x4096xf32>
  return
}

// -----

func.func @attention_scale(%q: memref<1x4096xf32>, %k: memref<?x1024xf16>, %v: memref<?x1024xf16>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op scale (-1.250000e-01) must be a positive finite number}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = -0.125 : memref<1x4096xf32>, memref<?x1024xf16>, memref<?x1024xf16>, memref<1x4096xf32>
  return
}

// -----

func.func @attention_scale_inf(%q: memref<1x4096xf32>, %k: memref<?x1024xf16>, %v: memref<?x1024xf16>, %n: index) {
  // expected-error @+1 {{'llmc.attention' op scale (INF) must be a positive finite number}}
  llmc.attention %q, %k, %v, n_past = %n -> %q kv_cache<f16> n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0x7F800000 : memref<1x4096xf32>, memref<?x1024xf16>, memref<?x1024xf16>, memref<1x4096xf32>
  return
}
