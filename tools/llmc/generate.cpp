// `llmc skeleton` and `llmc synth`: write a GGUF of a model shape, either header-only (a skeleton
// that inspection and planning accept) or with random quantized weights (for tests and benchmarks).
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "llmc/gguf_writer.h"
#include "llmc/model_layout.h"
#include "llmc/model_presets.h"

namespace llmc::cli {
namespace {

struct ShapeOptions {
  std::string preset;
  std::string arch;
  std::optional<uint32_t> layers, embd, ff, heads, kv_heads, head_dim, vocab, ctx, experts, experts_used, ff_expert,
      sliding_window;
  bool tied = false;
  std::string file_type = "Q4_K_M";
  std::string weight_type;
  std::string name;
  std::string output;
  uint64_t seed = 1;
  bool list_presets = false;
};

void add_shape_options(CLI::App* sub, ShapeOptions& o) {
  sub->add_option("--preset", o.preset, "Shape of a known model (see --list-presets)");
  sub->add_flag("--list-presets", o.list_presets, "List the known model shapes and exit");
  sub->add_option("--arch", o.arch, "Architecture: llama, qwen2, qwen3, qwen3moe, gemma3, gpt-oss");
  sub->add_option("--layers", o.layers, "Number of blocks")->check(CLI::Range(1u, 4096u));
  sub->add_option("--embd", o.embd, "Embedding width")->check(CLI::Range(1u, 1u << 20));
  sub->add_option("--ff", o.ff, "Feed-forward width")->check(CLI::Range(1u, 1u << 22));
  sub->add_option("--heads", o.heads, "Attention heads")->check(CLI::Range(1u, 4096u));
  sub->add_option("--kv-heads", o.kv_heads, "KV heads (default: --heads)")->check(CLI::Range(1u, 4096u));
  sub->add_option("--head-dim", o.head_dim, "Head dimension (default: embd / heads)")->check(CLI::Range(1u, 4096u));
  sub->add_option("--vocab", o.vocab, "Vocabulary size")->check(CLI::Range(1u, 1u << 24));
  sub->add_option("--ctx", o.ctx, "Training context length")->check(CLI::Range(1u, 1u << 26));
  sub->add_option("--experts", o.experts, "Experts per MoE layer")->check(CLI::Range(1u, 1024u));
  sub->add_option("--experts-used", o.experts_used, "Experts used per token")->check(CLI::Range(1u, 1024u));
  sub->add_option("--ff-expert", o.ff_expert, "Feed-forward width of one expert")->check(CLI::Range(1u, 1u << 22));
  sub->add_option("--sliding-window", o.sliding_window, "Sliding-window size (gemma3, gpt-oss)");
  sub->add_flag("--tied", o.tied, "Reuse the token embedding as the output matrix");
  sub->add_option("-t,--type", o.file_type, "llama.cpp file type (quant recipe): Q4_K_M, Q8_0, F16, ...")
      ->capture_default_str();
  sub->add_option("--weight-type", o.weight_type, "Force every matrix to one ggml type (q4_0, iq4_xs, ...)");
  sub->add_option("--name", o.name, "general.name to write");
  sub->add_option("-o,--output", o.output, "Output GGUF file (required)");
}

[[noreturn]] void usage(const std::string& msg) { throw CLI::ValidationError(msg); }

HParams resolve_shape(const ShapeOptions& o, std::string& display_name, const ModelPreset*& preset) {
  HParams hp;
  if (!o.preset.empty()) {
    const ModelPreset* p = find_model_preset(o.preset);
    if (!p) {
      std::string names;
      for (const auto& q : model_presets()) names += fmt::format("{}{}", names.empty() ? "" : ", ", q.name);
      usage(fmt::format("--preset: unknown model '{}'; expected one of: {}", o.preset, names));
    }
    hp = p->hp;
    display_name = std::string(p->display_name);
    preset = p;
  } else {
    if (o.arch.empty() || !o.layers || !o.embd || !o.heads || !o.vocab)
      usage("give --preset NAME, or --arch, --layers, --embd, --heads and --vocab (plus --ff or MoE options)");
  }
  if (!o.arch.empty()) hp.arch = o.arch;
  bool known = false;
  for (const auto& a : supported_architectures()) known |= a == hp.arch;
  if (!known) usage(fmt::format("--arch: unknown architecture '{}'", hp.arch));
  if (o.layers) hp.n_layer = *o.layers;
  if (o.embd) hp.n_embd = *o.embd;
  if (o.vocab) hp.n_vocab = *o.vocab;
  if (o.ctx) hp.n_ctx_train = *o.ctx;
  if (hp.n_ctx_train == 0) hp.n_ctx_train = 4096;
  const uint32_t heads = o.heads ? *o.heads : (hp.n_head.empty() ? 0 : hp.n_head[0]);
  const uint32_t kv = o.kv_heads ? *o.kv_heads : (hp.n_head_kv.empty() || o.heads ? heads : hp.n_head_kv[0]);
  const uint32_t ff = o.ff ? *o.ff : (hp.n_ff.empty() ? 0 : hp.n_ff[0]);
  if (heads % kv != 0) usage(fmt::format("--kv-heads {} must divide --heads {}", kv, heads));
  hp.n_head.assign(hp.n_layer, heads);
  hp.n_head_kv.assign(hp.n_layer, kv);
  hp.n_ff.assign(hp.n_layer, ff);
  if (o.head_dim) {
    hp.head_dim_k = hp.head_dim_v = *o.head_dim;
  } else if (hp.head_dim_k == 0 || o.heads || o.embd) {
    if (hp.n_embd % heads != 0) usage(fmt::format("--embd {} is not a multiple of --heads {}; give --head-dim", hp.n_embd, heads));
    hp.head_dim_k = hp.head_dim_v = hp.n_embd / heads;
  }
  hp.rope_dim = hp.head_dim_k;
  if (o.experts) hp.n_expert = *o.experts;
  if (o.experts_used) hp.n_expert_used = *o.experts_used;
  if (o.ff_expert) hp.n_ff_expert = *o.ff_expert;
  if (o.sliding_window) hp.sliding_window = *o.sliding_window;
  if (o.tied) hp.tied_output = true;
  const bool moe_arch = hp.arch == "gpt-oss" || hp.arch == "qwen3moe";
  if (moe_arch && (hp.n_expert == 0 || hp.n_expert_used == 0 || hp.n_ff_expert == 0))
    usage(fmt::format("{} is a mixture of experts: give --experts, --experts-used and --ff-expert", hp.arch));
  if (!moe_arch && ff == 0) usage("--ff is required for dense architectures");
  if (hp.n_expert_used > hp.n_expert) usage("--experts-used cannot exceed --experts");
  hp.layer_is_swa.assign(hp.n_layer, false);
  return hp;
}

std::vector<TensorSpec> resolve_layout(const HParams& hp, const ShapeOptions& o, FileType ft) {
  std::vector<TensorSpec> layout = tensor_layout(hp, ft);
  if (o.weight_type.empty()) return layout;
  auto wt = ggml_type_from_name(o.weight_type);
  if (!wt || ggml_type_traits(*wt).retired) usage(fmt::format("--weight-type: unknown ggml type '{}'", o.weight_type));
  const auto& tt = ggml_type_traits(*wt);
  for (auto& t : layout) {
    if (t.ne.size() < 2 || t.name.find("ffn_gate_inp") != std::string::npos) continue;
    if (t.ne[0] % tt.block_size != 0)
      usage(fmt::format("--weight-type {}: tensor '{}' has rows of {} elements, not a multiple of the block size {}", tt.name,
                        t.name, t.ne[0], tt.block_size));
    t.type = *wt;
  }
  return layout;
}

void list_presets() {
  fmt::print("{:<18} {:<10} {:>6} {:>6} {:>7} {:>6} {:>4} {:>7}\n", "preset", "arch", "layers", "embd", "ff", "heads", "kv", "vocab");
  for (const auto& p : model_presets())
    fmt::print("{:<18} {:<10} {:>6} {:>6} {:>7} {:>6} {:>4} {:>7}\n", p.name, p.hp.arch, p.hp.n_layer, p.hp.n_embd,
               p.hp.n_ff.empty() ? 0 : p.hp.n_ff[0], p.hp.n_head[0], p.hp.n_head_kv[0], p.hp.n_vocab);
}

int run_generate(const ShapeOptions& o, bool with_data) {
  if (o.list_presets) {
    list_presets();
    return kExitOk;
  }
  if (o.output.empty()) usage("-o/--output is required");
  auto ft = file_type_from_name(o.file_type);
  if (!ft) {
    std::string names;
    for (const auto& n : file_type_names()) names += fmt::format("{}{}", names.empty() ? "" : ", ", n);
    usage(fmt::format("--type: unknown file type '{}'; expected one of: {}", o.file_type, names));
  }
  std::string display;
  const ModelPreset* preset = nullptr;
  const HParams hp = resolve_shape(o, display, preset);
  const std::vector<TensorSpec> layout = resolve_layout(hp, o, *ft);

  GgufWriter w;
  std::string name = o.name.empty() ? (display.empty() ? hp.arch : display) : o.name;
  if (o.name.empty()) name += with_data ? " (random weights)" : " (skeleton)";
  write_model_metadata(w, hp, *ft, name);
  // Skeletons carry the tokenizer kind but not the vocabulary itself, which keeps them small.
  if (preset && !preset->tokenizer_model.empty()) {
    w.set_string("tokenizer.ggml.model", preset->tokenizer_model);
    w.set_string("tokenizer.ggml.pre", preset->tokenizer_pre);
  }
  for (const auto& t : layout) w.add_tensor(t.name, t.ne, t.type);

  const auto start = std::chrono::steady_clock::now();
  if (with_data && stderr_is_terminal()) {
    w.set_progress([last = std::chrono::steady_clock::time_point{}](uint64_t done, uint64_t total) mutable {
      const auto now = std::chrono::steady_clock::now();
      if (done < total && now - last < std::chrono::milliseconds(100)) return;
      last = now;
      fmt::print(stderr, "\rwriting {} / {} ({:.0f}%)", format_gib(done), format_gib(total), 100.0 * done / std::max<uint64_t>(total, 1));
      if (done >= total) fmt::print(stderr, "\n");
    });
  }
  w.write(o.output, with_data ? GgufWriter::Fill::Random : GgufWriter::Fill::None, o.seed);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (stderr_is_terminal() || !with_data)
    fmt::print(stderr, "{}: {} '{}', {} tensors, data {}{}\n", o.output, with_data ? "random-weight model" : "skeleton", name,
               layout.size(), format_gib(w.data_bytes()),
               with_data ? fmt::format(" written in {:.1f} s ({:.2f} GB/s)", secs, w.data_bytes() / secs / 1e9) : "");
  return kExitOk;
}

}  // namespace

void register_generate(CLI::App& app, int& exit_code) {
  auto skel = std::make_shared<ShapeOptions>();
  CLI::App* s = app.add_subcommand("skeleton", "Write a header-only GGUF (no tensor data) of a model shape");
  add_shape_options(s, *skel);
  s->callback([skel, &exit_code] { exit_code = run_generate(*skel, false); });

  auto synth = std::make_shared<ShapeOptions>();
  CLI::App* r = app.add_subcommand("synth", "Write a GGUF of a model shape with random quantized weights");
  add_shape_options(r, *synth);
  r->add_option("--seed", synth->seed, "Random seed")->capture_default_str();
  r->callback([synth, &exit_code] { exit_code = run_generate(*synth, true); });
}

}  // namespace llmc::cli
