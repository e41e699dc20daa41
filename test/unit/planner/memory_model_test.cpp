// Memory formulas against values computed by hand, including llama.cpp's 256-cell KV padding,
// quantized KV block sizes and the sliding-window cache.
#include <gtest/gtest.h>

#include "llmc/planner/cost_model.h"
#include "llmc/targets/device_catalog.h"
#include "planner_test_util.h"

namespace llmc::planner {
namespace {

constexpr uint64_t MiB = 1ull << 20;

RunSettings settings(Engine e, uint32_t ctx, GgmlType kv, bool fa = true) {
  RunSettings r;
  r.engine = e;
  r.ctx = ctx;
  r.kv_k = r.kv_v = kv;
  r.flash_attn = fa;
  return r;
}

TEST(MemoryModel, Llama3KvCacheByHand) {
  auto m = test::preset_model("llama-3-8b", FileType::Q4_K_M);
  const ModelCosts costs(*m->model);
  // 32 layers x 8 KV heads x 128 = 1024 elements per K (and V) row per layer and cell.
  // llama.cpp pads 4000 cells to 4096.
  EXPECT_EQ(MemoryModel(costs, settings(Engine::LlamaCpp, 4000, GgmlType::F16)).kv_bytes(0, 32), 4096ull * 32 * 2 * 1024 * 2);
  EXPECT_EQ(MemoryModel(costs, settings(Engine::LlamaCpp, 4000, GgmlType::Q8_0)).kv_bytes(0, 32), 4096ull * 32 * 2 * 32 * 34);
  EXPECT_EQ(MemoryModel(costs, settings(Engine::LlamaCpp, 4000, GgmlType::Q4_0)).kv_bytes(0, 32), 4096ull * 32 * 2 * 32 * 18);
  // llmc keeps exactly the cells asked for (in steps of 32).
  EXPECT_EQ(MemoryModel(costs, settings(Engine::Llmc, 4000, GgmlType::F16)).kv_bytes(0, 32), 4000ull * 32 * 2 * 1024 * 2);
  // A range of layers holds its share.
  EXPECT_EQ(MemoryModel(costs, settings(Engine::LlamaCpp, 4096, GgmlType::F16)).kv_bytes(10, 20), 4096ull * 10 * 2 * 1024 * 2);
  // Parallel sequences multiply the cells.
  RunSettings par = settings(Engine::LlamaCpp, 2000, GgmlType::F16);
  par.parallel = 3;
  EXPECT_EQ(MemoryModel(costs, par).kv_cells(false), 6144u);
}

TEST(MemoryModel, SlidingWindowCacheOfGemma3) {
  auto m = test::preset_model("gemma3-12b", FileType::Q4_K_M);
  const ModelCosts costs(*m->model);
  const MemoryModel mem(costs, settings(Engine::LlamaCpp, 8192, GgmlType::F16));
  // Window 1024 plus one 512-token micro-batch, padded to 256.
  EXPECT_EQ(mem.kv_cells(true), 1536u);
  EXPECT_EQ(mem.kv_cells(false), 8192u);
  // 8 of 48 layers are global; one cell of one layer is 8 heads x 256 x 2 bytes, for K and V.
  EXPECT_EQ(mem.kv_bytes(0, 48), 8ull * 8192 * 8192 + 40ull * 1536 * 8192);
}

TEST(MemoryModel, ComputeBuffersByHand) {
  auto m = test::preset_model("llama-3-8b", FileType::Q4_K_M);
  const ModelCosts costs(*m->model);
  const auto& p104 = *targets::DeviceCatalog::builtin().find_device("p104-100");
  // Flash attention on: the device holding the output needs logits for a whole micro-batch,
  // 4 * 512 * (128256 + 4096) bytes = 258.5 MiB, which is what llama.cpp reports for this model.
  const MemoryModel fa(costs, settings(Engine::LlamaCpp, 4096, GgmlType::F16, true));
  EXPECT_EQ(fa.compute_bytes(p104, 32, true), 4ull * 512 * (128256 + 4096));
  EXPECT_EQ(fa.compute_bytes(p104, 32, true), 517 * MiB / 2);
  // Without the output: the largest per-layer working set.
  EXPECT_EQ(fa.compute_bytes(p104, 32, false), 4ull * 512 * (3 * 4096 + 4096 + 2 * 1024 + 3 * 14336));
  // Without flash attention the f32 score matrix (heads x cells x micro-batch) is materialized.
  const MemoryModel nofa(costs, settings(Engine::LlamaCpp, 4096, GgmlType::F16, false));
  EXPECT_EQ(nofa.compute_bytes(p104, 32, false),
            4ull * 512 * (3 * 4096 + 4096 + 2 * 1024 + 3 * 14336) + 4ull * 512 * 32 * 4096);
  // llmc's runtime computes logits for one token and prefills in 128-token chunks.
  const MemoryModel llmc(costs, settings(Engine::Llmc, 4096, GgmlType::F16));
  EXPECT_EQ(llmc.compute_bytes(p104, 32, true), 4ull * 128 * (3 * 4096 + 4096 + 2 * 1024 + 3 * 14336));
  // Overheads: driver context and libraries plus a margin of 1% (at least 64 MiB).
  EXPECT_EQ(fa.overhead_bytes(p104), 300 * MiB + p104.vram_bytes / 100);
  EXPECT_EQ(llmc.overhead_bytes(p104), 150 * MiB + p104.vram_bytes / 100);
}

TEST(MemoryModel, WeightsAreExactTensorBytes) {
  auto m = test::preset_model("qwen3-14b", FileType::Q4_K_M);
  const ModelCosts costs(*m->model);
  uint64_t layers = 0;
  for (const auto& l : m->model->layers()) layers += l.bytes;
  EXPECT_EQ(costs.weight_bytes(0, 40), layers);
  const GgufTensorInfo* out = m->file->find_tensor("output.weight");
  const GgufTensorInfo* norm = m->file->find_tensor("output_norm.weight");
  EXPECT_EQ(costs.output_bytes(), out->n_bytes + norm->n_bytes);
  // Tied embeddings: llama.cpp loads a second copy of the embedding matrix as the output.
  auto tied = test::preset_model("qwen3-4b", FileType::Q4_K_M);
  EXPECT_EQ(ModelCosts(*tied->model).output_bytes(),
            tied->file->find_tensor("token_embd.weight")->n_bytes + tied->file->find_tensor("output_norm.weight")->n_bytes);
}

TEST(MemoryModel, MixtureOfExpertsReadsOnlyActiveExperts) {
  auto m = test::preset_model("gpt-oss-20b", FileType::MXFP4_MOE);
  const ModelCosts costs(*m->model);
  const auto& layer = m->model->layers()[0];
  // 4 of 32 experts per token.
  const double expected = static_cast<double>(layer.bytes - layer.expert_bytes) + layer.expert_bytes * 4.0 / 32.0;
  EXPECT_NEAR(static_cast<double>(costs.read_bytes(0, 1)), expected, 8.0);
  EXPECT_LT(costs.read_bytes(0, 24), costs.weight_bytes(0, 24) / 4);
}

}  // namespace
}  // namespace llmc::planner
