#include <gtest/gtest.h>

#include <string>

#include "llmc/compiler/OpPlan.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {
namespace {

using mlir::llmc::KvCacheType;
using mlir::llmc::QuantType;
using mlir::llmc::RopeMode;

OpSpec rows(OpKind kind, int64_t tokens, int64_t width) {
  OpSpec spec;
  spec.kind = kind;
  spec.tokens = tokens;
  spec.width = width;
  return spec;
}

OpPlan plan(const char* chip, const OpSpec& spec) {
  auto target = makeTargetInfo(chip);
  std::string error;
  auto result = planOp(*target, spec, &error);
  EXPECT_TRUE(result) << error;
  return result.value_or(OpPlan{});
}

std::string failure(const char* chip, const OpSpec& spec) {
  auto target = makeTargetInfo(chip);
  std::string error;
  EXPECT_FALSE(planOp(*target, spec, &error));
  return error;
}

TEST(OpPlan, RowOpsRunOneWorkgroupPerRow) {
  OpSpec norm = rows(OpKind::RmsNorm, 2, 4096);
  OpPlan p = plan("sm_61", norm);
  EXPECT_EQ(p.kernelName, "llmc_rms_norm_t2x4096_e3727c5ac");  // eps 1e-5f
  EXPECT_EQ(p.gridX, 2);
  EXPECT_EQ(p.vectorWidth, 4);
  EXPECT_EQ(p.blockX, 256);         // four vectors of four per thread
  EXPECT_EQ(p.sharedBytes, 8 * 4);  // one partial sum per warp
  // gfx906's 64-lane waves: the same threads, half the warps.
  EXPECT_EQ(plan("gfx906", norm).sharedBytes, 4 * 4);
  // With q8: one more output, the int8 products' activations (codes, then 8 bytes per 32).
  norm.quantize = true;
  OpPlan fused = plan("sm_61", norm);
  EXPECT_EQ(fused.kernelName, "llmc_rms_norm_t2x4096_e3727c5ac_q8");
  ASSERT_EQ(fused.params.size(), 4u);
  EXPECT_EQ(fused.params[3].name, "q8");
  EXPECT_EQ(fused.params[3].role, "output");
  EXPECT_EQ(fused.params[3].dtype, "i8");
  EXPECT_EQ(fused.params[3].shape, (std::vector<int64_t>{2 * 4096 + 2 * 4096 / 32 * 8}));
  EXPECT_EQ(fused.blockX, 256);

  OpPlan vocab = plan("sm_90", rows(OpKind::Softmax, 1, 151936));
  EXPECT_EQ(vocab.blockX, 1024);
  EXPECT_EQ(vocab.sharedBytes, 2 * 32 * 4);  // the maximum's and the sum's partials

  // A short row still gets a whole warp, and needs no workgroup memory.
  OpPlan tiny = plan("gfx906", rows(OpKind::ArgMax, 4, 7));
  EXPECT_EQ(tiny.blockX, 64);
  EXPECT_EQ(tiny.vectorWidth, 1);
  EXPECT_EQ(tiny.sharedBytes, 0);
  ASSERT_EQ(tiny.params.size(), 2u);
  EXPECT_EQ(tiny.params[1].dtype, "i32");
  EXPECT_EQ(tiny.params[1].shape, (std::vector<int64_t>{4}));
}

TEST(OpPlan, VectorsNeverStraddleRows) {
  EXPECT_EQ(plan("x86-64", rows(OpKind::Add, 3, 1000)).vectorWidth, 8);
  EXPECT_EQ(plan("x86-64", rows(OpKind::Add, 3, 1001)).vectorWidth, 1);
  EXPECT_EQ(plan("x86-64", rows(OpKind::Add, 3, 1002)).vectorWidth, 2);
  EXPECT_EQ(plan("sm_61", rows(OpKind::Add, 3, 1000)).vectorWidth, 4);
  OpPlan add = plan("sm_61", rows(OpKind::SwiGlu, 1, 14336));
  EXPECT_EQ(add.blockX, 256);
  EXPECT_EQ(add.gridX, 14336 / 4 / 256);
}

TEST(OpPlan, NamesSpellEveryAttribute) {
  OpSpec bias = rows(OpKind::Add, 1, 1024);
  bias.broadcast = true;
  EXPECT_EQ(plan("sm_61", bias).kernelName, "llmc_add_t1x1024_row");
  EXPECT_EQ(plan("sm_61", bias).params[1].shape, (std::vector<int64_t>{1024}));
  OpSpec softmax = rows(OpKind::Softmax, 3, 1000);
  softmax.scale = 0.125f;
  EXPECT_EQ(plan("x86-64", softmax).kernelName, "llmc_softmax_t3x1000_s3e000000");
  EXPECT_EQ(floatBitsHex(1e-5f), "3727c5ac");

  OpSpec rope;
  rope.kind = OpKind::Rope;
  rope.tokens = 1;
  rope.ropeMode = RopeMode::Neox;
  rope.heads = 32;
  rope.headDim = 128;
  rope.ropeDims = 64;
  rope.freqBase = 1e6f;
  OpPlan r = plan("sm_61", rope);
  EXPECT_EQ(r.kernelName, "llmc_rope_neox_t1_h32x128_d64_f49742400");
  // One thread per rotated pair (32) and per copied value (64) of every head.
  EXPECT_EQ(r.gridX, (32 * (32 + 64) + 255) / 256);
  EXPECT_EQ(r.params[0].shape, (std::vector<int64_t>{1, 4096}));
}

TEST(OpPlan, CacheStoresAndGathers) {
  OpSpec store = rows(OpKind::KvStore, 1, 1024);
  store.cache = KvCacheType::Q8_0;
  store.contextLength = 4096;
  OpPlan p = plan("sm_61", store);
  EXPECT_EQ(p.kernelName, "llmc_kv_store_q8_0_t1x1024_n4096");
  EXPECT_EQ(p.cacheRowBytes, 1024 / 32 * 34);
  ASSERT_EQ(p.params.size(), 3u);
  EXPECT_EQ(p.params[1].dtype, "i8");
  EXPECT_TRUE(p.params[1].partial);
  EXPECT_EQ(p.params[2].role, "scalar");
  EXPECT_EQ(p.gridX, 1024 / 256);  // one thread per value

  OpSpec embed;
  embed.kind = OpKind::Embed;
  embed.tokens = 2;
  embed.quant = QuantType::Q6_K;
  embed.tableRows = 151936;
  embed.width = 1024;
  OpPlan e = plan("gfx906", embed);
  EXPECT_EQ(e.kernelName, "llmc_embed_q6_K_151936x1024_t2");
  EXPECT_EQ(e.rowBytes, 4 * 210);
  EXPECT_EQ(e.tableBytes, 151936LL * 4 * 210);
  EXPECT_EQ(e.gridX, 2);
}

TEST(OpPlan, AttentionRunsOneWorkgroupPerRowAndHead) {
  OpSpec spec;
  spec.kind = OpKind::Attention;
  spec.tokens = 2;
  spec.heads = 32;
  spec.kvHeads = 8;
  spec.headDim = 128;
  spec.contextLength = 4096;
  spec.scale = 0.125f;
  spec.causal = true;
  OpPlan p = plan("sm_61", spec);
  EXPECT_EQ(p.kernelName, "llmc_attention_f16_t2_h32x128_kv8_n4096_causal_s3e000000");
  EXPECT_EQ(p.gridX, 2 * 32);
  EXPECT_EQ(p.blockX, 4 * 32);
  EXPECT_EQ(p.laneValues, 4);
  // Each warp's maximum, sum and head of partial output.
  EXPECT_EQ(p.sharedBytes, 4 * 4 * (2 + 128));
  ASSERT_EQ(p.params.size(), 5u);
  EXPECT_EQ(p.params[1].shape, (std::vector<int64_t>{4096, 1024}));
  EXPECT_EQ(p.params[3].name, "n_past");
  EXPECT_EQ(plan("gfx906", spec).laneValues, 2);
  EXPECT_EQ(plan("x86-64", spec).vectorWidth, 8);

  spec.headDim = 96;
  EXPECT_EQ(failure("gfx906", spec), "attention: head_dim (96) must be a multiple of gfx906's warp size (64)");
  spec.headDim = 128;
  spec.cache = KvCacheType::Q8_0;
  EXPECT_EQ(failure("x86-64", spec), "attention: only an f16 KV cache has a kernel (not q8_0)");
  spec.cache = KvCacheType::F16;
  spec.kvHeads = 5;
  EXPECT_EQ(failure("sm_61", spec), "attention: n_heads (32) must be a multiple of n_kv_heads (5)");
}

TEST(OpPlan, ErrorsNameTheOpAndTheValue) {
  OpSpec norm = rows(OpKind::RmsNorm, 1, 4096);
  norm.eps = 0;
  EXPECT_EQ(failure("sm_61", norm), "rms_norm: eps (0.000000) must be a positive finite number");
  norm.eps = 1e-5f;
  norm.width = 1000;
  norm.quantize = true;
  EXPECT_EQ(failure("x86-64", norm), "rms_norm: q8 needs a row length (1000) that is a multiple of 32");
  OpSpec store = rows(OpKind::KvStore, 4, 100);
  store.cache = KvCacheType::Q4_0;
  store.contextLength = 8;
  EXPECT_EQ(failure("sm_61", store), "kv_store: the row length (100) must be a multiple of the q4_0 block size (32)");
  store.width = 64;
  store.contextLength = 2;
  EXPECT_EQ(failure("x86-64", store), "kv_store: the cache holds 2 positions, fewer than the 4 rows stored");
  OpSpec rope;
  rope.kind = OpKind::Rope;
  rope.heads = 2;
  rope.headDim = 64;
  rope.ropeDims = 65;
  EXPECT_EQ(failure("sm_61", rope), "rope: dims (65) must be even");
  OpSpec embed;
  embed.kind = OpKind::Embed;
  embed.quant = QuantType::Q4_K;
  embed.tableRows = 10;
  embed.width = 100;
  EXPECT_EQ(failure("sm_61", embed), "embed: cols (100) is not a multiple of the q4_K block size (256)");
  EXPECT_EQ(failure("sm_61", rows(OpKind::Add, 0, 10)), "the token count (0) must be positive");
}

TEST(OpPlan, KindsRoundTrip) {
  for (OpKind kind : allOpKinds()) EXPECT_EQ(parseOpKind(opKindName(kind)), kind);
  EXPECT_FALSE(parseOpKind("qmatvec"));
}

}  // namespace
}  // namespace llmc::compiler
