//===- LLMCAttrs.td - llmc enums and attributes -----------------*- tablegen -*-===//

#ifndef LLMC_IR_LLMCATTRS_TD
#define LLMC_IR_LLMCATTRS_TD

include "llmc/IR/LLMCDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class LLMC_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<LLMC_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// Enum attributes print as `#llmc.<mnemonic><case>`, and as `<case>` inside op formats,
// where the ops spell the mnemonic as a keyword in front (`quant<q4_K>`).
class LLMC_EnumAttr<EnumAttrInfo enumInfo, string attrMnemonic>
    : EnumAttr<LLMC_Dialect, enumInfo, attrMnemonic> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Weight quantization
//===----------------------------------------------------------------------===//

// Case values are ggml's on-disk type ids, so a GGUF tensor type converts with
// symbolizeQuantType(id); case names are spelled as llama.cpp prints them.
def LLMC_QuantTypeEnum : I32EnumAttr<"QuantType", "ggml weight type", [
    I32EnumAttrCase<"F32", 0, "f32">,
    I32EnumAttrCase<"F16", 1, "f16">,
    I32EnumAttrCase<"Q4_0", 2, "q4_0">,
    I32EnumAttrCase<"Q4_1", 3, "q4_1">,
    I32EnumAttrCase<"Q5_0", 6, "q5_0">,
    I32EnumAttrCase<"Q5_1", 7, "q5_1">,
    I32EnumAttrCase<"Q8_0", 8, "q8_0">,
    I32EnumAttrCase<"Q2_K", 10, "q2_K">,
    I32EnumAttrCase<"Q3_K", 11, "q3_K">,
    I32EnumAttrCase<"Q4_K", 12, "q4_K">,
    I32EnumAttrCase<"Q5_K", 13, "q5_K">,
    I32EnumAttrCase<"Q6_K", 14, "q6_K">,
    I32EnumAttrCase<"IQ4_NL", 20, "iq4_nl">,
    I32EnumAttrCase<"IQ4_XS", 23, "iq4_xs">,
    I32EnumAttrCase<"BF16", 30, "bf16">,
    I32EnumAttrCase<"MXFP4", 39, "mxfp4">
  ]> {
  let cppNamespace = "::mlir::llmc";
  let genSpecializedAttr = 0;
}

def LLMC_QuantTypeAttr : LLMC_EnumAttr<LLMC_QuantTypeEnum, "quant"> {
  let summary = "ggml type of a weight tensor";
  let description = [{
    The ggml block format of a weight matrix held as raw bytes. A row of `cols` values is
    `cols / block_size` consecutive blocks of `bytes_per_block` bytes (see
    `getBlockSize` and `getBytesPerBlock`); f32, f16 and bf16 are blocks of one value.

    Example: `#llmc.quant<q4_K>` (256 values in 144 bytes).
  }];
}

//===----------------------------------------------------------------------===//
// Weight layout
//===----------------------------------------------------------------------===//

// Case values match llmc::WeightLayout (runtime/include/llmc/weight_layout.h).
def LLMC_WeightLayoutEnum : I32EnumAttr<"WeightLayout", "layout of a weight matrix in memory", [
    I32EnumAttrCase<"Blocks", 0, "blocks">,
    I32EnumAttrCase<"RowPlanar", 1, "row_planar">
  ]> {
  let cppNamespace = "::mlir::llmc";
  let genSpecializedAttr = 0;
}

def LLMC_WeightLayoutAttr : LLMC_EnumAttr<LLMC_WeightLayoutEnum, "layout"> {
  let summary = "how a weight matrix's blocks are laid out in memory";
  let description = [{
    `blocks` (the default): each row is its ggml blocks one after the other, as in the GGUF
    file. `row_planar`: each row keeps its bytes and its place, but holds its blocks field by
    field (for Q6_K: every block's low nibbles, then every block's high bits, scales, d), so
    that codes are 16-byte aligned; types whose blocks are already aligned (float rows, Q4_K,
    Q5_K) are the same in both. The field table is `llmc::row_planar_fields`.

    Example: `#llmc.layout<row_planar>`.
  }];
}

//===----------------------------------------------------------------------===//
// KV cache element type
//===----------------------------------------------------------------------===//

// Case values are the ggml type ids of the storage formats, as for QuantType.
def LLMC_KvCacheTypeEnum : I32EnumAttr<"KvCacheType", "KV cache element type", [
    I32EnumAttrCase<"F16", 1, "f16">,
    I32EnumAttrCase<"Q4_0", 2, "q4_0">,
    I32EnumAttrCase<"Q8_0", 8, "q8_0">
  ]> {
  let cppNamespace = "::mlir::llmc";
  let genSpecializedAttr = 0;
}

def LLMC_KvCacheTypeAttr : LLMC_EnumAttr<LLMC_KvCacheTypeEnum, "kv_cache"> {
  let summary = "element type of the K and V caches";
  let description = [{
    How the K and V caches store one position's row of `n_kv_heads * head_dim` values:
    f16 values (`memref<n_ctx x row x f16>`), or ggml q8_0/q4_0 blocks as raw bytes
    (`memref<n_ctx x row_bytes x i8>`), with the same block layout as weights.

    Example: `#llmc.kv_cache<q8_0>`.
  }];
}

//===----------------------------------------------------------------------===//
// Rotary embedding mode
//===----------------------------------------------------------------------===//

def LLMC_RopeModeEnum : I32EnumAttr<"RopeMode", "rotary embedding pairing", [
    I32EnumAttrCase<"Norm", 0, "norm">,
    I32EnumAttrCase<"Neox", 2, "neox">
  ]> {
  let cppNamespace = "::mlir::llmc";
  let genSpecializedAttr = 0;
}

def LLMC_RopeModeAttr : LLMC_EnumAttr<LLMC_RopeModeEnum, "rope_mode"> {
  let summary = "which pairs of values a rotary embedding rotates";
  let description = [{
    `norm` rotates adjacent pairs (`x[2i]`, `x[2i+1]`), as llama and mistral GGUFs expect;
    `neox` rotates the two halves (`x[i]`, `x[i + dims/2]`), as qwen2, qwen3, gemma3 and
    gpt-oss expect. The values match ggml's rope mode flags.

    Example: `#llmc.rope_mode<neox>`.
  }];
}

//===----------------------------------------------------------------------===//
// Kernel tuning
//===----------------------------------------------------------------------===//

def LLMC_TuningAttr : LLMC_Attr<"Tuning", "tuning"> {
  let summary = "launch and code-shape values of one kernel on one chip";
  let description = [{
    The tunables the planner picks per (chip, op, quant type) and the lowering applies:
    `rows_per_block` output rows per workgroup (1..64), `warps` per workgroup (1..32),
    `vector_width` values per load (1, 2, 4, 8 or 16) and `unroll` of the inner loop
    (1..16). A warp is the chip's SIMD group: 32 lanes on NVIDIA, 64 on gfx906.

    A workgroup's warps form groups; each group owns some of its rows and splits their
    columns. By default there are gcd(rows_per_block, warps) groups. `group_warps`, when
    given, sets the warps per group instead: it must divide `warps`, and the number of
    groups must divide `rows_per_block` (`rows_per_block = 2, warps = 2, group_warps = 2`:
    two warps share both rows, so the activations each lane loads serve two rows).

    `prefetch = 1` has each workgroup of a GPU mat-vec ask for all its weight rows in L2
    when it starts (on chips with an L2 prefetch instruction: NVIDIA), so that the whole
    rows are in flight from the start, however few loads the lanes' registers hold; 0
    (the default) issues none.

    `row_steps = S` has each workgroup of a GPU mat-vec compute S blocks of
    `rows_per_block` consecutive rows, one after the other (a grid S times smaller, warps that
    live S times longer; with `prefetch`, each step first asks for the next step's rows). 1 (the
    default) is one block per workgroup; at most 64.

    `min_blocks = M` asks the code generator to keep at least M workgroups of a GPU mat-vec
    resident per multiprocessor (an NVIDIA SM, an AMD CU), capping each lane's registers
    to what M workgroups of this size leave (`.minnctapersm` on NVIDIA, waves per SIMD on
    AMD). It trades spills for occupancy when a few registers would cost a wave. 0 (the
    default) leaves registers to the code generator; at most 32.

    Example: `#llmc.tuning<rows_per_block = 1, warps = 4, vector_width = 4, unroll = 2>`.
  }];
  let parameters = (ins
    "int64_t":$rows_per_block,
    "int64_t":$warps,
    "int64_t":$vector_width,
    "int64_t":$unroll,
    DefaultValuedParameter<"int64_t", "0">:$group_warps,
    DefaultValuedParameter<"int64_t", "0">:$prefetch,
    DefaultValuedParameter<"int64_t", "1">:$row_steps,
    DefaultValuedParameter<"int64_t", "0">:$min_blocks
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // LLMC_IR_LLMCATTRS_TD
