//===- LLMCOps.td - llmc operations -----------------------------*- tablegen -*-===//
//
// Shapes below use T for the number of token rows (often dynamic), and every f32 activation
// buffer is rank 2, [T, width], row-major. Verifiers compare sizes only where both are static.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_IR_LLMCOPS_TD
#define LLMC_IR_LLMCOPS_TD

include "llmc/IR/LLMCAttrs.td"
include "llmc/IR/LLMCDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

defvar LLMC_Rows = MemRefRankOf<[F32], [2]>;
defvar LLMC_Vector = MemRefRankOf<[F32], [1]>;
defvar LLMC_Bytes = MemRefRankOf<[I8], [1]>;
defvar LLMC_Indices = MemRefRankOf<[I32], [1]>;
defvar LLMC_Cache = MemRefRankOf<[F16, I8], [2]>;
defvar LLMC_PositiveI64 = ConfinedAttr<I64Attr, [IntPositive]>;

//===----------------------------------------------------------------------===//
// Quantized matrix products
//===----------------------------------------------------------------------===//

class LLMC_QuantizedMatrixOp<string mnemonic> : LLMC_Op<mnemonic> {
  let arguments = (ins
    Arg<LLMC_Bytes, "weight rows of ggml blocks", [MemRead]>:$w,
    Arg<LLMC_Rows, "input rows [batch, cols]", [MemRead]>:$x,
    Arg<LLMC_Rows, "output rows [batch, rows]", [MemWrite]>:$y,
    LLMC_QuantTypeAttr:$quant,
    LLMC_PositiveI64:$rows,
    LLMC_PositiveI64:$cols,
    OptionalAttr<LLMC_TuningAttr>:$tuning,
    OptionalAttr<LLMC_WeightLayoutAttr>:$layout
  );
  let assemblyFormat = [{
    $w `,` $x `->` $y `quant` `` $quant `rows` `=` $rows `cols` `=` $cols
    (`tuning` `` $tuning^)? (`layout` `` $layout^)? attr-dict `:` type($w) `,` type($x) `,` type($y)
  }];
  let hasVerifier = 1;
}

def LLMC_QMatVecOp : LLMC_QuantizedMatrixOp<"qmatvec"> {
  let summary = "quantized matrix times 1 to 8 f32 vectors (decode)";
  let description = [{
    `y[b, r] = sum_c W[r, c] * x[b, c]` for a batch of 1 to 8 vectors, the shape of token
    generation. `W` is `rows x cols` values stored as raw bytes: row-major rows, each row
    `cols / block_size` ggml blocks of type `quant`, so `W` holds
    `rows * cols / block_size * bytes_per_block` bytes. `x` is `[batch, cols]` and `y` is
    `[batch, rows]`, both f32. The batch must be static: the kernel keeps one accumulator
    per vector. `tuning` carries the chip's launch shape, chosen by the planner. `layout`
    says how the rows hold their blocks (`#llmc.layout`; absent means the file's `blocks`).

    Example:

    ```mlir
    llmc.qmatvec %w, %x -> %y quant<q4_K> rows = 4096 cols = 4096
        tuning<rows_per_block = 1, warps = 4, vector_width = 4, unroll = 2>
        : memref<9437184xi8>, memref<1x4096xf32>, memref<1x4096xf32>
    ```
  }];
}

def LLMC_QMatMulOp : LLMC_QuantizedMatrixOp<"qmatmul"> {
  let summary = "quantized matrix times more than 8 f32 vectors (prefill)";
  let description = [{
    The same product and operand layout as `llmc.qmatvec`, for the batches of prompt
    processing: `y[t, r] = sum_c W[r, c] * x[t, c]` over T > 8 token rows, which lowers to a
    tiled matrix-matrix kernel. T may be dynamic; when static it must exceed 8.

    Example:

    ```mlir
    llmc.qmatmul %w, %x -> %y quant<q8_0> rows = 1024 cols = 4096
        : memref<?xi8>, memref<?x4096xf32>, memref<?x1024xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Row-wise ops
//===----------------------------------------------------------------------===//

def LLMC_RmsNormOp : LLMC_Op<"rms_norm"> {
  let summary = "RMS normalization of each row, times a weight vector";
  let description = [{
    `out[t, i] = x[t, i] / sqrt(mean_j(x[t, j]^2) + eps) * weight[i]`. The weight length
    equals the row length; per-head norms (qwen3's q/k norm) view `[T, heads * head_dim]`
    as `[T * heads, head_dim]`. `out` may be `x`.

    With `q8`, the normalized rows are also written quantized, as the int8 `llmc.qmatvec`
    kernels read their activations: `T * cols` int8 codes in blocks of 32 (d = amax / 127,
    codes rounded half away from zero), then for each block the f32 pair (d, d * sum of its
    codes). The next products then need no quantizer of their own. The row length must be a
    multiple of 32, and a static `q8` holds exactly `T * cols * (1 + 8 / 32)` bytes.

    Example:

    ```mlir
    llmc.rms_norm %x, %weight -> %out eps = 9.99999974E-6
        : memref<?x4096xf32>, memref<4096xf32>, memref<?x4096xf32>
    llmc.rms_norm %x, %weight -> %out, %q8 eps = 9.99999974E-6
        : memref<1x4096xf32>, memref<4096xf32>, memref<1x4096xf32>, memref<5120xi8>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "input rows", [MemRead]>:$x,
    Arg<LLMC_Vector, "per-column scale", [MemRead]>:$weight,
    Arg<LLMC_Rows, "normalized rows", [MemWrite]>:$out,
    Arg<Optional<LLMC_Bytes>, "normalized rows as int8 blocks and their scales", [MemWrite]>:$q8,
    F32Attr:$eps
  );
  let assemblyFormat = [{
    $x `,` $weight `->` $out (`,` $q8^)? `eps` `=` $eps attr-dict
    `:` type($x) `,` type($weight) `,` type($out) (`,` type($q8)^)?
  }];
  let hasVerifier = 1;
}

def LLMC_RopeOp : LLMC_Op<"rope"> {
  let summary = "rotary position embedding of each head";
  let description = [{
    Rotates the first `dims` values of each of the `n_heads` heads of row `t` by angles
    `positions[t] * freq_base^(-2i / dims)`, i = 0 .. dims/2 - 1; values past `dims` are
    copied. `mode` says which values pair up (see `#llmc.rope_mode`). `x` and `out` are
    `[T, n_heads * head_dim]`; `positions` holds one i32 position per row. `out` may be `x`.

    Example:

    ```mlir
    llmc.rope %q, %positions -> %q mode<neox> dims = 128 n_heads = 32 head_dim = 128
        freq_base = 1.000000e+06
        : memref<?x4096xf32>, memref<?xi32>, memref<?x4096xf32>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "rows of heads", [MemRead]>:$x,
    Arg<LLMC_Indices, "position of each row", [MemRead]>:$positions,
    Arg<LLMC_Rows, "rotated rows", [MemWrite]>:$out,
    LLMC_RopeModeAttr:$mode,
    LLMC_PositiveI64:$dims,
    LLMC_PositiveI64:$n_heads,
    LLMC_PositiveI64:$head_dim,
    F32Attr:$freq_base
  );
  let assemblyFormat = [{
    $x `,` $positions `->` $out `mode` `` $mode `dims` `=` $dims `n_heads` `=` $n_heads
    `head_dim` `=` $head_dim `freq_base` `=` $freq_base attr-dict
    `:` type($x) `,` type($positions) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LLMC_SwiGluOp : LLMC_Op<"swiglu"> {
  let summary = "SiLU-gated linear unit: silu(gate) * up";
  let description = [{
    `out = gate / (1 + exp(-gate)) * up`, element-wise over rows of the feed-forward width.
    All three buffers have the same shape; `out` may be `gate` or `up`.

    Example:

    ```mlir
    llmc.swiglu %gate, %up -> %out
        : memref<?x14336xf32>, memref<?x14336xf32>, memref<?x14336xf32>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "gate projection", [MemRead]>:$gate,
    Arg<LLMC_Rows, "up projection", [MemRead]>:$up,
    Arg<LLMC_Rows, "gated rows", [MemWrite]>:$out
  );
  let assemblyFormat = [{
    $gate `,` $up `->` $out attr-dict `:` type($gate) `,` type($up) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LLMC_SoftmaxOp : LLMC_Op<"softmax"> {
  let summary = "softmax of each row";
  let description = [{
    `out[t, i] = exp(s x[t, i] - m) / sum_j exp(s x[t, j] - m)` with `m = max_j s x[t, j]` and
    `s` the optional `scale` (1 when absent; attention scores, temperature). `out` has the shape
    of `x` and may be `x`.

    Example:

    ```mlir
    llmc.softmax %logits -> %probs : memref<1x32000xf32>, memref<1x32000xf32>
    llmc.softmax %scores -> %scores scale = 0.0883883461 : memref<32x512xf32>, memref<32x512xf32>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "input rows", [MemRead]>:$x,
    Arg<LLMC_Rows, "normalized rows", [MemWrite]>:$out,
    OptionalAttr<F32Attr>:$scale
  );
  let assemblyFormat = [{
    $x `->` $out (`scale` `=` $scale^)? attr-dict `:` type($x) `,` type($out)
  }];
  let hasVerifier = 1;
}

class LLMC_ElementwiseBinaryOp<string mnemonic, string formula> : LLMC_Op<mnemonic> {
  let description = [{
    `out = lhs }] # formula # [{ rhs`, element-wise. `rhs` is either the shape of `lhs`, or a
    vector as long as a row of `lhs`, applied to every row (a bias or a scale). `out` has
    the shape of `lhs` and may be `lhs`.

    Example:

    ```mlir
    llmc.}] # mnemonic # [{ %x, %bias -> %x : memref<?x1024xf32>, memref<1024xf32>, memref<?x1024xf32>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "left operand", [MemRead]>:$lhs,
    Arg<MemRefRankOf<[F32], [1, 2]>, "right operand, or one row for every row", [MemRead]>:$rhs,
    Arg<LLMC_Rows, "result", [MemWrite]>:$out
  );
  let assemblyFormat = [{
    $lhs `,` $rhs `->` $out attr-dict `:` type($lhs) `,` type($rhs) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LLMC_AddOp : LLMC_ElementwiseBinaryOp<"add", "+"> {
  let summary = "element-wise sum, with a row vector broadcast over rows";
}

def LLMC_MulOp : LLMC_ElementwiseBinaryOp<"mul", "*"> {
  let summary = "element-wise product, with a row vector broadcast over rows";
}

//===----------------------------------------------------------------------===//
// Embedding lookup and sampling
//===----------------------------------------------------------------------===//

def LLMC_EmbedOp : LLMC_Op<"embed"> {
  let summary = "gather and dequantize rows of a quantized embedding table";
  let description = [{
    `out[t, :] = dequantize(table[ids[t], :])`. `table` is `rows x cols` values (vocabulary
    by embedding width) stored like a `llmc.qmatvec` weight: row-major rows of ggml blocks
    of type `quant`. `ids` holds one i32 token id per output row; ids are not range-checked
    by the kernel, the tokenizer only produces ids below `rows`.

    Example:

    ```mlir
    llmc.embed %table[%ids] -> %out quant<q6_K> rows = 151936 cols = 1024
        : memref<?xi8>, memref<?xi32>, memref<?x1024xf32>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Bytes, "embedding rows of ggml blocks", [MemRead]>:$table,
    Arg<LLMC_Indices, "token ids", [MemRead]>:$ids,
    Arg<LLMC_Rows, "embedding of each token", [MemWrite]>:$out,
    LLMC_QuantTypeAttr:$quant,
    LLMC_PositiveI64:$rows,
    LLMC_PositiveI64:$cols,
    OptionalAttr<LLMC_WeightLayoutAttr>:$layout
  );
  let assemblyFormat = [{
    $table `[` $ids `]` `->` $out `quant` `` $quant `rows` `=` $rows `cols` `=` $cols
    (`layout` `` $layout^)? attr-dict `:` type($table) `,` type($ids) `,` type($out)
  }];
  let hasVerifier = 1;
}

def LLMC_ArgMaxOp : LLMC_Op<"argmax"> {
  let summary = "index of the largest value of each row (greedy sampling)";
  let description = [{
    `out[t] = argmax_i logits[t, i]`, the lowest index among equal maxima. NaN never
    compares greater, so a row of NaN gives 0.

    Example:

    ```mlir
    llmc.argmax %logits -> %token : memref<1x151936xf32>, memref<1xi32>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "scores", [MemRead]>:$logits,
    Arg<LLMC_Indices, "index of each row's maximum", [MemWrite]>:$out
  );
  let assemblyFormat = "$logits `->` $out attr-dict `:` type($logits) `,` type($out)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// KV cache and attention
//===----------------------------------------------------------------------===//

def LLMC_KvStoreOp : LLMC_Op<"kv_store"> {
  let summary = "write K or V rows into a cache at a position";
  let description = [{
    `cache[position + t, :] = convert(src[t, :])` for each of the T rows of `src`, each
    row being one position's `n_kv_heads * head_dim` values. The cache is `[n_ctx, row]`:
    f16 values for `kv_cache<f16>`, or raw bytes of q8_0/q4_0 blocks (a row of W values is
    `W / 32` blocks) for the quantized cache types. The caller keeps
    `position + T <= n_ctx`; the planner sized the cache for it.

    Example:

    ```mlir
    llmc.kv_store %k -> %k_cache[%pos] kv_cache<q8_0>
        : memref<1x1024xf32>, memref<4096x1088xi8>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "K or V rows of the new tokens", [MemRead]>:$src,
    Arg<LLMC_Cache, "the cache, one row per position", [MemWrite]>:$cache,
    Index:$position,
    LLMC_KvCacheTypeAttr:$kv
  );
  let assemblyFormat = [{
    $src `->` $cache `[` $position `]` `kv_cache` `` $kv attr-dict
    `:` type($src) `,` type($cache)
  }];
  let hasVerifier = 1;
}

def LLMC_AttentionOp : LLMC_Op<"attention"> {
  let summary = "multi-head attention of query rows over the KV cache";
  let description = [{
    For query row t (at position `n_past + t`) and head h, with KV head
    `g = h / (n_heads / n_kv_heads)` (grouped-query attention):
    `s[j] = scale * dot(q[t, h], K[j, g])`, `p = softmax(s)`,
    `out[t, h] = sum_j p[j] * V[j, g]`. Without `causal`, j ranges over every cached position
    `0 .. n_past + T - 1` (decode, T is usually 1); with `causal`, row t sees positions
    `0 .. n_past + t` (prefill). The rows of the current tokens must already be in the
    caches (`llmc.kv_store`).

    `q` and `out` are `[T, n_heads * head_dim]` f32. `k_cache` and `v_cache` have the
    layout of `llmc.kv_store` for `kv` with rows of `n_kv_heads * head_dim` values.

    Example:

    ```mlir
    llmc.attention %q, %k_cache, %v_cache, n_past = %n -> %out kv_cache<f16>
        n_heads = 32 n_kv_heads = 8 head_dim = 128 scale = 0.0883883461 causal
        : memref<?x4096xf32>, memref<8192x1024xf16>, memref<8192x1024xf16>,
          memref<?x4096xf32>
    ```
  }];
  let arguments = (ins
    Arg<LLMC_Rows, "query rows", [MemRead]>:$q,
    Arg<LLMC_Cache, "K cache", [MemRead]>:$k_cache,
    Arg<LLMC_Cache, "V cache", [MemRead]>:$v_cache,
    Index:$n_past,
    Arg<LLMC_Rows, "attention output rows", [MemWrite]>:$out,
    LLMC_KvCacheTypeAttr:$kv,
    LLMC_PositiveI64:$n_heads,
    LLMC_PositiveI64:$n_kv_heads,
    LLMC_PositiveI64:$head_dim,
    F32Attr:$scale,
    UnitAttr:$causal
  );
  let assemblyFormat = [{
    $q `,` $k_cache `,` $v_cache `,` `n_past` `=` $n_past `->` $out `kv_cache` `` $kv
    `n_heads` `=` $n_heads `n_kv_heads` `=` $n_kv_heads `head_dim` `=` $head_dim
    `scale` `=` $scale (`causal` $causal^)? attr-dict
    `:` type($q) `,` type($k_cache) `,` type($v_cache) `,` type($out)
  }];
  let hasVerifier = 1;
}

#endif // LLMC_IR_LLMCOPS_TD
