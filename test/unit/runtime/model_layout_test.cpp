// Skeletons written from hyperparameters must have the sizes of the real llama.cpp files.
#include <gtest/gtest.h>

#include "llmc/model_layout.h"

namespace llmc {
namespace {

HParams llama(uint32_t layers, uint32_t embd, uint32_t ff, uint32_t heads, uint32_t kv, uint32_t vocab) {
  HParams hp;
  hp.arch = "llama";
  hp.n_layer = layers;
  hp.n_embd = embd;
  hp.n_vocab = vocab;
  hp.n_head.assign(layers, heads);
  hp.n_head_kv.assign(layers, kv);
  hp.n_ff.assign(layers, ff);
  hp.head_dim_k = hp.head_dim_v = embd / heads;
  return hp;
}

uint64_t data_bytes(const HParams& hp, FileType ft) {
  uint64_t total = 0;
  for (const auto& t : tensor_layout(hp, ft)) {
    uint64_t n = 1;
    for (uint64_t d : t.ne) n *= d;
    const auto& tt = ggml_type_traits(t.type);
    total += n / tt.block_size * tt.type_size;
  }
  return total;
}

double gib(uint64_t b) { return static_cast<double>(b) / (1ull << 30); }

// Model sizes as llama-bench reports them for llama.cpp's own quantizations.
TEST(ModelLayout, MatchesPublishedLlamaSizes) {
  const HParams l2 = llama(32, 4096, 11008, 32, 32, 32000);
  const HParams l3 = llama(32, 4096, 14336, 32, 8, 128256);
  EXPECT_NEAR(gib(data_bytes(l2, FileType::Q4_0)), 3.56, 0.01);
  EXPECT_NEAR(gib(data_bytes(l2, FileType::Q8_0)), 6.67, 0.01);
  EXPECT_NEAR(gib(data_bytes(l2, FileType::Q4_K_M)), 3.80, 0.01);
  EXPECT_NEAR(gib(data_bytes(l3, FileType::Q4_0)), 4.33, 0.01);
  EXPECT_NEAR(gib(data_bytes(l3, FileType::Q8_0)), 7.95, 0.01);
  EXPECT_NEAR(gib(data_bytes(l3, FileType::Q4_K_M)), 4.58, 0.01);
}

TEST(ModelLayout, QuantRecipeRules) {
  const HParams l3 = llama(32, 4096, 14336, 32, 8, 128256);
  const auto layout = tensor_layout(l3, FileType::Q4_K_M);
  auto type_of = [&](const std::string& name) {
    for (const auto& t : layout)
      if (t.name == name) return t.type;
    ADD_FAILURE() << "no tensor " << name;
    return GgmlType::F32;
  };
  EXPECT_EQ(type_of("output.weight"), GgmlType::Q6_K);
  EXPECT_EQ(type_of("token_embd.weight"), GgmlType::Q4_K);
  EXPECT_EQ(type_of("blk.0.attn_v.weight"), GgmlType::Q6_K);   // first eighth
  EXPECT_EQ(type_of("blk.5.attn_v.weight"), GgmlType::Q4_K);
  EXPECT_EQ(type_of("blk.6.ffn_down.weight"), GgmlType::Q6_K); // (6 - 4) % 3 == 2
  EXPECT_EQ(type_of("blk.31.ffn_down.weight"), GgmlType::Q6_K);
  EXPECT_EQ(type_of("blk.0.attn_norm.weight"), GgmlType::F32);
  // Rows that are not a multiple of 256 fall back to 32-element blocks.
  HParams odd = llama(2, 896, 4864, 14, 2, 1000);
  odd.arch = "qwen2";
  for (const auto& t : tensor_layout(odd, FileType::Q4_K_M))
    if (t.ne.size() >= 2) {
      EXPECT_EQ(t.ne[0] % ggml_type_traits(t.type).block_size, 0u) << t.name;
    }
}

TEST(ModelLayout, FileTypeNames) {
  EXPECT_EQ(file_type_from_name("q4_k_m"), FileType::Q4_K_M);
  EXPECT_EQ(file_type_name(FileType::Q4_K_S), "Q4_K_S");
  EXPECT_EQ(file_type_name_from_id(15), "Q4_K_M");
  EXPECT_EQ(file_type_name_from_id(27), "IQ3_M");
  EXPECT_EQ(file_type_name_from_id(999), "");
  EXPECT_FALSE(file_type_from_name("Q4_K_X").has_value());
}

}  // namespace
}  // namespace llmc
