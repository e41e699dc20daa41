#include "llmc/planner/plan_format.h"

#include <map>
#include <sstream>

#include <fmt/format.h>

namespace llmc::planner {
namespace {

using targets::DeviceInstance;

std::string gib(uint64_t b) { return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1ull << 30)); }

std::string bytes_short(uint64_t b) {
  const double x = static_cast<double>(b);
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", x / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.0f} MiB", x / (1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.1f} KiB", x / (1ull << 10));
  return fmt::format("{} B", b);
}

std::string kv_name(GgmlType t) { return std::string(ggml_type_name(t)); }

// llama.cpp names devices per backend in enumeration order: CUDA0, CUDA1, ROCm0, ...
std::string llama_device_name(const Plan& p, size_t device) {
  const auto& d = p.rig.devices[device];
  size_t n = 0;
  for (size_t i = 0; i < device; ++i) n += p.rig.devices[i].profile.vendor == d.profile.vendor;
  return fmt::format("{}{}", d.profile.vendor == targets::Vendor::Amd ? "ROCm" : "CUDA", n);
}

struct GpuUse {
  size_t device;
  uint32_t layers;
  bool output;
};

std::vector<GpuUse> used_gpus(const Plan& p) {
  std::vector<GpuUse> out;
  for (const auto& pl : p.placement) {
    if (p.rig.devices[pl.device].profile.is_cpu()) continue;
    const uint32_t n = pl.layers ? pl.layers->second - pl.layers->first + 1 : 0;
    if (n > 0 || pl.holds_output) out.push_back({pl.device, n, pl.holds_output});
  }
  return out;
}

std::string layers_text(const DevicePlacement& pl) {
  std::string s = pl.layers ? fmt::format("{}-{}", pl.layers->first, pl.layers->second) : "-";
  if (pl.row_fraction) s = fmt::format("{} x{:.2f}", s, *pl.row_fraction);
  if (pl.holds_output) s += " +out";
  if (pl.holds_embeddings) s += " +emb";
  return s;
}

}  // namespace

std::vector<std::string> llama_cpp_args(const Plan& p) {
  std::vector<std::string> a = {"-m", p.model_path};
  const auto gpus = used_gpus(p);
  uint32_t gpu_layers = 0;
  bool output_on_gpu = false;
  for (const auto& g : gpus) {
    gpu_layers += g.layers;
    output_on_gpu |= g.output;
  }
  // Name the devices whenever the order or the set differs from what llama.cpp would take.
  size_t n_gpus = 0;
  for (const auto& d : p.rig.devices) n_gpus += !d.profile.is_cpu();
  bool natural = gpus.size() == n_gpus;
  for (size_t i = 1; i < gpus.size(); ++i) natural &= gpus[i].device > gpus[i - 1].device;
  if (!gpus.empty() && !natural) {
    std::string dev;
    for (const auto& g : gpus) dev += (dev.empty() ? "" : ",") + llama_device_name(p, g.device);
    a.insert(a.end(), {"--device", dev});
  }
  if (gpus.empty()) {
    a.insert(a.end(), {"-ngl", "0"});
  } else {
    a.insert(a.end(), {"-ngl", std::to_string(gpu_layers + (output_on_gpu ? 1 : 0))});
    if (gpus.size() == 1) {
      a.insert(a.end(), {"-sm", "none"});
    } else {
      a.insert(a.end(), {"-sm", "layer"});
      // llama.cpp splits ngl layers (the output counts as one) in proportion to -ts.
      std::string ts;
      for (const auto& g : gpus) ts += fmt::format("{}{}", ts.empty() ? "" : ",", g.layers + (g.output ? 1 : 0));
      a.insert(a.end(), {"-ts", ts});
    }
  }
  a.insert(a.end(), {"-c", std::to_string(uint64_t{p.ctx} * p.parallel)});
  if (p.parallel > 1) a.insert(a.end(), {"-np", std::to_string(p.parallel)});
  if (p.kv_k != GgmlType::F16 || p.kv_v != GgmlType::F16) a.insert(a.end(), {"-ctk", kv_name(p.kv_k), "-ctv", kv_name(p.kv_v)});
  a.insert(a.end(), {"-fa", p.flash_attn ? "on" : "off", "-ub", std::to_string(p.ubatch)});
  return a;
}

std::string llama_cpp_command(const Plan& p) {
  std::string s = "llama-server";
  for (const auto& w : llama_cpp_args(p)) {
    const bool quote = w.find_first_of(" '\"$*?;&|()<>") != std::string::npos;
    s += quote ? fmt::format(" '{}'", w) : fmt::format(" {}", w);
  }
  return s;
}

std::string ollama_settings(const Plan& p) {
  const auto gpus = used_gpus(p);
  uint32_t gpu_layers = 0;
  bool out = false;
  std::string nv, amd;
  for (const auto& g : gpus) {
    gpu_layers += g.layers;
    out |= g.output;
    const auto& d = p.rig.devices[g.device];
    size_t n = 0;
    for (size_t i = 0; i < g.device; ++i) n += p.rig.devices[i].profile.vendor == d.profile.vendor;
    std::string& list = d.profile.vendor == targets::Vendor::Amd ? amd : nv;
    list += fmt::format("{}{}", list.empty() ? "" : ",", n);
  }
  std::ostringstream o;
  if (!nv.empty()) o << "CUDA_VISIBLE_DEVICES=" << nv << "\n";
  if (!amd.empty()) o << "ROCR_VISIBLE_DEVICES=" << amd << "\n";
  o << "OLLAMA_FLASH_ATTENTION=" << (p.flash_attn ? 1 : 0) << "\n";
  o << "OLLAMA_KV_CACHE_TYPE=" << kv_name(p.kv_k) << "\n";
  if (p.parallel > 1) o << "OLLAMA_NUM_PARALLEL=" << p.parallel << "\n";
  if (gpus.size() > 1) o << "OLLAMA_SCHED_SPREAD=1\n";
  o << "num_gpu " << gpu_layers + (out ? 1 : 0) << "\n";
  o << "num_ctx " << p.ctx << "\n";
  if (gpus.size() > 1)
    o << "# Ollama picks the per-GPU layer split itself; the plan's split is "
      << [&] {
           std::string s;
           for (const auto& g : gpus) s += fmt::format("{}{}", s.empty() ? "" : ",", g.layers + (g.output ? 1 : 0));
           return s;
         }()
      << " (llama.cpp -ts)\n";
  return o.str();
}

nlohmann::json plan_to_json(const Plan& p) {
  using nlohmann::json;
  json j;
  j["schema"] = "llmc.plan/1";
  j["model"] = {{"path", p.model_path}, {"name", p.model_name}, {"arch", p.arch}, {"n_layer", p.n_layer},
                {"n_params", p.n_params}, {"data_bytes", p.data_bytes}};
  j["engine"] = engine_name(p.engine);
  j["split"] = split_mode_name(p.split);
  j["ctx"] = p.ctx;
  j["parallel"] = p.parallel;
  j["ubatch"] = p.ubatch;
  j["kv_type"] = {{"k", kv_name(p.kv_k)}, {"v", kv_name(p.kv_v)}};
  j["flash_attn"] = p.flash_attn;
  json devices = json::array();
  for (const auto& d : p.rig.devices)
    devices.push_back({{"index", d.index},
                       {"profile", d.profile.name},
                       {"arch", d.profile.arch},
                       {"vram_bytes", d.profile.vram_bytes},
                       {"bandwidth_gbps", d.profile.mem_bandwidth_gbps},
                       {"custom", d.custom},
                       {"link", {{"name", d.host_link.name}, {"gen", d.host_link.gen}, {"width", d.host_link.width}}}});
  j["devices"] = devices;
  j["device_order"] = p.device_order;
  json placement = json::array();
  for (const auto& pl : p.placement) {
    json e = {{"device", pl.device}, {"holds_output", pl.holds_output}, {"holds_embeddings", pl.holds_embeddings}};
    e["layers"] = pl.layers ? json::array({pl.layers->first, pl.layers->second}) : json(nullptr);
    e["row_fraction"] = pl.row_fraction ? json(*pl.row_fraction) : json(nullptr);
    if (pl.tp_group >= 0) e["tp_group"] = pl.tp_group;
    placement.push_back(e);
  }
  j["placement"] = placement;
  json memory = json::array();
  for (const auto& m : p.memory)
    memory.push_back({{"device", m.device}, {"weights", m.weights}, {"kv", m.kv}, {"compute", m.compute},
                      {"overhead", m.overhead}, {"total", m.total()}, {"capacity", m.capacity}});
  j["memory"] = memory;
  j["fits"] = p.fits;
  j["predicted"] = {{"decode_tps", p.predicted.decode_tps},
                    {"decode_tps_at_ctx", p.predicted.decode_tps_at_ctx},
                    {"prefill_tps", p.predicted.prefill_tps},
                    {"link_bytes_per_token", p.predicted.link_bytes_per_token},
                    {"load_seconds", p.predicted.load_seconds},
                    {"decode_breakdown_seconds",
                     {{"weights", p.predicted.weights_seconds},
                      {"launches", p.predicted.launch_seconds},
                      {"links", p.predicted.link_seconds},
                      {"fixed", p.predicted.fixed_seconds}}}};
  json alts = json::array();
  for (const auto& a : p.alternatives)
    alts.push_back({{"split", split_mode_name(a.split)}, {"ctx", a.ctx}, {"kv_type", kv_name(a.kv_type)},
                    {"flash_attn", a.flash_attn}, {"fits", a.fits}, {"decode_tps", a.decode_tps}, {"reason", a.reason}});
  j["alternatives"] = alts;
  json front = json::array();
  for (const auto& f : p.front)
    front.push_back({{"kv_type", kv_name(f.kv_type)}, {"ctx", f.ctx}, {"decode_tps", f.decode_tps},
                     {"decode_tps_at_ctx", f.decode_tps_at_ctx}});
  j["ctx_front"] = front;
  json kernels = json::array();
  for (const auto& k : p.kernels) {
    json kernel = {{"device", k.device}, {"chip", k.chip}, {"op", k.op}, {"quant", k.quant}};
    if (!k.shape.empty()) kernel["shape"] = k.shape;
    kernel.update(json{{"rows_per_block", k.rows_per_block}, {"warps", k.warps}, {"vector_width", k.vector_width},
                   {"unroll", k.unroll}, {"source", k.source}});
    if (k.slices_per_lane > 0) kernel["slices_per_lane"] = k.slices_per_lane;
    if (k.group_warps > 0) kernel["group_warps"] = k.group_warps;
    if (k.prefetch > 0) kernel["prefetch"] = k.prefetch;
    if (k.row_steps > 1) kernel["row_steps"] = k.row_steps;
    if (k.min_blocks > 0) kernel["min_blocks"] = k.min_blocks;
    kernels.push_back(std::move(kernel));
  }
  j["kernels"] = kernels;
  j["llama_cpp_args"] = p.fits ? json(llama_cpp_args(p)) : json::array();
  j["suggestions"] = p.suggestions;
  if (!p.fits) j["needed"] = {{"weights", p.needed_weights}, {"kv", p.needed_kv}};
  j["planning_ms"] = p.planning_seconds * 1e3;
  return j;
}

std::string plan_to_table(const Plan& p) {
  std::ostringstream o;
  o << fmt::format("model    {} ({}, {} layers, {:.2f} B params, {})\n", p.model_name.empty() ? p.model_path : p.model_name,
                   p.arch, p.n_layer, p.n_params / 1e9, gib(p.data_bytes));
  o << fmt::format("plan     engine {}   split {}   ctx {}{}   kv {}/{}   flash-attn {}   ubatch {}\n", engine_name(p.engine),
                   split_mode_name(p.split), p.ctx, p.parallel > 1 ? fmt::format(" x{} seqs", p.parallel) : "",
                   kv_name(p.kv_k), kv_name(p.kv_v), p.flash_attn ? "on" : "off", p.ubatch);
  o << (p.fits ? "" : "status   DOES NOT FIT\n") << "\n";
  o << fmt::format("{:>2}  {:<16} {:<9} {:<14} {:>10} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9}\n", "#", "device", "link",
                   "layers", "weights", "kv", "compute", "overhead", "total", "capacity", "free");
  std::map<size_t, const DevicePlacement*> where;
  for (const auto& pl : p.placement) where[pl.device] = &pl;
  for (const auto& m : p.memory) {
    const DeviceInstance& d = p.rig.devices[m.device];
    const auto it = where.find(m.device);
    const std::string layers = it == where.end() ? "-" : layers_text(*it->second);
    const int64_t free = static_cast<int64_t>(m.capacity) - static_cast<int64_t>(m.total());
    o << fmt::format("{:>2}  {:<16} {:<9} {:<14} {:>10} {:>10} {:>9} {:>9} {:>10} {:>10} {:>9}\n", m.device, d.profile.name,
                     d.host_link.name, m.total() == 0 ? "unused" : layers, bytes_short(m.weights), bytes_short(m.kv),
                     bytes_short(m.compute), bytes_short(m.overhead), bytes_short(m.total()), bytes_short(m.capacity),
                     free < 0 ? "-" + bytes_short(static_cast<uint64_t>(-free)) : bytes_short(static_cast<uint64_t>(free)));
  }
  if (p.fits) {
    const auto& pr = p.predicted;
    const double ms = 1e3 / pr.decode_tps;
    o << fmt::format("\npredicted  decode {:.1f} t/s ({:.1f} t/s with ctx {} filled)   prefill {:.0f} t/s   load {:.0f} s\n",
                     pr.decode_tps, pr.decode_tps_at_ctx, p.ctx, pr.prefill_tps, pr.load_seconds);
    o << fmt::format("per token  {:.2f} ms = weights {:.2f} + launches {:.2f} + links {:.2f} + fixed {:.2f}; "
                     "link traffic {} per token\n",
                     ms, pr.weights_seconds * 1e3, pr.launch_seconds * 1e3, pr.link_seconds * 1e3, pr.fixed_seconds * 1e3,
                     bytes_short(pr.link_bytes_per_token));
  }
  if (!p.front.empty()) {
    o << "\ncontext vs decode t/s (empty / full context):\n";
    std::map<GgmlType, std::string> rows;
    for (const auto& f : p.front)
      rows[f.kv_type] += fmt::format("  {}: {:.1f}/{:.1f}", f.ctx, f.decode_tps, f.decode_tps_at_ctx);
    for (GgmlType t : {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0})
      if (rows.count(t)) o << fmt::format("  kv {:<5}{}\n", kv_name(t), rows[t]);
  }
  if (!p.alternatives.empty()) {
    o << "\nalternatives:\n";
    for (const auto& a : p.alternatives)
      o << fmt::format("  {:<7} kv {:<5} fa {:<3} ctx {:<7} {:>8}  {}\n", split_mode_name(a.split), kv_name(a.kv_type),
                       a.flash_attn ? "on" : "off", a.ctx, a.fits ? fmt::format("{:.1f} t/s", a.decode_tps) : "-", a.reason);
  }
  if (!p.kernels.empty()) {
    o << "\nkernels (qmatvec, per chip):";
    std::string last;
    for (const auto& k : p.kernels) {
      const std::string key = fmt::format("{}", k.device);
      if (key != last) o << fmt::format("\n  #{} {}:", k.device, k.chip);
      last = key;
      o << fmt::format(" {}{}[rows {} warps {} vec {}{}{}{}{}{}]", k.quant, k.shape.empty() ? "" : "@" + k.shape,
                       k.rows_per_block, k.warps, k.vector_width, k.unroll > 1 ? fmt::format(" unroll {}", k.unroll) : "",
                       k.group_warps > 0 ? fmt::format(" group {}", k.group_warps) : "",
                       k.prefetch > 0 ? " prefetch" : "",
                       k.row_steps > 1 ? fmt::format(" steps {}", k.row_steps) : "",
                       k.min_blocks > 0 ? fmt::format(" resident {}", k.min_blocks) : "");
    }
    o << "\n";
  }
  if (p.fits) o << "\nllama.cpp  " << llama_cpp_command(p) << "\n";
  if (!p.fits) {
    uint64_t capacity = 0;
    for (const auto& m : p.memory) capacity += m.capacity;
    o << fmt::format("\nthe model needs {} of weights and {} of KV cache at ctx {} (plus buffers); the devices have {}\n",
                     gib(p.needed_weights), gib(p.needed_kv), p.ctx, gib(capacity));
  }
  if (!p.suggestions.empty()) {
    o << "\nnothing fits; smallest changes that would:\n";
    for (const auto& s : p.suggestions) o << "  - " << s << "\n";
  }
  o << fmt::format("\nplanned in {:.1f} ms\n", p.planning_seconds * 1e3);
  return o.str();
}

}  // namespace llmc::planner
