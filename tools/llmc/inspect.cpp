// `llmc inspect MODEL.gguf [--json]`: what a GGUF holds, read from its header alone.
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "llmc/gguf.h"
#include "llmc/model.h"
#include "llmc/model_layout.h"

namespace llmc::cli {
namespace {

struct InspectOptions {
  std::string path;
  bool json = false;
};

std::string human_bytes(uint64_t b) {
  const double x = static_cast<double>(b);
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", x / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.2f} MiB", x / (1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.2f} KiB", x / (1ull << 10));
  return fmt::format("{} B", b);
}

// Parameter count the way llama.cpp prints it: "8.03 B", "494.03 M".
std::string human_params(uint64_t n) {
  if (n >= 1000000000ull) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1000000ull) return fmt::format("{:.2f} M", n / 1e6);
  return fmt::format("{:.2f} K", n / 1e3);
}

std::string file_type_of(const GgufFile& f, const ModelDesc& m) {
  if (auto id = f.find("general.file_type"); id && id->is_integer()) {
    const std::string n = file_type_name_from_id(id->as_u64("general.file_type"));
    if (!n.empty()) return n;
  }
  return fmt::format("mostly {}", ggml_type_name(m.main_type()));
}

struct KvSizes {
  uint64_t f16, q8_0, q4_0;
};
KvSizes kv_sizes(const ModelDesc& m) {
  return {m.kv_bytes_per_token(GgmlType::F16, GgmlType::F16), m.kv_bytes_per_token(GgmlType::Q8_0, GgmlType::Q8_0),
          m.kv_bytes_per_token(GgmlType::Q4_0, GgmlType::Q4_0)};
}

template <class T>
nlohmann::json per_layer_json(const std::vector<T>& v) {
  if (!v.empty() && std::all_of(v.begin(), v.end(), [&](const T& x) { return x == v.front(); })) return v.front();
  return v;
}

nlohmann::json to_json(const GgufFile& f, const ModelDesc& m) {
  using nlohmann::json;
  const HParams& hp = m.hparams();
  const KvSizes kv = kv_sizes(m);
  json j;
  j["schema"] = "llmc.inspect/1";
  j["path"] = f.path();
  j["gguf_version"] = f.version();
  j["file_bytes"] = f.file_size();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.data_offset();
  j["data_bytes"] = f.data_bytes();
  j["data_bytes_present"] = f.data_bytes_present();
  j["status"] = gguf_data_status_name(f.data_status());
  j["arch"] = hp.arch;
  j["arch_supported"] = m.supported();
  j["name"] = m.name();
  j["file_type"] = file_type_of(f, m);
  j["n_params"] = m.n_params();
  j["bits_per_weight"] = m.n_params() ? 8.0 * m.data_bytes() / m.n_params() : 0.0;
  j["n_tensors"] = f.tensors().size();
  j["n_metadata"] = f.metadata().size();
  j["hparams"] = {
      {"n_layer", hp.n_layer},
      {"n_embd", hp.n_embd},
      {"n_ff", per_layer_json(hp.n_ff)},
      {"n_head", per_layer_json(hp.n_head)},
      {"n_head_kv", per_layer_json(hp.n_head_kv)},
      {"head_dim_k", hp.head_dim_k},
      {"head_dim_v", hp.head_dim_v},
      {"n_vocab", hp.n_vocab},
      {"n_ctx_train", hp.n_ctx_train},
      {"rms_eps", hp.rms_eps},
      {"rope", {{"type", rope_type_name(hp.rope_type)}, {"dim", hp.rope_dim}, {"freq_base", hp.rope_freq_base},
                {"scaling", hp.rope_scaling}, {"scaling_factor", hp.rope_scaling_factor}}},
      {"sliding_window", hp.sliding_window},
      {"n_swa_layers", std::count(hp.layer_is_swa.begin(), hp.layer_is_swa.end(), true)},
      {"n_expert", hp.n_expert},
      {"n_expert_used", hp.n_expert_used},
      {"n_ff_expert", hp.n_ff_expert},
      {"tied_output", hp.tied_output},
  };
  j["tokenizer"] = {{"model", m.tokenizer_model()}, {"pre", m.tokenizer_pre()}, {"n_vocab", hp.n_vocab}};
  j["kv_bytes_per_token"] = {{"f16", kv.f16}, {"q8_0", kv.q8_0}, {"q4_0", kv.q4_0}};
  json mix = json::array();
  std::map<GgmlType, uint64_t> counts;
  for (const auto& t : f.tensors()) ++counts[t.type];
  for (const auto& [type, bytes] : m.bytes_by_type())
    mix.push_back({{"type", ggml_type_name(type)}, {"tensors", counts[type]}, {"bytes", bytes}});
  j["quant_mix"] = mix;
  json layers = json::array();
  for (const auto& l : m.layers())
    layers.push_back({{"index", l.index}, {"bytes", l.bytes}, {"tensors", l.tensors.size()}, {"expert_bytes", l.expert_bytes}});
  j["layers"] = layers;
  json globals = json::array();
  for (const GgufTensorInfo* t : m.global_tensors()) {
    json shape = json::array();
    for (uint32_t d = 0; d < t->n_dims; ++d) shape.push_back(t->ne[d]);
    globals.push_back({{"name", t->name}, {"type", ggml_type_name(t->type)}, {"shape", shape}, {"bytes", t->n_bytes}});
  }
  j["global_tensors"] = globals;
  return j;
}

std::string per_layer_text(const std::vector<uint32_t>& v) {
  if (v.empty()) return "0";
  if (std::all_of(v.begin(), v.end(), [&](uint32_t x) { return x == v.front(); })) return std::to_string(v.front());
  return fmt::format("{}..{} (per layer)", *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
}

void print_table(const GgufFile& f, const ModelDesc& m) {
  const HParams& hp = m.hparams();
  const KvSizes kv = kv_sizes(m);
  auto row = [](std::string_view k, const std::string& v) { fmt::print("{:<14}{}\n", k, v); };
  row("file", fmt::format("{} (GGUF v{}, {} tensors, {} metadata keys)", f.path(), f.version(), f.tensors().size(),
                          f.metadata().size()));
  row("model", m.name().empty() ? "(unnamed)" : m.name());
  row("arch", fmt::format("{}, {}{}", hp.arch, file_type_of(f, m),
                          m.supported() ? "" : "   (architecture not supported for planning or running)"));
  row("params", human_params(m.n_params()));
  row("file size", fmt::format("{} ({:.2f} BPW)", f.file_size() >= (1ull << 30) ? format_gib(f.file_size()) : human_bytes(f.file_size()),
                               m.n_params() ? 8.0 * m.data_bytes() / m.n_params() : 0.0));
  row("data size", format_gib(f.data_bytes()));
  switch (f.data_status()) {
    case GgufDataStatus::Complete: row("status", "complete"); break;
    case GgufDataStatus::Skeleton: row("status", "skeleton: header only, no tensor data (inspect and plan only)"); break;
    case GgufDataStatus::Truncated:
      row("status", fmt::format("TRUNCATED: {} of {} data bytes present ({:.1f}%)", f.data_bytes_present(), f.data_bytes(),
                                100.0 * f.data_bytes_present() / std::max<uint64_t>(f.data_bytes(), 1)));
      break;
  }
  row("layers", fmt::format("{}   embd {}   ff {}   heads {} (kv {})   head dim {}/{}", hp.n_layer, hp.n_embd,
                            hp.n_expert ? fmt::format("{} x {} experts ({} used)", hp.n_ff_expert, hp.n_expert, hp.n_expert_used)
                                        : per_layer_text(hp.n_ff),
                            per_layer_text(hp.n_head), per_layer_text(hp.n_head_kv), hp.head_dim_k, hp.head_dim_v));
  const std::string tok = m.tokenizer_model();
  const std::string pre = m.tokenizer_pre();
  row("vocab", fmt::format("{}   tokenizer {}{}", hp.n_vocab, tok.empty() ? "(none)" : tok, pre.empty() ? "" : fmt::format(" ({})", pre)));
  row("context", fmt::format("{} trained", hp.n_ctx_train));
  row("rope", fmt::format("{}, dim {}, base {:.0f}{}", rope_type_name(hp.rope_type), hp.rope_dim, hp.rope_freq_base,
                          hp.rope_scaling == "none" ? "" : fmt::format(", {} x{:g}", hp.rope_scaling, hp.rope_scaling_factor)));
  if (hp.sliding_window)
    row("sliding win", fmt::format("{} tokens on {} of {} layers", hp.sliding_window,
                                   std::count(hp.layer_is_swa.begin(), hp.layer_is_swa.end(), true), hp.n_layer));
  row("KV / token", fmt::format("f16 {}   q8_0 {}   q4_0 {}", human_bytes(kv.f16), human_bytes(kv.q8_0), human_bytes(kv.q4_0)));

  fmt::print("\n{:<10} {:>8} {:>12} {:>7}\n", "type", "tensors", "bytes", "share");
  std::map<GgmlType, uint64_t> counts;
  for (const auto& t : f.tensors()) ++counts[t.type];
  for (const auto& [type, bytes] : m.bytes_by_type())
    fmt::print("{:<10} {:>8} {:>12} {:>6.1f}%\n", ggml_type_name(type), counts[type], human_bytes(bytes),
               100.0 * bytes / std::max<uint64_t>(m.data_bytes(), 1));

  // Runs of layers with the same size print as one line.
  fmt::print("\n{:<14} {:>12}\n", "layers", "bytes each");
  const auto& L = m.layers();
  for (size_t i = 0; i < L.size();) {
    size_t j = i;
    while (j + 1 < L.size() && L[j + 1].bytes == L[i].bytes) ++j;
    fmt::print("{:<14} {:>12}\n", i == j ? fmt::format("blk {}", i) : fmt::format("blk {}-{}", i, j), human_bytes(L[i].bytes));
    i = j + 1;
  }
  uint64_t global_bytes = 0;
  for (const GgufTensorInfo* t : m.global_tensors()) global_bytes += t->n_bytes;
  fmt::print("{:<14} {:>12}\n", "non-layer", human_bytes(global_bytes));
}

int run_inspect(const InspectOptions& o) {
  const GgufFile f = GgufFile::open(o.path);
  const ModelDesc m = ModelDesc::from_gguf(f, /*lenient=*/true);
  if (o.json)
    fmt::print("{}\n", to_json(f, m).dump(2));
  else
    print_table(f, m);
  return kExitOk;
}

}  // namespace

void register_inspect(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand("inspect", "Describe a GGUF model from its header (never reads tensor data)");
  sub->add_option("model", opts->path, "GGUF file")->required();
  sub->add_flag("--json", opts->json, "Print JSON (schema llmc.inspect/1, see docs/inspect-format.md)");
  sub->callback([opts, &exit_code] { exit_code = run_inspect(*opts); });
}

}  // namespace llmc::cli
