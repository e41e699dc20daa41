#include "llmc/compiler/OpPlan.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>

#include "QuantDecoders.h"
#include "llmc/compiler/QMatVecPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {

using mlir::llmc::KvCacheType;
using mlir::llmc::QuantType;
using mlir::llmc::RopeMode;

namespace {

// Threads of an element-wise workgroup: enough warps to hide latency on every chip, few enough
// that a short row still fills whole workgroups.
constexpr int64_t kElementwiseThreads = 256;
// Row ops give each thread at least this many vectors of the row, so that the cross-warp
// reduction stays a small part of the work.
constexpr int64_t kVectorsPerThread = 4;
constexpr int64_t kMaxThreads = 1024;
// Warps of an attention workgroup: enough positions in flight per head, and a merge of four
// partial softmax states.
constexpr int64_t kAttentionWarps = 4;
// CUDA and HIP take at most 2^31 - 1 workgroups along x.
constexpr int64_t kMaxGrid = std::numeric_limits<int32_t>::max();

int64_t largestPowerOfTwoDividing(int64_t n, int64_t limit) {
  int64_t v = 1;
  while (v * 2 <= limit && n % (v * 2) == 0) v *= 2;
  return v;
}

int64_t powerOfTwoAtMost(int64_t n) {
  return n < 1 ? 1 : int64_t{1} << (63 - std::countl_zero(static_cast<uint64_t>(n)));
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Threads of a workgroup that owns a row of `lanes` lane steps: a power of two, at least one warp.
int64_t rowThreads(const TargetInfo& target, int64_t lanes) {
  const int64_t warp = target.warpSize();
  return std::clamp<int64_t>(powerOfTwoAtMost(lanes / kVectorsPerThread), warp, kMaxThreads);
}

OpParam buffer(std::string name, std::string role, std::string dtype, std::vector<int64_t> shape) {
  return {std::move(name), std::move(role), std::move(dtype), std::move(shape), false};
}

std::string str(int64_t v) { return std::to_string(v); }

}  // namespace

std::string_view opKindName(OpKind kind) {
  switch (kind) {
    case OpKind::RmsNorm: return "rms_norm";
    case OpKind::Add: return "add";
    case OpKind::Mul: return "mul";
    case OpKind::SwiGlu: return "swiglu";
    case OpKind::Softmax: return "softmax";
    case OpKind::ArgMax: return "argmax";
    case OpKind::Rope: return "rope";
    case OpKind::KvStore: return "kv_store";
    case OpKind::Embed: return "embed";
    case OpKind::Attention: return "attention";
  }
  return "unknown";
}

const std::vector<OpKind>& allOpKinds() {
  static const std::vector<OpKind> kinds = {OpKind::RmsNorm, OpKind::Add,      OpKind::Mul,  OpKind::SwiGlu,
                                            OpKind::Softmax, OpKind::ArgMax,   OpKind::Rope, OpKind::KvStore,
                                            OpKind::Embed,   OpKind::Attention};
  return kinds;
}

std::optional<OpKind> parseOpKind(std::string_view name) {
  for (OpKind kind : allOpKinds())
    if (opKindName(kind) == name) return kind;
  return std::nullopt;
}

std::string floatBitsHex(float value) {
  char text[9];
  std::snprintf(text, sizeof(text), "%08x", std::bit_cast<uint32_t>(value));
  return text;
}

std::optional<OpPlan> planOp(const TargetInfo& target, const OpSpec& spec, std::string* error) {
  const std::string op(opKindName(spec.kind));
  auto fail = [&](std::string message) -> std::optional<OpPlan> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const int64_t T = spec.tokens;
  if (T < 1) return fail("the token count (" + str(T) + ") must be positive");

  OpPlan plan;
  plan.spec = spec;
  const bool gpu = target.isGpu();
  const int64_t vectorLimit = gpu ? 4 : 8;
  const std::string shape = "t" + str(T) + "x" + str(spec.width);

  switch (spec.kind) {
    case OpKind::RmsNorm:
    case OpKind::Add:
    case OpKind::Mul:
    case OpKind::SwiGlu:
    case OpKind::Softmax:
    case OpKind::ArgMax:
    case OpKind::KvStore:
      if (spec.width < 1) return fail(op + ": the row length (" + str(spec.width) + ") must be positive");
      plan.vectorWidth = largestPowerOfTwoDividing(spec.width, vectorLimit);
      break;
    case OpKind::Rope:
    case OpKind::Embed:
    case OpKind::Attention: break;
  }
  const int64_t W = spec.width;
  const int64_t v = plan.vectorWidth;

  switch (spec.kind) {
    case OpKind::RmsNorm: {
      if (!(spec.eps > 0) || !std::isfinite(spec.eps))
        return fail("rms_norm: eps (" + std::to_string(spec.eps) + ") must be a positive finite number");
      plan.kernelName = "llmc_rms_norm_" + shape + "_e" + floatBitsHex(spec.eps) + (spec.quantize ? "_q8" : "");
      plan.params = {buffer("x", "input", "f32", {T, W}), buffer("weight", "weights", "f32", {W}),
                     buffer("out", "output", "f32", {T, W})};
      if (spec.quantize) {
        if (W % 32 != 0) return fail("rms_norm: q8 needs a row length (" + str(W) + ") that is a multiple of 32");
        // The int8 products' activations: T x W codes, then a (d, d x sum) f32 pair per block.
        plan.params.push_back(buffer("q8", "output", "i8", {T * W + T * W / 4}));
      }
      break;
    }
    case OpKind::Add:
    case OpKind::Mul:
      plan.kernelName = "llmc_" + op + "_" + shape + (spec.broadcast ? "_row" : "");
      plan.params = {buffer("lhs", "input", "f32", {T, W}),
                     spec.broadcast ? buffer("rhs", "input", "f32", {W}) : buffer("rhs", "input", "f32", {T, W}),
                     buffer("out", "output", "f32", {T, W})};
      break;
    case OpKind::SwiGlu:
      plan.kernelName = "llmc_swiglu_" + shape;
      plan.params = {buffer("gate", "input", "f32", {T, W}), buffer("up", "input", "f32", {T, W}),
                     buffer("out", "output", "f32", {T, W})};
      break;
    case OpKind::Softmax:
      if (!(spec.scale > 0) || !std::isfinite(spec.scale))
        return fail("softmax: scale (" + std::to_string(spec.scale) + ") must be a positive finite number");
      plan.kernelName = "llmc_softmax_" + shape + (spec.scale == 1.0f ? "" : "_s" + floatBitsHex(spec.scale));
      plan.params = {buffer("x", "input", "f32", {T, W}), buffer("out", "output", "f32", {T, W})};
      break;
    case OpKind::ArgMax:
      if (W > std::numeric_limits<int32_t>::max() - 1)
        return fail("argmax: the row length (" + str(W) + ") does not fit an i32 index");
      plan.kernelName = "llmc_argmax_" + shape;
      plan.params = {buffer("logits", "input", "f32", {T, W}), buffer("out", "output", "i32", {T})};
      break;
    case OpKind::Rope: {
      const int64_t H = spec.heads;
      const int64_t D = spec.headDim;
      const int64_t dims = spec.ropeDims;
      if (H < 1 || D < 1 || dims < 2) return fail("rope: heads, head_dim and dims must be positive (dims at least 2)");
      if (dims % 2 != 0) return fail("rope: dims (" + str(dims) + ") must be even");
      if (dims > D) return fail("rope: dims (" + str(dims) + ") must not exceed head_dim (" + str(D) + ")");
      if (!(spec.freqBase > 0) || !std::isfinite(spec.freqBase))
        return fail("rope: freq_base (" + std::to_string(spec.freqBase) + ") must be a positive finite number");
      plan.spec.width = H * D;
      plan.kernelName = "llmc_rope_" + mlir::llmc::stringifyRopeMode(spec.ropeMode).str() + "_t" + str(T) + "_h" +
                        str(H) + "x" + str(D) + "_d" + str(dims) + "_f" + floatBitsHex(spec.freqBase);
      plan.params = {buffer("x", "input", "f32", {T, H * D}), buffer("positions", "input", "i32", {T}),
                     buffer("out", "output", "f32", {T, H * D})};
      break;
    }
    case OpKind::KvStore: {
      const int64_t N = spec.contextLength;
      if (N < T)
        return fail("kv_store: the cache holds " + str(N) + " positions, fewer than the " + str(T) + " rows stored");
      const QuantType storage = mlir::llmc::getStorageType(spec.cache);
      const std::string cacheName = mlir::llmc::stringifyKvCacheType(spec.cache).str();
      std::optional<int64_t> rowBytes = mlir::llmc::getRowBytes(storage, W);
      if (!rowBytes)
        return fail("kv_store: the row length (" + str(W) + ") must be a multiple of the " + cacheName +
                    " block size (" + str(mlir::llmc::getBlockSize(storage)) + ")");
      plan.cacheRowBytes = *rowBytes;
      plan.kernelName = "llmc_kv_store_" + cacheName + "_" + shape + "_n" + str(N);
      OpParam cache = spec.cache == KvCacheType::F16 ? buffer("cache", "output", "f16", {N, W})
                                                     : buffer("cache", "output", "i8", {N, *rowBytes});
      cache.partial = true;
      plan.params = {buffer("src", "input", "f32", {T, W}), cache, buffer("pos", "scalar", "i64", {})};
      break;
    }
    case OpKind::Embed: {
      const std::string quantName = mlir::llmc::stringifyQuantType(spec.quant).str();
      if (!hasQMatVecKernel(spec.quant)) return fail("embed: no decoder for " + quantName);
      if (spec.tableRows < 1 || W < 1) return fail("embed: the table's rows and cols must be positive");
      std::optional<int64_t> rowBytes = mlir::llmc::getRowBytes(spec.quant, W);
      if (!rowBytes)
        return fail("embed: cols (" + str(W) + ") is not a multiple of the " + quantName + " block size (" +
                    str(mlir::llmc::getBlockSize(spec.quant)) + ")");
      plan.rowBytes = *rowBytes;
      plan.tableBytes = spec.tableRows * *rowBytes;
      // 16 bytes of packed data per lane step on GPUs (one 128-bit load), 32 on x86-64 (a
      // 256-bit register of f32 values per group for most types).
      plan.laneBytes = gpu ? 16 : 32;
      plan.spec.layout = effectiveLayout(spec.quant, spec.layout);
      plan.kernelName = "llmc_embed_" + quantName + "_" + str(spec.tableRows) + "x" + str(W) + "_t" + str(T) +
                        layoutSuffix(plan.spec.layout);
      plan.params = {buffer("table", "weights", "i8", {plan.tableBytes}), buffer("ids", "input", "i32", {T}),
                     buffer("out", "output", "f32", {T, W})};
      break;
    }
    case OpKind::Attention: {
      const int64_t H = spec.heads;
      const int64_t KV = spec.kvHeads;
      const int64_t D = spec.headDim;
      const int64_t N = spec.contextLength;
      if (H < 1 || KV < 1 || D < 1) return fail("attention: n_heads, n_kv_heads and head_dim must be positive");
      if (H % KV != 0)
        return fail("attention: n_heads (" + str(H) + ") must be a multiple of n_kv_heads (" + str(KV) + ")");
      if (spec.cache != KvCacheType::F16)
        return fail("attention: only an f16 KV cache has a kernel (not " +
                    mlir::llmc::stringifyKvCacheType(spec.cache).str() + ")");
      if (N < T)
        return fail("attention: the cache holds " + str(N) + " positions, fewer than the " + str(T) + " query rows");
      if (!(spec.scale > 0) || !std::isfinite(spec.scale))
        return fail("attention: scale (" + std::to_string(spec.scale) + ") must be a positive finite number");
      if (gpu && D % target.warpSize() != 0)
        return fail("attention: head_dim (" + str(D) + ") must be a multiple of " + target.chipName() +
                    "'s warp size (" + str(target.warpSize()) + ")");
      plan.spec.width = H * D;
      plan.vectorWidth = largestPowerOfTwoDividing(D, vectorLimit);
      plan.kernelName = "llmc_attention_f16_t" + str(T) + "_h" + str(H) + "x" + str(D) + "_kv" + str(KV) + "_n" +
                        str(N) + (spec.causal ? "_causal" : "") + "_s" + floatBitsHex(spec.scale);
      plan.params = {buffer("q", "input", "f32", {T, H * D}), buffer("k_cache", "input", "f16", {N, KV * D}),
                     buffer("v_cache", "input", "f16", {N, KV * D}), buffer("n_past", "scalar", "i64", {}),
                     buffer("out", "output", "f32", {T, H * D})};
      break;
    }
  }

  if (!gpu) return plan;

  // GPU launch geometry.
  const int64_t warp = target.warpSize();
  switch (spec.kind) {
    case OpKind::RmsNorm:
    case OpKind::Softmax:
    case OpKind::ArgMax: {
      // One workgroup per row; its threads stride over the row and reduce through shuffles and
      // one f32 (argmax: and one i32) per warp in workgroup memory.
      plan.gridX = T;
      plan.blockX = rowThreads(target, W / v);
      const int64_t warps = plan.blockX / warp;
      const int64_t reductions = spec.kind == OpKind::RmsNorm ? 1 : 2;  // softmax: max and sum; argmax: value and index
      plan.sharedBytes = warps > 1 ? 4 * warps * reductions : 0;
      break;
    }
    case OpKind::Add:
    case OpKind::Mul:
    case OpKind::SwiGlu:
      plan.blockX = kElementwiseThreads;
      plan.gridX = ceilDiv(T * W / v, plan.blockX);
      break;
    case OpKind::Rope: {
      // One thread per rotated pair or copied value of every head.
      const int64_t items = plan.spec.ropeDims / 2 + (plan.spec.headDim - plan.spec.ropeDims);
      plan.blockX = kElementwiseThreads;
      plan.gridX = ceilDiv(T * plan.spec.heads * items, plan.blockX);
      break;
    }
    case OpKind::KvStore:
      plan.blockX = kElementwiseThreads;
      // f16: one thread per vector of values; quantized: one thread per value, 32 consecutive
      // lanes per block (a block is quantized with shuffles within 32 lanes of one warp).
      plan.gridX = ceilDiv(spec.cache == KvCacheType::F16 ? T * W / v : T * W, plan.blockX);
      break;
    case OpKind::Attention: {
      // One workgroup per query row and head; its warps split the positions, each lane holds
      // head_dim / warp size values of q and of the running output, and the warps' partial
      // softmax states (maximum, sum, output) are merged through workgroup memory.
      plan.warps = kAttentionWarps;
      plan.blockX = plan.warps * warp;
      plan.gridX = T * spec.heads;
      plan.laneValues = spec.headDim / warp;
      plan.sharedBytes = 4 * plan.warps * (2 + spec.headDim);
      break;
    }
    case OpKind::Embed: {
      auto decoder = makeQuantDecoder(spec.quant, plan.laneBytes, W, nullptr);
      const int64_t slices = W / decoder->blockValues() * decoder->slicesPerBlock();
      plan.gridX = T;
      plan.blockX = std::clamp<int64_t>(powerOfTwoAtMost(slices), warp, kElementwiseThreads);
      break;
    }
  }
  if (plan.gridX > kMaxGrid) return fail(op + ": " + str(plan.gridX) + " workgroups exceed the grid limit");
  const int64_t limit = static_cast<int64_t>(target.chip().max_shared_mem_per_block_bytes);
  if (limit > 0 && plan.sharedBytes > limit)
    return fail(op + ": needs " + str(plan.sharedBytes) + " bytes of workgroup memory; " + target.chipName() + " has " +
                str(limit));
  return plan;
}

}  // namespace llmc::compiler
