#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "llmc/planner/placement_search.h"
#include "llmc/planner/plan_format.h"
#include "planner_test_util.h"

namespace llmc::planner {
namespace {

Plan plan(const ModelDesc& m, const std::string& devices, PlanRequest req = {}) {
  return PlacementSearch(m, targets::parse_device_spec(devices), req).run();
}

void expect_consistent(const Plan& p, uint32_t n_layer) {
  ASSERT_TRUE(p.fits);
  uint32_t covered = 0, outputs = 0;
  for (const auto& pl : p.placement) {
    if (pl.layers && !pl.row_fraction) covered += pl.layers->second - pl.layers->first + 1;
    outputs += pl.holds_output;
  }
  if (p.split == SplitMode::Layer || p.split == SplitMode::None) {
    EXPECT_EQ(covered, n_layer);
  }
  EXPECT_GE(outputs, 1u);
  for (const auto& m : p.memory) EXPECT_LE(m.total(), m.capacity) << "device " << m.device;
  EXPECT_GT(p.predicted.decode_tps, 0);
  EXPECT_GT(p.predicted.prefill_tps, 0);
}

TEST(PlacementSearch, Qwen3On2P104SplitsByLayer) {
  auto m = test::preset_model("qwen3-14b", FileType::Q4_K_M);
  const Plan p = plan(*m->model, "p104-100@pcie1x4,p104-100@pcie1x1");
  expect_consistent(p, 40);
  EXPECT_EQ(p.split, SplitMode::Layer);
  EXPECT_EQ(p.ctx, 4096u);
  EXPECT_EQ(p.kv_k, GgmlType::F16);  // quantized KV only when it buys something
  // Equal cards: the split is balanced, and the x4 card (faster logits copies) holds the output.
  const auto& out = *std::find_if(p.placement.begin(), p.placement.end(), [](auto& pl) { return pl.holds_output; });
  EXPECT_EQ(p.rig.devices[out.device].host_link.name, "pcie1x4");
  for (const auto& pl : p.placement) EXPECT_NEAR(pl.layers->second - pl.layers->first + 1, 20.0, 3.0);
  // The emitted arguments say the same thing.
  const auto args = llama_cpp_args(p);
  const std::string cmd = llama_cpp_command(p);
  EXPECT_NE(cmd.find("-ngl 41"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("-sm layer"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--device CUDA1,CUDA0"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("-c 4096"), std::string::npos) << cmd;
  EXPECT_FALSE(p.kernels.empty());
  for (const auto& k : p.kernels) EXPECT_EQ(k.chip, "sm_61");
}

TEST(PlacementSearch, KernelTuningFollowsTheDeviceWhereMeasured) {
  // Same chip (sm_90), other memory: the H200 takes its own entries (chips.json by_device), per
  // matrix shape class where those differ (Q4_0: another for wide matrices); the H100 the chip's,
  // one entry per type.
  for (const FileType ft : {FileType::Q4_K_M, FileType::Q4_0}) {
    auto m = test::preset_model("qwen3-14b", ft);
    for (const std::string device : {"h100", "h200"}) {
      const Plan p = plan(*m->model, device);
      ASSERT_TRUE(p.fits);
      std::set<std::string> q4_0_shapes;
      std::map<std::string, int> q4_k_unroll;
      for (const auto& k : p.kernels) {
        SCOPED_TRACE(device + " " + k.quant + " " + k.shape);
        EXPECT_EQ(k.chip, "sm_90");
        if (device == "h100") {
          EXPECT_EQ(k.source, "chip default");
          EXPECT_EQ(k.shape, "");
          continue;
        }
        if (k.quant == "q4_K" || k.quant == "q6_K") {
          EXPECT_EQ(k.source, "h200 measured");
          // Wide Q6_K (1024 x 5120 K/V): four rows, two warps sharing them all.
          const bool grouped = k.quant == "q6_K" && k.shape == "wide";
          EXPECT_EQ(k.rows_per_block, grouped ? 4 : 2);
          EXPECT_EQ(k.group_warps, grouped ? 2 : 0);
          EXPECT_EQ(k.min_blocks, 0);
        }
        if (k.quant == "q4_K") q4_k_unroll[k.shape] = k.unroll;
        if (k.quant == "q4_0") {
          q4_0_shapes.insert(k.shape);
          // 5120 x 5120 attention and 17408 x 5120 gate/up (square, tall) share one entry;
          // 1024 x 5120 K/V and 5120 x 17408 down are wide.
          EXPECT_EQ(k.source, "h200 measured");
          EXPECT_EQ(k.rows_per_block, 2);
          EXPECT_EQ(k.warps, k.shape == "wide" ? 2 : 5);
        }
      }
      if (device == "h200" && ft == FileType::Q4_0) {
        // 5120 x 5120 attention and 17408 x 5120 gate/up take the type's entry (no shape).
        EXPECT_EQ(q4_0_shapes, (std::set<std::string>{"", "wide"}));
      }
      if (device == "h200" && ft == FileType::Q4_K_M) {
        // Q4_K: the type's entry (2,1,8,1) for the 1024 x 5120 K/V matrices, and entries measured
        // on this model's own shapes for the others (llmc tune --exact).
        EXPECT_EQ(q4_k_unroll,
                  (std::map<std::string, int>{{"", 1}, {"5120x5120", 2}, {"5120x17408", 4}, {"17408x5120", 2}}));
      }
    }
  }
  const std::string text = plan_to_table(plan(*test::preset_model("qwen3-14b", FileType::Q4_0)->model, "h200"));
  EXPECT_NE(text.find("q4_0@wide[rows 2 warps 2 vec 4 unroll 4 group 2]"), std::string::npos) << text;
}

TEST(PlacementSearch, KernelTuningForAnExactShapeWhereMeasured) {
  // llama-3.1-8b in Q4_0 on an H200: its 4096 x 14336 down projections have an entry of their own
  // (measured there), its 1024 x 4096 K/V the wide class's; 4096 x 4096 and 14336 x 4096 the type's.
  auto m = test::preset_model("llama-3.1-8b", FileType::Q4_0);
  const Plan p = plan(*m->model, "h200");
  ASSERT_TRUE(p.fits);
  // (warps, group_warps): the wide class's two warps share both rows of a workgroup.
  std::map<std::string, std::pair<int, int>> warps;
  for (const auto& k : p.kernels)
    if (k.quant == "q4_0") warps[k.shape] = {k.warps, k.group_warps};
  EXPECT_EQ(warps, (std::map<std::string, std::pair<int, int>>{{"", {5, 0}}, {"4096x14336", {7, 0}}, {"wide", {2, 2}}}));
  const std::string text = plan_to_table(p);
  EXPECT_NE(text.find("q4_0@4096x14336[rows 2 warps 7 vec 4 unroll 2]"), std::string::npos) << text;
  EXPECT_NE(text.find("q4_0@wide[rows 2 warps 2 vec 4 unroll 4 group 2]"), std::string::npos) << text;
  EXPECT_NE(plan_to_json(p).dump().find(R"("group_warps":2)"), std::string::npos);
}

TEST(PlacementSearch, RegisterCapWhereMeasured) {
  // llama-3.1-8b in Q6_K on an H200: its 14336 x 4096 gate and up projections take the entry
  // measured there (four rows, two warps sharing them, registers capped for 12 resident
  // workgroups); its 128256 x 4096 output and 4096 x 4096 attention the type's, uncapped.
  auto m = test::preset_model("llama-3.1-8b", FileType::Q6_K);
  const Plan p = plan(*m->model, "h200");
  ASSERT_TRUE(p.fits);
  std::map<std::string, int> min_blocks;
  for (const auto& k : p.kernels)
    if (k.quant == "q6_K") min_blocks[k.shape] = k.min_blocks;
  EXPECT_EQ(min_blocks.at("14336x4096"), 12);
  EXPECT_EQ(min_blocks.at(""), 0);
  const std::string text = plan_to_table(p);
  EXPECT_NE(text.find("q6_K@14336x4096[rows 4 warps 2 vec 4 unroll 4 group 2 resident 12]"), std::string::npos) << text;
  EXPECT_NE(plan_to_json(p).dump().find(R"("min_blocks":12)"), std::string::npos);
  // The H100 has no such entry.
  for (const auto& k : plan(*m->model, "h100").kernels) EXPECT_EQ(k.min_blocks, 0);
}

TEST(PlacementSearch, PrefetchRowStepsAndMinBlocksReachThePlanFormats) {
  // No chips.json entry sets prefetch or row steps; only the H200's for Q6_K at 14336 x 4096 caps
  // registers, which this model's Q4_0 file does not have (its Q6_K output matrix is
  // 128256 x 4096). A plan whose kernel has them writes them out.
  auto m = test::preset_model("llama-3.1-8b", FileType::Q4_0);
  Plan p = plan(*m->model, "h200");
  ASSERT_TRUE(p.fits);
  ASSERT_FALSE(p.kernels.empty());
  for (const auto& k : p.kernels) {
    SCOPED_TRACE(k.quant + " " + k.shape);
    EXPECT_EQ(k.prefetch, 0);
    EXPECT_EQ(k.row_steps, 1);
    EXPECT_EQ(k.min_blocks, 0);
  }
  EXPECT_EQ(plan_to_json(p).dump().find("row_steps"), std::string::npos);
  EXPECT_EQ(plan_to_json(p).dump().find("min_blocks"), std::string::npos);
  KernelConfig& k = p.kernels.front();
  k.prefetch = 1;
  k.row_steps = 4;
  k.min_blocks = 16;
  const std::string json = plan_to_json(p).dump();
  EXPECT_NE(json.find(R"("prefetch":1)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("row_steps":4)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("min_blocks":16)"), std::string::npos) << json;
  const std::string text = plan_to_table(p);
  EXPECT_NE(text.find(" prefetch steps 4 resident 16]"), std::string::npos) << text;
}

TEST(PlacementSearch, SeventyBOnOneP104DoesNotFitAndSaysWhatWould) {
  auto m = test::preset_model("llama-3.3-70b", FileType::Q4_K_S);
  const Plan p = plan(*m->model, "p104-100");
  EXPECT_FALSE(p.fits);
  ASSERT_FALSE(p.suggestions.empty());
  bool cpu = false, cards = false;
  for (const auto& s : p.suggestions) {
    cpu |= s.find("CPU offload") != std::string::npos;
    cards |= s.find("more p104-100") != std::string::npos;
  }
  EXPECT_TRUE(cpu);
  EXPECT_TRUE(cards);
}

TEST(PlacementSearch, CpuOffloadKeepsFirstLayersOnTheCpu) {
  auto m = test::preset_model("qwen3-14b", FileType::Q4_K_M);
  const Plan p = plan(*m->model, "p104-100,cpu:64GiB:40GBps");
  expect_consistent(p, 40);
  const auto& cpu = p.placement.front();
  ASSERT_TRUE(p.rig.devices[cpu.device].profile.is_cpu());
  ASSERT_TRUE(cpu.layers.has_value());
  EXPECT_EQ(cpu.layers->first, 0u);
  EXPECT_TRUE(cpu.holds_embeddings);
  const std::string cmd = llama_cpp_command(p);
  const uint32_t on_cpu = cpu.layers->second + 1;
  EXPECT_NE(cmd.find(fmt::format("-ngl {}", 40 - on_cpu + 1)), std::string::npos) << cmd;
}

TEST(PlacementSearch, PinsAreHonoured) {
  auto m = test::preset_model("qwen3-14b", FileType::Q4_K_M);
  PlanRequest r;
  r.kv_type = GgmlType::Q8_0;
  r.ctx = 8192;
  r.layers = std::vector<uint32_t>{10, 30};
  const Plan p = plan(*m->model, "p104-100,p104-100", r);
  expect_consistent(p, 40);
  EXPECT_EQ(p.kv_k, GgmlType::Q8_0);
  EXPECT_TRUE(p.flash_attn);  // a quantized V cache needs flash attention in llama.cpp
  EXPECT_EQ(p.ctx, 8192u);
  EXPECT_EQ(p.placement[0].layers->second - p.placement[0].layers->first + 1, 10u);
  EXPECT_EQ(p.placement[1].layers->second - p.placement[1].layers->first + 1, 30u);
  // Pinned counts that cannot fit give no plan.
  r.layers = std::vector<uint32_t>{0, 40};
  EXPECT_FALSE(plan(*m->model, "p104-100,p104-100", r).fits);
}

TEST(PlacementSearch, MaxContextIsTheLargestThatFits) {
  auto m = test::preset_model("qwen3-14b", FileType::Q4_K_M);
  PlanRequest r;
  r.ctx_max = true;
  r.kv_type = GgmlType::F16;
  const Plan p = plan(*m->model, "p104-100,p104-100", r);
  expect_consistent(p, 40);
  EXPECT_GT(p.ctx, 4096u);
  if (p.ctx < 40960) {
    PlanRequest more;
    more.kv_type = GgmlType::F16;
    more.ctx = p.ctx + 256;
    EXPECT_FALSE(plan(*m->model, "p104-100,p104-100", more).fits);
  }
  // q8_0 halves the cache, so at least as much context fits.
  r.kv_type = GgmlType::Q8_0;
  EXPECT_GE(plan(*m->model, "p104-100,p104-100", r).ctx, p.ctx);
}

TEST(PlacementSearch, RowAndHybridSplitsNeedTheLlmcEngine) {
  auto m = test::preset_model("llama-3.3-70b", FileType::Q4_K_S);
  PlanRequest r;
  r.engine = Engine::Llmc;
  r.split = SplitMode::Row;
  const Plan row = plan(*m->model, "mi50*3@pcie3x16", r);
  ASSERT_TRUE(row.fits);
  EXPECT_EQ(row.split, SplitMode::Row);
  for (const auto& pl : row.placement) EXPECT_NEAR(*pl.row_fraction, 1.0 / 3, 1e-9);
  r.split = SplitMode::Hybrid;
  const Plan hybrid = plan(*m->model, "mi50*4@pcie3x16", r);
  ASSERT_TRUE(hybrid.fits);
  EXPECT_EQ(hybrid.split, SplitMode::Hybrid);
  // With llama.cpp, row split is reported as unavailable rather than planned.
  const Plan lc = plan(*m->model, "mi50*3@pcie3x16");
  ASSERT_TRUE(lc.fits);
  EXPECT_EQ(lc.split, SplitMode::Layer);
  EXPECT_TRUE(std::any_of(lc.alternatives.begin(), lc.alternatives.end(),
                          [](auto& a) { return a.split == SplitMode::Row && !a.fits; }));
}

TEST(PlacementSearch, FasterCardsTakeMoreLayers) {
  auto m = test::preset_model("qwen3-32b", FileType::Q4_K_M);
  const Plan p = plan(*m->model, "p104-100,rtx-3090");
  expect_consistent(p, 64);
  uint32_t p104 = 0, r3090 = 0;
  for (const auto& pl : p.placement) {
    const uint32_t n = pl.layers ? pl.layers->second - pl.layers->first + 1 : 0;
    (p.rig.devices[pl.device].profile.name == "p104-100" ? p104 : r3090) += n;
  }
  EXPECT_GT(r3090, p104);
}

}  // namespace
}  // namespace llmc::planner

namespace llmc::planner {
namespace {

TEST(PlacementSearch, SplitNoneUsesOneGpu) {
  auto m = test::preset_model("llama-3.1-8b", FileType::Q4_K_M);
  PlanRequest r;
  r.split = SplitMode::None;
  const Plan p = plan(*m->model, "p104-100,rtx-3060-12g", r);
  ASSERT_TRUE(p.fits);
  EXPECT_EQ(p.split, SplitMode::None);
  size_t used = 0;
  for (const auto& pl : p.placement) used += pl.layers.has_value();
  EXPECT_EQ(used, 1u);
  EXPECT_NE(llama_cpp_command(p).find("-sm none"), std::string::npos);
}

}  // namespace
}  // namespace llmc::planner
