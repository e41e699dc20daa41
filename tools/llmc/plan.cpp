// `llmc plan MODEL.gguf --devices ...`: placement, context and KV type from the GGUF header and the
// device profiles; and `llmc devices`: the known profiles.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_io.h"
#include "commands.h"
#include "llmc/gguf.h"
#include "llmc/model.h"
#include "llmc/planner/placement_search.h"
#include "llmc/planner/plan_format.h"
#include "llmc/targets/device_catalog.h"
#include "llmc/targets/device_spec.h"

namespace llmc::cli {
namespace {

struct PlanOptions {
  std::string model;
  std::string devices;
  std::string engine = "llama.cpp";
  std::string split;
  std::string ctx;
  std::string kv;
  std::string fa;
  std::string layers;
  uint32_t parallel = 1;
  uint32_t ubatch = 512;
  uint32_t depth = 0;
  std::string objective = "decode";
  bool json = false;
  std::string output;
  std::string emit;
};

[[noreturn]] void usage(const std::string& msg) { throw CLI::ValidationError(msg); }

planner::PlanRequest to_request(const PlanOptions& o) {
  planner::PlanRequest r;
  if (o.engine == "llama.cpp" || o.engine == "llamacpp") r.engine = planner::Engine::LlamaCpp;
  else if (o.engine == "llmc") r.engine = planner::Engine::Llmc;
  else usage(fmt::format("--engine: '{}' is not an engine; expected llama.cpp or llmc", o.engine));
  if (!o.split.empty()) {
    r.split = planner::parse_split_mode(o.split);
    if (!r.split) usage(fmt::format("--split: '{}'; expected none, layer, row or hybrid", o.split));
    if (r.engine == planner::Engine::LlamaCpp && (*r.split == planner::SplitMode::Row || *r.split == planner::SplitMode::Hybrid))
      usage(fmt::format("--split {} needs --engine llmc: llama.cpp's CUDA backend has no row split", o.split));
  }
  if (o.ctx == "max") {
    r.ctx_max = true;
  } else if (!o.ctx.empty()) {
    uint64_t v = 0;
    try {
      size_t pos = 0;
      v = std::stoull(o.ctx, &pos);
      if (pos != o.ctx.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      usage(fmt::format("--ctx: '{}'; expected a number of tokens or 'max'", o.ctx));
    }
    if (v < 16 || v > (1u << 24)) usage(fmt::format("--ctx {} is out of range (16 .. 16777216)", v));
    r.ctx = static_cast<uint32_t>(v);
  }
  if (!o.kv.empty()) {
    auto t = ggml_type_from_name(o.kv);
    if (!t || (*t != GgmlType::F16 && *t != GgmlType::Q8_0 && *t != GgmlType::Q4_0))
      usage(fmt::format("--kv: '{}'; expected f16, q8_0 or q4_0", o.kv));
    r.kv_type = t;
  }
  if (!o.fa.empty()) {
    if (o.fa == "on" || o.fa == "1") r.flash_attn = true;
    else if (o.fa == "off" || o.fa == "0") r.flash_attn = false;
    else usage(fmt::format("--fa: '{}'; expected on or off", o.fa));
    if (r.kv_type && *r.kv_type != GgmlType::F16 && !*r.flash_attn && r.engine == planner::Engine::LlamaCpp)
      usage("--kv q8_0/q4_0 needs --fa on with llama.cpp (a quantized V cache requires flash attention)");
  }
  if (!o.layers.empty()) {
    std::vector<uint32_t> counts;
    std::stringstream ss(o.layers);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        size_t pos = 0;
        const unsigned long v = std::stoul(item, &pos);
        if (pos != item.size() || v > 100000) throw std::invalid_argument("bad");
        counts.push_back(static_cast<uint32_t>(v));
      } catch (const std::exception&) {
        usage(fmt::format("--layers: '{}' in '{}' is not a layer count", item, o.layers));
      }
    }
    r.layers = counts;
    if (!r.split) r.split = planner::SplitMode::Layer;
  }
  auto obj = planner::parse_objective(o.objective);
  if (!obj) usage(fmt::format("--objective: '{}'; expected decode, prefill or ctx", o.objective));
  r.objective = *obj;
  r.parallel = o.parallel;
  r.ubatch = o.ubatch;
  r.depth = o.depth;
  return r;
}

int run_plan(const PlanOptions& o) {
  const planner::PlanRequest req = to_request(o);
  if (!o.emit.empty() && o.emit != "llama.cpp" && o.emit != "ollama")
    usage(fmt::format("--emit: '{}'; expected llama.cpp or ollama", o.emit));
  targets::RigSpec rig;
  try {
    rig = targets::parse_device_spec(o.devices);
  } catch (const targets::DeviceSpecError& e) {
    usage(fmt::format("--devices: {}", e.what()));
  }
  if (req.layers) {
    size_t gpus = 0;
    for (const auto& d : rig.devices) gpus += !d.profile.is_cpu();
    if (req.layers->size() != gpus)
      usage(fmt::format("--layers gives {} counts but --devices has {} GPUs", req.layers->size(), gpus));
  }
  const GgufFile file = GgufFile::open(o.model);
  const ModelDesc model = ModelDesc::from_gguf(file);
  if (req.layers) {
    uint32_t total = 0;
    for (uint32_t n : *req.layers) total += n;
    const bool cpu = std::any_of(rig.devices.begin(), rig.devices.end(), [](auto& d) { return d.profile.is_cpu(); });
    if (total > model.hparams().n_layer || (!cpu && total != model.hparams().n_layer))
      usage(fmt::format("--layers adds up to {} but the model has {} layers{}", total, model.hparams().n_layer,
                        cpu ? "" : " (add cpu to --devices to keep the rest on the CPU)"));
  }
  planner::PlacementSearch search(model, rig, req);
  const planner::Plan plan = search.run();
  const nlohmann::json j = planner::plan_to_json(plan);
  if (!o.output.empty()) write_atomically(o.output, j.dump(2) + "\n");
  if (o.emit == "llama.cpp") {
    if (plan.fits) fmt::print("{}\n", planner::llama_cpp_command(plan));
  } else if (o.emit == "ollama") {
    if (plan.fits) fmt::print("{}", planner::ollama_settings(plan));
  } else if (o.json) {
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", planner::plan_to_table(plan));
  }
  if (!plan.fits) {
    if (!o.emit.empty() || o.json) {
      std::string s;
      for (const auto& x : plan.suggestions) s += "; " + x;
      fmt::print(stderr, "llmc: {}: does not fit on {}{}\n", o.model, o.devices, s);
    }
    return kExitNoFit;
  }
  return kExitOk;
}

int run_devices(bool json) {
  const auto& cat = targets::DeviceCatalog::builtin();
  if (json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& d : cat.devices())
      a.push_back({{"name", d.name}, {"display_name", d.display_name}, {"vendor", targets::vendor_name(d.vendor)},
                   {"arch", d.arch}, {"vram_bytes", d.vram_bytes}, {"mem_bandwidth_gbps", d.mem_bandwidth_gbps},
                   {"fp32_tflops", d.fp32_tflops}, {"fp16_tflops", d.fp16_tflops}, {"int8_dot_tops", d.int8_dot_tops},
                   {"matrix_units", d.matrix_units}, {"pcie", {{"gen", d.pcie.gen}, {"width", d.pcie.width}}}});
    fmt::print("{}\n", a.dump(2));
    return kExitOk;
  }
  fmt::print("{:<18} {:<8} {:>9} {:>9} {:>8} {:>8} {:>9} {:<10} {}\n", "profile", "arch", "memory", "GB/s", "fp32 TF",
             "int8 TOPS", "link", "matrix", "name");
  for (const auto& d : cat.devices())
    fmt::print("{:<18} {:<8} {:>9} {:>9.0f} {:>8.1f} {:>8.1f} {:>9} {:<10} {}\n", d.name, d.arch,
               fmt::format("{:.0f} GiB", static_cast<double>(d.vram_bytes) / (1ull << 30)), d.mem_bandwidth_gbps,
               d.fp32_tflops, d.int8_dot_tops, d.is_cpu() ? "-" : targets::pcie_link_name(d.pcie.gen, d.pcie.width),
               d.matrix_units, d.display_name);
  fmt::print("\nlinks: pcie<gen>x<width> (gen 1-5, x1/x2/x4/x8/x16), nvlink<version>[x<links>]; custom devices: "
             "ARCH:VRAM:BANDWIDTH (sm_61:8GiB:320GBps), cpu[:RAM[:BANDWIDTH]]\n");
  return kExitOk;
}

}  // namespace

void register_plan(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<PlanOptions>();
  CLI::App* sub = app.add_subcommand("plan", "Choose placement, context and KV type for a model on a set of devices");
  sub->add_option("model", o->model, "GGUF file (a header-only skeleton is enough)")->required();
  sub->add_option("-d,--devices", o->devices, "Devices: p104-100@pcie1x4,mi50*3@pcie3x16,sm_61:8GiB:320GBps,cpu:64GiB:40GBps or rig.json")
      ->required();
  sub->add_option("--engine", o->engine, "Whose memory and speed to model: llama.cpp or llmc")->capture_default_str();
  sub->add_option("--split", o->split, "Pin the split mode: none, layer, row, hybrid (row/hybrid need --engine llmc)");
  sub->add_option("--ctx", o->ctx, "Pin the context (tokens per sequence) or 'max'");
  sub->add_option("--kv", o->kv, "Pin the KV cache type: f16, q8_0, q4_0");
  sub->add_option("--fa", o->fa, "Pin flash attention: on or off");
  sub->add_option("--layers", o->layers, "Pin layers per GPU, in --devices order (a,b,...)");
  sub->add_option("--parallel", o->parallel, "Concurrent sequences (llama-server -np)")->check(CLI::Range(1u, 256u))->capture_default_str();
  sub->add_option("--ubatch", o->ubatch, "llama.cpp micro-batch (-ub)")->check(CLI::Range(1u, 65536u))->capture_default_str();
  sub->add_option("--depth", o->depth, "Context depth at which decode speed is predicted")->capture_default_str();
  sub->add_option("--objective", o->objective, "decode (fastest decode at ctx >= the request), prefill, or ctx")
      ->capture_default_str();
  sub->add_flag("--json", o->json, "Print the plan as JSON (schema llmc.plan/1)");
  sub->add_option("-o,--output", o->output, "Also write the JSON plan to this file");
  sub->add_option("--emit", o->emit, "Print only the equivalent settings: llama.cpp or ollama");
  sub->callback([o, &exit_code] { exit_code = run_plan(*o); });

  auto json = std::make_shared<bool>(false);
  CLI::App* dev = app.add_subcommand("devices", "List the known device profiles");
  dev->add_flag("--json", *json, "Print JSON");
  dev->callback([json, &exit_code] { exit_code = run_devices(*json); });
}

}  // namespace llmc::cli
