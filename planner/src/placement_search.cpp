#include "llmc/planner/placement_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "llmc/planner/pcie_flow.h"

namespace llmc::planner {

using targets::DeviceInstance;
using targets::DeviceProfile;

std::string_view engine_name(Engine e) { return e == Engine::LlamaCpp ? "llama.cpp" : "llmc"; }

std::string_view split_mode_name(SplitMode m) {
  switch (m) {
    case SplitMode::None: return "none";
    case SplitMode::Layer: return "layer";
    case SplitMode::Row: return "row";
    case SplitMode::Hybrid: return "hybrid";
  }
  return "?";
}

std::optional<SplitMode> parse_split_mode(std::string_view s) {
  for (SplitMode m : {SplitMode::None, SplitMode::Layer, SplitMode::Row, SplitMode::Hybrid})
    if (split_mode_name(m) == s) return m;
  return std::nullopt;
}

std::optional<Objective> parse_objective(std::string_view s) {
  if (s == "decode") return Objective::Decode;
  if (s == "prefill") return Objective::Prefill;
  if (s == "ctx") return Objective::Ctx;
  return std::nullopt;
}

namespace {

constexpr uint32_t kCtxStep = 256;

bool same_kind(const DeviceInstance& a, const DeviceInstance& b) {
  return a.profile.name == b.profile.name && a.profile.vram_bytes == b.profile.vram_bytes &&
         a.profile.mem_bandwidth_gbps == b.profile.mem_bandwidth_gbps && a.host_link.name == b.host_link.name;
}

int kv_quality(GgmlType t) { return t == GgmlType::F16 ? 2 : t == GgmlType::Q8_0 ? 1 : 0; }

// All-reduce of the hidden state inside a tensor-parallel group: every member sends its partial
// sum and receives the total, over NVLink when all have it, else staged through host memory.
double allreduce_seconds(const std::vector<const DeviceInstance*>& members, uint64_t bytes) {
  if (members.size() < 2) return 0;
  bool nvlink = true;
  for (auto* m : members) nvlink &= m->peer_link.has_value();
  double worst = 0;
  for (auto* m : members) {
    const double one = nvlink ? m->peer_link->transfer_seconds(bytes) : 2 * m->host_link.transfer_seconds(bytes);
    worst = std::max(worst, one);
  }
  return worst;
}

}  // namespace

PlacementSearch::PlacementSearch(const ModelDesc& model, targets::RigSpec rig, PlanRequest request)
    : model_(model), costs_(model), rig_(std::move(rig)), req_(std::move(request)) {}

std::vector<PlacementSearch::Candidate> PlacementSearch::candidates(const RunSettings& run) const {
  std::vector<Candidate> out;
  std::vector<size_t> gpus;
  std::optional<size_t> cpu;
  for (const auto& d : rig_.devices) {
    if (d.profile.is_cpu()) {
      if (!cpu) cpu = d.index;
    } else {
      gpus.push_back(d.index);
    }
  }
  // A layer split that ends up using one device is reported as "none", so pinning "layer" admits it.
  auto allowed = [&](SplitMode m) { return !req_.split || *req_.split == m; };

  // Pipeline orders: the rig's order, and each distinct kind of GPU moved last (it then holds the
  // output layer and the logits). The CPU, when present, comes first: llama.cpp keeps the first
  // layers on the CPU and offloads the last ones.
  std::vector<std::vector<size_t>> orders{gpus};
  for (size_t i = 0; i < gpus.size(); ++i) {
    bool seen = false;
    for (size_t j = i + 1; j < gpus.size(); ++j) seen |= same_kind(rig_.devices[gpus[i]], rig_.devices[gpus[j]]);
    if (seen || i + 1 == gpus.size()) continue;
    std::vector<size_t> o;
    for (size_t g : gpus)
      if (g != gpus[i]) o.push_back(g);
    o.push_back(gpus[i]);
    if (std::find(orders.begin(), orders.end(), o) == orders.end()) orders.push_back(o);
  }
  if (req_.layers) orders = {gpus};  // pinned layer counts follow the rig order

  if (allowed(SplitMode::Layer)) {
    for (const auto& o : orders) {
      Candidate c;
      c.split = SplitMode::Layer;
      c.run = run;
      if (cpu) c.stages.push_back({{*cpu}, {1.0}});
      for (size_t g : o) c.stages.push_back({{g}, {1.0}});
      out.push_back(std::move(c));
    }
  } else if (allowed(SplitMode::None)) {
    // One GPU of each kind on its own (the CPU may still keep the first layers).
    for (size_t i = 0; i < gpus.size(); ++i) {
      bool seen = false;
      for (size_t j = 0; j < i; ++j) seen |= same_kind(rig_.devices[gpus[i]], rig_.devices[gpus[j]]);
      if (seen) continue;
      Candidate c;
      c.split = SplitMode::None;
      c.run = run;
      if (cpu) c.stages.push_back({{*cpu}, {1.0}});
      c.stages.push_back({{gpus[i]}, {1.0}});
      out.push_back(std::move(c));
    }
  }
  if (allowed(SplitMode::Layer) || allowed(SplitMode::None)) {
    if (gpus.empty() && cpu) {
      Candidate c;
      c.split = SplitMode::None;
      c.run = run;
      c.stages.push_back({{*cpu}, {1.0}});
      out.push_back(std::move(c));
    }
  }
  // Tensor parallelism needs llmc's runtime: llama.cpp's CUDA backend no longer splits rows.
  if (run.engine == Engine::Llmc && gpus.size() >= 2) {
    if (allowed(SplitMode::Row)) {
      Candidate c;
      c.split = SplitMode::Row;
      c.run = run;
      Stage s;
      double total = 0;
      for (size_t g : gpus) total += rig_.devices[g].profile.mem_bandwidth_gbps;
      for (size_t g : gpus) {
        s.devices.push_back(g);
        s.fractions.push_back(rig_.devices[g].profile.mem_bandwidth_gbps / total);
      }
      c.stages.push_back(std::move(s));
      out.push_back(std::move(c));
    }
    if (allowed(SplitMode::Hybrid)) {
      // Runs of identical cards become tensor-parallel groups of 2 or 4; the rest stay single.
      for (size_t group : {size_t{2}, size_t{4}}) {
        Candidate c;
        c.split = SplitMode::Hybrid;
        c.run = run;
        bool any_group = false;
        for (size_t i = 0; i < gpus.size();) {
          size_t j = i;
          while (j < gpus.size() && j - i < group && same_kind(rig_.devices[gpus[i]], rig_.devices[gpus[j]])) ++j;
          if (j - i == group) {
            Stage s;
            for (size_t k = i; k < j; ++k) {
              s.devices.push_back(gpus[k]);
              s.fractions.push_back(1.0 / static_cast<double>(group));
            }
            c.stages.push_back(std::move(s));
            any_group = true;
            i = j;
          } else {
            c.stages.push_back({{gpus[i]}, {1.0}});
            ++i;
          }
        }
        if (any_group && c.stages.size() > 1) out.push_back(std::move(c));
      }
    }
  }
  return out;
}

PlacementSearch::Evaluated PlacementSearch::evaluate(const Candidate& c, bool feasibility_only) const {
  const MemoryModel mem(costs_, c.run);
  const TimeModel time(costs_, c.run);
  const uint32_t L = costs_.n_layer();
  const bool llama = c.run.engine == Engine::LlamaCpp;

  // Per stage and member: prefix sums over layers of decode time, and the memory terms that do not
  // depend on the range, so that the DAG's S * L^2 edges cost O(members) each.
  struct Member {
    double f = 1;
    uint64_t capacity = 0, fixed = 0, compute_layers = 0, compute_output = 0, compute_idle = 0;
    std::vector<double> t;  // t[l]: seconds for layers [0, l)
    double t_output = 0;
  };
  struct StageTable {
    std::vector<Member> members;
    double allreduce = 0, hop_in = 0, embed_in = 0, logits_out = 0;
  };
  std::vector<StageTable> tables(c.stages.size());
  for (size_t s = 0; s < c.stages.size(); ++s) {
    const Stage& st = c.stages[s];
    StageTable& tb = tables[s];
    std::vector<const DeviceInstance*> members;
    for (size_t k = 0; k < st.devices.size(); ++k) {
      const DeviceInstance& d = rig_.devices[st.devices[k]];
      members.push_back(&d);
      Member m;
      m.f = st.fractions[k];
      m.capacity = d.profile.vram_bytes;
      const bool embeddings = d.profile.is_cpu() && llama;
      m.fixed = mem.overhead_bytes(d.profile) + (embeddings ? costs_.embedding_bytes() : 0);
      m.compute_layers = mem.compute_bytes(d.profile, 1, false);
      m.compute_output = mem.compute_bytes(d.profile, 1, true);
      m.compute_idle = embeddings ? mem.compute_bytes(d.profile, 0, false) : 0;
      m.t.assign(L + 1, 0.0);
      for (uint32_t l = 0; l < L; ++l)
        m.t[l + 1] = m.t[l] + m.f * (time.weights_seconds(d.profile, l, l + 1, false) +
                                     time.kv_seconds(d.profile, l, l + 1, c.run.depth)) +
                     time.launch_seconds(d.profile, l, l + 1, false);
      // A row share reads its fraction of the weights but launches every kernel.
      m.t_output = m.f * (time.weights_seconds(d.profile, 0, 0, true)) + time.launch_seconds(d.profile, 0, 0, true);
      tb.members.push_back(std::move(m));
    }
    // Two all-reduces per layer (after attention and after the feed-forward block).
    tb.allreduce = 2.0 * allreduce_seconds(members, time.hop_bytes());
    const DeviceInstance& first = *members.front();
    tb.hop_in = time.hop_seconds(first, first);  // activations arriving from the previous stage
    tb.embed_in = first.profile.is_cpu() ? 0 : first.host_link.transfer_seconds(time.hop_bytes());
    tb.logits_out = first.profile.is_cpu() ? 0 : first.host_link.transfer_seconds(time.logits_bytes());
  }

  auto fits = [&](size_t s, uint32_t l0, uint32_t l1, bool last) {
    const uint64_t w = costs_.weight_bytes(l0, l1) + (last ? costs_.output_bytes() : 0);
    const uint64_t kv = mem.kv_bytes(l0, l1);
    for (const Member& m : tables[s].members) {
      const uint64_t compute = last ? m.compute_output : (l1 > l0 ? m.compute_layers : m.compute_idle);
      const double need = m.f * static_cast<double>(w + kv) + static_cast<double>(compute + m.fixed);
      if (need > static_cast<double>(m.capacity)) return false;
    }
    return true;
  };
  // Between placements of equal speed, prefer the one that leaves memory free on every device: a
  // convex penalty of a microsecond at full memory, far below any real difference in speed.
  constexpr double kBalanceSeconds = 1e-6;
  auto stage_cost = [&](size_t s, uint32_t l0, uint32_t l1, bool last) -> std::optional<double> {
    if (!fits(s, l0, l1, last)) return std::nullopt;
    const StageTable& tb = tables[s];
    const uint64_t w = costs_.weight_bytes(l0, l1) + (last ? costs_.output_bytes() : 0) + mem.kv_bytes(l0, l1);
    double seconds = 0, fill = 0;
    for (const Member& m : tb.members) {
      seconds = std::max(seconds, m.t[l1] - m.t[l0] + (last ? m.t_output : 0));
      fill = std::max(fill, m.f * static_cast<double>(w) / static_cast<double>(m.capacity));
    }
    seconds += (l1 - l0) * tb.allreduce + (l0 > 0 ? tb.hop_in : tb.embed_in) + (last ? tb.logits_out : 0);
    return seconds + kBalanceSeconds * fill * fill;
  };

  if (feasibility_only && !(req_.layers && c.split == SplitMode::Layer)) {
    // Memory grows with the range, so filling each stage as far as it goes is optimal for
    // feasibility: its frontier is never behind any other placement's.
    Evaluated e;
    uint32_t l = 0;
    for (size_t s = 0; s < c.stages.size() && l < L; ++s) {
      if (fits(s, l, L, true)) {
        l = L;
        break;
      }
      uint32_t m = l;
      while (m + 1 < L && fits(s, l, m + 1, false)) ++m;
      l = m;
    }
    e.feasible = l == L;
    return e;
  }

  Evaluated e;
  LayerAssignment a;
  if (req_.layers && c.split == SplitMode::Layer) {
    // Pinned counts (GPU order); the CPU, if any, takes what is left first.
    const auto& pins = *req_.layers;
    uint32_t pinned = 0;
    for (uint32_t n : pins) pinned += n;
    const bool has_cpu = rig_.devices[c.stages.front().devices.front()].profile.is_cpu();
    const size_t gpu_stages = c.stages.size() - (has_cpu ? 1 : 0);
    if (pins.size() != gpu_stages || pinned > L || (!has_cpu && pinned != L)) return e;
    std::vector<uint32_t> counts;
    if (has_cpu) counts.push_back(L - pinned);
    counts.insert(counts.end(), pins.begin(), pins.end());
    uint32_t l = 0;
    a.feasible = true;
    uint32_t last_stage = 0;
    for (size_t s = 0; s < counts.size(); ++s)
      if (counts[s] > 0) last_stage = static_cast<uint32_t>(s);
    for (size_t s = 0; s < counts.size(); ++s) {
      if (counts[s] == 0) continue;
      auto cst = stage_cost(s, l, l + counts[s], s == last_stage);
      if (!cst) {
        a.feasible = false;
        break;
      }
      a.seconds += *cst;
      l += counts[s];
    }
    a.counts = counts;
  } else {
    a = solve_layer_dag(c.stages.size(), L, stage_cost);
  }
  if (!a.feasible) return e;
  e.feasible = true;
  e.counts = a.counts;
  if (feasibility_only) return e;
  e.plan = materialize(c, a.counts);
  e.decode_seconds = 1.0 / e.plan.predicted.decode_tps;
  return e;
}

Plan PlacementSearch::materialize(const Candidate& c, const std::vector<uint32_t>& counts) const {
  const MemoryModel mem(costs_, c.run);
  const TimeModel time(costs_, c.run);
  const bool llama = c.run.engine == Engine::LlamaCpp;
  Plan p;
  p.model_path = model_.file().path();
  p.model_name = model_.name();
  p.arch = model_.hparams().arch;
  p.n_layer = costs_.n_layer();
  p.n_params = model_.n_params();
  p.data_bytes = model_.data_bytes();
  p.engine = c.run.engine;
  p.rig = rig_;
  p.ctx = c.run.ctx;
  p.kv_k = c.run.kv_k;
  p.kv_v = c.run.kv_v;
  p.flash_attn = c.run.flash_attn;
  p.parallel = c.run.parallel;
  p.ubatch = c.run.ubatch;
  p.fits = true;

  size_t used_gpu_stages = 0;
  size_t last_stage = 0;
  for (size_t s = 0; s < counts.size(); ++s)
    if (counts[s] > 0) {
      last_stage = s;
      if (!rig_.devices[c.stages[s].devices.front()].profile.is_cpu()) ++used_gpu_stages;
    }
  p.split = c.split;
  if (c.split == SplitMode::Layer && used_gpu_stages <= 1) p.split = SplitMode::None;

  std::vector<DeviceMemory> memory(rig_.devices.size());
  for (const auto& d : rig_.devices) {
    memory[d.index].device = d.index;
    memory[d.index].capacity = d.profile.vram_bytes;
  }
  uint32_t l = 0;
  double decode = 0, prefill = 0, weights_s = 0, launch_s = 0, link_s = 0;
  uint64_t link_bytes = 0;
  int group = 0;
  for (size_t s = 0; s < c.stages.size(); ++s) {
    const Stage& st = c.stages[s];
    const uint32_t l0 = l, l1 = l + counts[s];
    const bool last = counts[s] > 0 && s == last_stage;
    double stage_decode = 0, stage_prefill = 0;
    for (size_t k = 0; k < st.devices.size(); ++k) {
      const DeviceInstance& d = rig_.devices[st.devices[k]];
      const double f = st.fractions[k];
      p.device_order.push_back(d.index);
      DevicePlacement pl;
      pl.device = d.index;
      if (l1 > l0) pl.layers = std::make_pair(l0, l1 - 1);
      if (st.devices.size() > 1) {
        pl.row_fraction = f;
        pl.tp_group = group;
      }
      pl.holds_output = last;
      pl.holds_embeddings = d.profile.is_cpu() && llama;
      p.placement.push_back(pl);
      DeviceMemory m = mem.layer_range(d.index, d.profile, l0, l1, last, pl.holds_embeddings);
      m.weights = static_cast<uint64_t>(std::ceil(f * static_cast<double>(m.weights)));
      m.kv = static_cast<uint64_t>(std::ceil(f * static_cast<double>(m.kv)));
      memory[d.index] = m;
      stage_decode = std::max(stage_decode, f * (time.weights_seconds(d.profile, l0, l1, last) +
                                                     time.kv_seconds(d.profile, l0, l1, c.run.depth)) +
                                                time.launch_seconds(d.profile, l0, l1, last));
      stage_prefill = std::max(stage_prefill, f * time.prefill_seconds(d.profile, l0, l1));
    }
    if (st.devices.size() > 1) ++group;
    if (l1 > l0) {
      std::vector<const DeviceInstance*> members;
      for (size_t dv : st.devices) members.push_back(&rig_.devices[dv]);
      const double ar = 2.0 * (l1 - l0) * allreduce_seconds(members, time.hop_bytes());
      stage_decode += ar;
      link_s += ar;
      const DeviceInstance& first = rig_.devices[st.devices.front()];
      const double hop = l0 > 0 ? time.hop_seconds(first, first)
                                : (first.profile.is_cpu() ? 0 : first.host_link.transfer_seconds(time.hop_bytes()));
      stage_decode += hop;
      link_s += hop;
      if (l0 > 0 || !first.profile.is_cpu()) link_bytes += time.hop_bytes();
      if (st.devices.size() > 1) link_bytes += 2 * uint64_t{l1 - l0} * time.hop_bytes() * st.devices.size();
      if (last && !first.profile.is_cpu()) {
        const double lg = first.host_link.transfer_seconds(time.logits_bytes());
        stage_decode += lg;
        link_s += lg;
        link_bytes += time.logits_bytes();
      }
      // Breakdown of the slowest member's time.
      double w = 0, ln = 0;
      for (size_t k = 0; k < st.devices.size(); ++k) {
        const DeviceInstance& d = rig_.devices[st.devices[k]];
        w = std::max(w, st.fractions[k] * time.weights_seconds(d.profile, l0, l1, last));
        ln = std::max(ln, time.launch_seconds(d.profile, l0, l1, last));
      }
      weights_s += w;
      launch_s += ln;
    }
    decode += stage_decode;
    prefill += stage_prefill;
    l = l1;
  }
  // Fixed per-token cost, paid once by the first GPU (or the CPU when it runs alone).
  const DeviceInstance* driver = nullptr;
  for (const auto& pl : p.placement) {
    const DeviceInstance& d = rig_.devices[pl.device];
    if ((pl.layers || pl.holds_output) && (!driver || (driver->profile.is_cpu() && !d.profile.is_cpu()))) driver = &d;
  }
  const double fixed = driver ? time.token_seconds(driver->profile) : 0;
  decode += fixed;
  for (auto& m : memory) {
    p.fits = p.fits && m.total() <= m.capacity;
    p.memory.push_back(m);
  }

  p.predicted.decode_tps = decode > 0 ? 1.0 / decode : 0;
  p.predicted.prefill_tps = prefill > 0 ? 1.0 / prefill : 0;
  p.predicted.link_bytes_per_token = link_bytes;
  p.predicted.weights_seconds = weights_s;
  p.predicted.launch_seconds = launch_s;
  p.predicted.link_seconds = link_s;
  p.predicted.fixed_seconds = fixed;
  // Decode with the whole context filled: add the KV reads.
  {
    RunSettings full = c.run;
    full.depth = c.run.ctx;
    const TimeModel tf(costs_, full);
    double extra = 0;
    uint32_t ll = 0;
    for (size_t s = 0; s < c.stages.size(); ++s) {
      const uint32_t l1 = ll + counts[s];
      double worst = 0;
      for (size_t k = 0; k < c.stages[s].devices.size(); ++k) {
        const auto& d = rig_.devices[c.stages[s].devices[k]];
        worst = std::max(worst, c.stages[s].fractions[k] * (tf.kv_seconds(d.profile, ll, l1, c.run.ctx) -
                                                             tf.kv_seconds(d.profile, ll, l1, c.run.depth)));
      }
      extra += worst;
      ll = l1;
    }
    p.predicted.decode_tps_at_ctx = 1.0 / (decode + extra);
  }
  // Loading: every device receives its weights at once; shared uplinks of the PCIe tree split their
  // bandwidth (max-flow), so a card finishes at its share of the flow.
  std::vector<uint64_t> load_bytes(rig_.devices.size(), 0);
  for (const auto& m : p.memory) load_bytes[m.device] = m.weights;
  p.predicted.load_seconds = host_load_seconds(rig_, load_bytes);

  return p;
}

// Kernel configurations: one quantized mat-vec per weight type a GPU holds, with its chip's defaults.
void PlacementSearch::add_kernel_configs(Plan& p) const {
  for (const auto& pl : p.placement) {
    const DeviceInstance& d = rig_.devices[pl.device];
    if (d.profile.is_cpu() || (!pl.layers && !pl.holds_output)) continue;
    // The matrix types on the device, with the shapes (rows, cols) of their matrices.
    std::map<GgmlType, std::set<std::pair<int64_t, int64_t>>> types;
    auto add = [&](const GgufTensorInfo* t) {
      types[t->type].insert({static_cast<int64_t>(t->n_rows()), static_cast<int64_t>(t->ne[0])});
    };
    if (pl.layers)
      for (uint32_t li = pl.layers->first; li <= pl.layers->second; ++li)
        for (const GgufTensorInfo* t : model_.layers()[li].tensors)
          if (t->n_dims >= 2) add(t);
    if (pl.holds_output) {
      const GgufTensorInfo* out = model_.file().find_tensor("output.weight");
      if (!out) out = model_.file().find_tensor("token_embd.weight");
      if (out) add(out);
    }
    const auto* chip = targets::DeviceCatalog::builtin().find_chip(d.profile.arch);
    for (const auto& [t, shapes] : types) {
      KernelConfig k;
      k.device = pl.device;
      k.chip = d.profile.arch;
      k.op = "qmatvec";
      k.quant = std::string(ggml_type_name(t));
      k.source = "chip default";
      if (!chip) {
        p.kernels.push_back(k);
        continue;
      }
      // One entry for the type (no shape: the device's entry for it, else the chip's) where any
      // matrix takes it, and one per exact shape ("4096x14336") or shape class whose matrices take
      // another; build --plan looks up a matrix's exact shape, then its class, then the type.
      const targets::QMatVecConfig* type_entry = &chip->qmatvec_for(k.quant, d.profile.name);
      std::map<std::string, const targets::QMatVecConfig*> entries;
      for (const auto& [rows, cols] : shapes) {
        const std::string_view shape_class = targets::matrix_shape_class(rows, cols);
        const auto* config = &chip->qmatvec_for_matrix(k.quant, d.profile.name, rows, cols);
        if (config == type_entry)
          entries[""] = config;
        else if (config == &chip->qmatvec_for(k.quant, d.profile.name, shape_class))
          entries[std::string(shape_class)] = config;
        else
          entries[targets::matrix_shape_key(rows, cols)] = config;
      }
      for (const auto& [label, config] : entries) {
        KernelConfig one = k;
        one.shape = label;
        one.rows_per_block = config->rows_per_block;
        one.warps = config->warps_per_block;
        // As built: chips.json keeps the width that was measured, which may be wider than the type uses.
        one.vector_width = targets::qmatvec_vector_width(k.quant, config->vector_width);
        one.unroll = config->unroll;
        one.slices_per_lane = config->slices_per_lane;
        one.group_warps = config->group_warps;
        one.prefetch = config->prefetch;
        one.row_steps = config->row_steps;
        one.min_blocks = config->min_blocks;
        if (config != &chip->qmatvec_for(k.quant)) one.source = d.profile.name + " measured";
        p.kernels.push_back(one);
      }
    }
  }
}

std::optional<uint32_t> PlacementSearch::max_ctx(const std::vector<Candidate>& shapes, RunSettings run) const {
  const uint32_t train = model_.hparams().n_ctx_train ? model_.hparams().n_ctx_train : 131072;
  auto fits = [&](uint32_t ctx) {
    RunSettings r = run;
    r.ctx = ctx;
    for (Candidate c : shapes) {
      c.run = r;
      if (evaluate(c, true).feasible) return true;
    }
    return false;
  };
  if (!fits(kCtxStep)) return std::nullopt;
  uint32_t lo = 1, hi = (train + kCtxStep - 1) / kCtxStep;  // in steps
  if (fits(hi * kCtxStep)) return std::min(train, hi * kCtxStep);
  while (hi - lo > 1) {
    const uint32_t mid = (lo + hi) / 2;
    (fits(mid * kCtxStep) ? lo : hi) = mid;
  }
  return lo * kCtxStep;
}

std::vector<std::string> PlacementSearch::suggest(const RunSettings& run) const {
  std::vector<std::string> out;
  const auto shapes = candidates(run);
  if (auto m = max_ctx(shapes, run)) out.push_back(fmt::format("shorter context: --ctx {} fits", *m));
  for (GgmlType kv : {GgmlType::Q8_0, GgmlType::Q4_0}) {
    if (kv_quality(kv) >= kv_quality(run.kv_k)) continue;
    RunSettings r = run;
    r.kv_k = r.kv_v = kv;
    r.flash_attn = true;
    bool ok = false;
    for (Candidate c : candidates(r)) {
      c.run = r;
      ok |= evaluate(c, true).feasible;
    }
    if (ok) {
      out.push_back(fmt::format("quantized KV cache: --kv {} fits at ctx {}", ggml_type_name(kv), run.ctx));
      break;
    }
  }
  const bool has_cpu = std::any_of(rig_.devices.begin(), rig_.devices.end(), [](auto& d) { return d.profile.is_cpu(); });
  if (!has_cpu) {
    targets::RigSpec more = rig_;
    targets::DeviceInstance cpu = targets::parse_device_spec("cpu").devices.front();
    cpu.index = more.devices.size();
    more.devices.insert(more.devices.begin(), cpu);
    for (size_t i = 0; i < more.devices.size(); ++i) more.devices[i].index = i;
    PlanRequest r = req_;
    r.split.reset();
    r.layers.reset();
    PlacementSearch s(model_, more, r);
    for (Candidate c : s.candidates(run)) {
      c.run = run;
      auto e = s.evaluate(c);
      if (e.feasible) {
        out.push_back(fmt::format("CPU offload: {} layers on the CPU ({} RAM) fit (--devices ...,cpu)", e.counts.front(),
                                  format_gib(cpu.profile.vram_bytes)));
        break;
      }
    }
  }
  // One more card of the kind the rig already has most of.
  std::map<std::string, int> kinds;
  for (const auto& d : rig_.devices)
    if (!d.profile.is_cpu()) ++kinds[d.profile.name];
  if (!kinds.empty()) {
    const auto top = std::max_element(kinds.begin(), kinds.end(), [](auto& a, auto& b) { return a.second < b.second; });
    for (const auto& d : rig_.devices)
      if (d.profile.name == top->first) {
        for (int extra = 1; extra <= 8; ++extra) {
          targets::RigSpec more = rig_;
          for (int k = 0; k < extra; ++k) {
            targets::DeviceInstance copy = d;
            copy.index = more.devices.size();
            more.devices.push_back(copy);
          }
          PlanRequest r = req_;
          r.split.reset();
          r.layers.reset();
          PlacementSearch s(model_, more, r);
          bool ok = false;
          for (Candidate c : s.candidates(run)) {
            c.run = run;
            ok |= s.evaluate(c, true).feasible;
          }
          if (ok) {
            out.push_back(fmt::format("{} more {} ({} each)", extra == 1 ? "one" : std::to_string(extra), top->first,
                                      format_gib(d.profile.vram_bytes)));
            break;
          }
        }
        break;
      }
  }
  return out;
}

Plan PlacementSearch::run() const {
  const auto start = std::chrono::steady_clock::now();
  const HParams& hp = model_.hparams();
  const uint32_t train = hp.n_ctx_train ? hp.n_ctx_train : 4096;
  const uint32_t want = req_.ctx ? *req_.ctx : (req_.min_ctx ? req_.min_ctx : std::min<uint32_t>(4096, train));

  std::vector<GgmlType> kvs = req_.kv_type ? std::vector<GgmlType>{*req_.kv_type}
                                           : std::vector<GgmlType>{GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0};
  std::vector<bool> fas = req_.flash_attn ? std::vector<bool>{*req_.flash_attn} : std::vector<bool>{true, false};

  struct Scored {
    Plan plan;
    double decode = 0;
    double key = 0;
  };
  std::optional<Scored> best;
  std::vector<Alternative> alts;
  std::vector<Plan::FrontPoint> front;
  RunSettings base;
  base.engine = req_.engine;
  base.parallel = std::max<uint32_t>(1, req_.parallel);
  base.ubatch = req_.ubatch;
  base.depth = req_.depth;

  auto better = [&](const Plan& p) {
    if (!best) return true;
    const Plan& b = best->plan;
    double a = 0, bb = 0;
    switch (req_.objective) {
      case Objective::Decode: a = p.predicted.decode_tps; bb = b.predicted.decode_tps; break;
      case Objective::Prefill: a = p.predicted.prefill_tps; bb = b.predicted.prefill_tps; break;
      case Objective::Ctx: a = p.ctx; bb = b.ctx; break;
    }
    // Within 1% the higher-quality KV cache, then flash attention, then the faster decode wins.
    if (a > bb * 1.01) return true;
    if (a < bb * 0.99) return false;
    if (kv_quality(p.kv_k) != kv_quality(b.kv_k)) return kv_quality(p.kv_k) > kv_quality(b.kv_k);
    if (p.flash_attn != b.flash_attn) return p.flash_attn;
    return p.predicted.decode_tps > b.predicted.decode_tps;
  };

  for (GgmlType kv : kvs)
    for (bool fa : fas) {
      // llama.cpp needs flash attention for a quantized V cache.
      if (kv != GgmlType::F16 && !fa && req_.engine == Engine::LlamaCpp) continue;
      RunSettings run = base;
      run.kv_k = run.kv_v = kv;
      run.flash_attn = fa;
      const auto shapes = candidates(run);
      std::optional<uint32_t> ctx_limit;
      if (req_.ctx_max || req_.objective == Objective::Ctx) {
        ctx_limit = max_ctx(shapes, run);
        if (!ctx_limit) continue;
      }
      run.ctx = ctx_limit ? *ctx_limit : want;
      std::map<SplitMode, Plan> best_per_split;
      std::optional<Candidate> winner;
      double winner_tps = 0;
      for (Candidate c : shapes) {
        c.run = run;
        Evaluated e = evaluate(c);
        if (!e.feasible) continue;
        Plan& slot = best_per_split[e.plan.split];
        if (slot.memory.empty() || e.plan.predicted.decode_tps > slot.predicted.decode_tps) slot = e.plan;
        if (e.plan.predicted.decode_tps > winner_tps) {
          winner = c;
          winner_tps = e.plan.predicted.decode_tps;
        }
        if (better(e.plan)) best = Scored{e.plan, e.plan.predicted.decode_tps, 0};
      }
      for (auto& [split, p] : best_per_split)
        alts.push_back({split, p.ctx, kv, fa, true, p.predicted.decode_tps, ""});
      // Pareto front for this cache type (flash attention on, or as pinned), over the shape that
      // won at the requested context.
      if (fa == fas.front() && !req_.ctx && winner) {
        const auto limit = max_ctx(shapes, run);
        if (limit) {
          std::vector<uint32_t> points;
          for (uint32_t x = 2048; x < *limit; x *= 2) points.push_back(x);
          points.push_back(*limit);
          for (uint32_t x : points) {
            Candidate c = *winner;
            c.run = run;
            c.run.ctx = x;
            auto e = evaluate(c);
            if (!e.feasible)  // the winning shape may run out first; any shape will do
              for (Candidate o : shapes) {
                o.run = c.run;
                if ((e = evaluate(o)).feasible) break;
              }
            if (e.feasible) front.push_back({kv, x, e.plan.predicted.decode_tps, e.plan.predicted.decode_tps_at_ctx});
          }
        }
      }
    }

  Plan result;
  if (best) {
    result = best->plan;
    add_kernel_configs(result);
  } else {
    // Nothing fits: describe the request as if placed, with fits = false and what would fit.
    RunSettings run = base;
    run.ctx = want;
    run.kv_k = run.kv_v = kvs.front();
    run.flash_attn = fas.front();
    result.model_path = model_.file().path();
    result.model_name = model_.name();
    result.arch = hp.arch;
    result.n_layer = hp.n_layer;
    result.n_params = model_.n_params();
    result.data_bytes = model_.data_bytes();
    result.engine = req_.engine;
    result.rig = rig_;
    result.ctx = want;
    result.kv_k = result.kv_v = run.kv_k;
    result.flash_attn = run.flash_attn;
    result.parallel = run.parallel;
    result.ubatch = run.ubatch;
    result.split = req_.split.value_or(SplitMode::Layer);
    result.fits = false;
    const MemoryModel mem(costs_, run);
    result.needed_weights = costs_.weight_bytes(0, hp.n_layer) + costs_.output_bytes() + costs_.embedding_bytes();
    result.needed_kv = mem.kv_bytes(0, hp.n_layer);
    for (const auto& d : rig_.devices) result.memory.push_back({d.index, 0, 0, 0, 0, d.profile.vram_bytes});
    result.suggestions = suggest(run);
  }

  // Alternatives: the best of every other split mode and cache type, with why they lost.
  for (auto& a : alts) {
    if (best && a.split == result.split && a.kv_type == result.kv_k && a.flash_attn == result.flash_attn) continue;
    const double d = result.predicted.decode_tps;
    if (a.decode_tps > d * 1.01)
      a.reason = fmt::format("{:+.0f}% decode but {}", 100.0 * (a.decode_tps / d - 1),
                             kv_quality(a.kv_type) < kv_quality(result.kv_k) ? "lower-precision KV cache"
                                                                               : "not preferred by the objective");
    else if (a.decode_tps < d * 0.99)
      a.reason = fmt::format("{:.0f}% slower decode", 100.0 * (1 - a.decode_tps / d));
    else
      a.reason = kv_quality(a.kv_type) < kv_quality(result.kv_k) ? "same speed, lower-precision KV cache"
                 : a.flash_attn != result.flash_attn              ? "same speed, larger compute buffers without flash attention"
                                                                   : "same speed";
    result.alternatives.push_back(a);
  }
  if (req_.engine == Engine::LlamaCpp && rig_.devices.size() >= 2 && (!req_.split || *req_.split == SplitMode::Row))
    result.alternatives.push_back({SplitMode::Row, result.ctx, result.kv_k, result.flash_attn, false, 0,
                                   "llama.cpp's CUDA backend no longer splits rows; plan with --engine llmc"});
  std::stable_sort(result.alternatives.begin(), result.alternatives.end(),
                   [](const Alternative& a, const Alternative& b) { return a.decode_tps > b.decode_tps; });
  result.front = front;
  result.planning_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace llmc::planner
