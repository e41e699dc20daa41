// The shape of one generated kernel for the llmc ops other than the quantized products:
// element-wise (add, mul, swiglu), row-wise (rms_norm, softmax, argmax), rotary embedding,
// KV cache stores, embedding gathers and decode attention over an f16 cache. Decided before any IR is built, from the
// op's attributes and static shapes: the kernel's name, its parameters in argument order, and the launch geometry. The
// lowering builds exactly this, and the bundle writer records it in the manifest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/IR/LLMCAttrs.h"

namespace llmc::compiler {

class TargetInfo;

enum class OpKind { RmsNorm, Add, Mul, SwiGlu, Softmax, ArgMax, Rope, KvStore, Embed, Attention };

// The op's mnemonic without the dialect prefix: "rms_norm", "add", ..., "embed".
std::string_view opKindName(OpKind kind);
std::optional<OpKind> parseOpKind(std::string_view name);
// Every kind, in declaration order.
const std::vector<OpKind>& allOpKinds();

// What a kernel computes, independent of the chip. Only the fields of `kind` are read.
struct OpSpec {
  OpKind kind = OpKind::Add;
  int64_t tokens = 1;      // T: rows of the activations (positions, ids, cache rows written)
  int64_t width = 0;       // values per row: rms_norm, add, mul, swiglu, softmax, argmax, kv_store
  bool broadcast = false;  // add, mul: rhs is one row applied to every row
  float eps = 1e-5f;       // rms_norm
  bool quantize = false;   // rms_norm: also write the rows as int8 blocks (the q8 parameter)
  float scale = 1.0f;      // softmax: out = softmax(scale * x); attention: the scores' factor
  mlir::llmc::RopeMode ropeMode = mlir::llmc::RopeMode::Norm;  // rope
  int64_t heads = 0;                                           // rope, attention: heads per row
  int64_t headDim = 0;                                         // rope, attention
  int64_t kvHeads = 0;                                         // attention: KV heads (grouped-query attention)
  bool causal = false;                                         // attention: row t sees positions up to n_past + t only
  int64_t ropeDims = 0;                                        // rope: rotated values at the start of each head
  float freqBase = 10000.0f;                                   // rope
  mlir::llmc::KvCacheType cache = mlir::llmc::KvCacheType::F16;  // kv_store, attention
  int64_t contextLength = 0;                                     // kv_store, attention: positions the cache holds
  mlir::llmc::QuantType quant = mlir::llmc::QuantType::F32;      // embed: the table's type
  int64_t tableRows = 0;  // embed: vocabulary size; `width` is the table's columns
  // embed: the table's layout (row_planar falls back to blocks where it changes nothing).
  mlir::llmc::WeightLayout layout = mlir::llmc::WeightLayout::Blocks;
};

// One kernel parameter, in argument order. Buffers are passed as pointers to their first
// element; a scalar is passed by value.
struct OpParam {
  std::string name;            // "x", "weight", "out", "positions", "cache", "pos", ...
  std::string role;            // "input", "weights", "output", "scalar"
  std::string dtype;           // "f32", "f16", "i32", "i8" (raw ggml blocks), "i64" (scalar)
  std::vector<int64_t> shape;  // elements per dimension; empty for a scalar
  // Output buffers only: true when the kernel writes part of the buffer (a KV cache: the rows
  // of the stored positions) and leaves the rest untouched.
  bool partial = false;
};

struct OpPlan {
  OpSpec spec;
  std::string kernelName;
  std::vector<OpParam> params;

  // GPU: gridX workgroups of blockX threads, sharedBytes of workgroup memory. CPU: one call per
  // range of token rows [row_begin, row_end) (the kernel takes them after its parameters).
  int64_t gridX = 1;
  int64_t blockX = 1;
  int64_t sharedBytes = 0;

  // Values per vector load and store along a row: the largest power of two up to 4 (GPU) or 8
  // (x86-64, 256-bit registers) that divides the row length, so that vectors never straddle rows.
  int64_t vectorWidth = 1;
  // embed: bytes of packed data per lane step, for the block decoders.
  int64_t laneBytes = 0;
  // embed: the table's bytes per row and in all.
  int64_t rowBytes = 0;
  int64_t tableBytes = 0;
  // kv_store: bytes of one cache row (values x 2 for f16, blocks x block bytes when quantized).
  int64_t cacheRowBytes = 0;
  // attention (GPU): values of a head each lane of a warp owns (head_dim / warp size), and the
  // warps of a workgroup, which split the positions.
  int64_t laneValues = 0;
  int64_t warps = 1;
};

// Plans the kernel of `spec` on `target`; nullopt with `error` set when there is none (a shape
// the op's verifier would reject, a type without a decoder, a size past the 32-bit grid).
std::optional<OpPlan> planOp(const TargetInfo& target, const OpSpec& spec, std::string* error);

// The 8 hex digits of a float's bits, as kernel names spell attribute values (eps, scale,
// freq_base): exact, and valid in every assembler's symbol names.
std::string floatBitsHex(float value);

}  // namespace llmc::compiler
