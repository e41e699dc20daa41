#include "llmc/model_presets.h"

namespace llmc {
namespace {

struct Shape {
  std::string_view name, display, arch;
  uint32_t layers, embd, ff, heads, kv_heads, head_dim, vocab, ctx;
  float rope_base, eps;
  bool tied;
  uint32_t sliding_window = 0;
  uint32_t experts = 0, experts_used = 0, ff_expert = 0;
  std::string_view rope_scaling = "none";
  float rope_factor = 1.0f;
};

HParams to_hparams(const Shape& s) {
  HParams hp;
  hp.arch = std::string(s.arch);
  hp.n_layer = s.layers;
  hp.n_embd = s.embd;
  hp.n_vocab = s.vocab;
  hp.n_ctx_train = s.ctx;
  hp.n_head.assign(s.layers, s.heads);
  hp.n_head_kv.assign(s.layers, s.kv_heads);
  hp.n_ff.assign(s.layers, s.ff);
  hp.head_dim_k = hp.head_dim_v = s.head_dim;
  hp.rope_dim = s.head_dim;
  hp.rope_freq_base = s.rope_base;
  hp.rms_eps = s.eps;
  hp.tied_output = s.tied;
  hp.sliding_window = s.sliding_window;
  hp.n_expert = s.experts;
  hp.n_expert_used = s.experts_used;
  hp.n_ff_expert = s.ff_expert;
  hp.rope_scaling = std::string(s.rope_scaling);
  hp.rope_scaling_factor = s.rope_factor;
  return hp;
}

// name, display, arch, layers, embd, ff, heads, kv heads, head dim, vocab, train ctx, rope base, eps, tied
const Shape kShapes[] = {
    {"llama-2-7b", "Llama 2 7B", "llama", 32, 4096, 11008, 32, 32, 128, 32000, 4096, 10000.f, 1e-5f, false},
    {"llama-2-13b", "Llama 2 13B", "llama", 40, 5120, 13824, 40, 40, 128, 32000, 4096, 10000.f, 1e-5f, false},
    {"llama-2-70b", "Llama 2 70B", "llama", 80, 8192, 28672, 64, 8, 128, 32000, 4096, 10000.f, 1e-5f, false},
    {"llama-3-8b", "Llama 3 8B", "llama", 32, 4096, 14336, 32, 8, 128, 128256, 8192, 500000.f, 1e-5f, false},
    {"llama-3.1-8b", "Llama 3.1 8B Instruct", "llama", 32, 4096, 14336, 32, 8, 128, 128256, 131072, 500000.f, 1e-5f, false},
    {"llama-3.2-1b", "Llama 3.2 1B Instruct", "llama", 16, 2048, 8192, 32, 8, 64, 128256, 131072, 500000.f, 1e-5f, true},
    {"llama-3.2-3b", "Llama 3.2 3B Instruct", "llama", 28, 3072, 8192, 24, 8, 128, 128256, 131072, 500000.f, 1e-5f, true},
    {"llama-3.3-70b", "Llama 3.3 70B Instruct", "llama", 80, 8192, 28672, 64, 8, 128, 128256, 131072, 500000.f, 1e-5f, false},
    {"mistral-7b", "Mistral 7B Instruct v0.3", "llama", 32, 4096, 14336, 32, 8, 128, 32768, 32768, 1000000.f, 1e-5f, false},
    {"qwen2.5-0.5b", "Qwen2.5 0.5B Instruct", "qwen2", 24, 896, 4864, 14, 2, 64, 151936, 32768, 1000000.f, 1e-6f, true},
    {"qwen2.5-7b", "Qwen2.5 7B Instruct", "qwen2", 28, 3584, 18944, 28, 4, 128, 152064, 32768, 1000000.f, 1e-6f, false},
    {"qwen2.5-14b", "Qwen2.5 14B Instruct", "qwen2", 48, 5120, 13824, 40, 8, 128, 152064, 32768, 1000000.f, 1e-6f, false},
    {"qwen2.5-32b", "Qwen2.5 32B Instruct", "qwen2", 64, 5120, 27648, 40, 8, 128, 152064, 32768, 1000000.f, 1e-6f, false},
    {"qwen2.5-72b", "Qwen2.5 72B Instruct", "qwen2", 80, 8192, 29568, 64, 8, 128, 152064, 32768, 1000000.f, 1e-6f, false},
    {"deepseek-r1-1.5b", "DeepSeek R1 Distill Qwen 1.5B", "qwen2", 28, 1536, 8960, 12, 2, 128, 151936, 131072, 10000.f, 1e-6f, false},
    {"deepseek-r1-7b", "DeepSeek R1 Distill Qwen 7B", "qwen2", 28, 3584, 18944, 28, 4, 128, 152064, 131072, 10000.f, 1e-6f, false},
    {"deepseek-r1-14b", "DeepSeek R1 Distill Qwen 14B", "qwen2", 48, 5120, 13824, 40, 8, 128, 152064, 131072, 1000000.f, 1e-5f, false},
    {"qwen3-0.6b", "Qwen3 0.6B", "qwen3", 28, 1024, 3072, 16, 8, 128, 151936, 40960, 1000000.f, 1e-6f, true},
    {"qwen3-1.7b", "Qwen3 1.7B", "qwen3", 28, 2048, 6144, 16, 8, 128, 151936, 40960, 1000000.f, 1e-6f, true},
    {"qwen3-4b", "Qwen3 4B", "qwen3", 36, 2560, 9728, 32, 8, 128, 151936, 40960, 1000000.f, 1e-6f, true},
    {"qwen3-8b", "Qwen3 8B", "qwen3", 36, 4096, 12288, 32, 8, 128, 151936, 40960, 1000000.f, 1e-6f, false},
    {"qwen3-14b", "Qwen3 14B", "qwen3", 40, 5120, 17408, 40, 8, 128, 151936, 40960, 1000000.f, 1e-6f, false},
    {"qwen3-32b", "Qwen3 32B", "qwen3", 64, 5120, 25600, 64, 8, 128, 151936, 40960, 1000000.f, 1e-6f, false},
    {"gemma3-270m", "Gemma 3 270M", "gemma3", 18, 640, 2048, 4, 1, 256, 262144, 32768, 1000000.f, 1e-6f, true, 512},
    {"gemma3-1b", "Gemma 3 1B", "gemma3", 26, 1152, 6912, 4, 1, 256, 262144, 32768, 1000000.f, 1e-6f, true, 512},
    {"gemma3-4b", "Gemma 3 4B", "gemma3", 34, 2560, 10240, 8, 4, 256, 262208, 131072, 1000000.f, 1e-6f, true, 1024},
    {"gemma3-12b", "Gemma 3 12B", "gemma3", 48, 3840, 15360, 16, 8, 256, 262208, 131072, 1000000.f, 1e-6f, true, 1024},
    {"gemma3-27b", "Gemma 3 27B", "gemma3", 62, 5376, 21504, 32, 16, 128, 262208, 131072, 1000000.f, 1e-6f, true, 1024},
    {"qwen3-30b-a3b", "Qwen3 30B A3B", "qwen3moe", 48, 2048, 0, 32, 4, 128, 151936, 40960, 1000000.f, 1e-6f, false, 0,
     128, 8, 768},
    {"gpt-oss-20b", "gpt-oss 20B", "gpt-oss", 24, 2880, 0, 64, 8, 64, 201088, 131072, 150000.f, 1e-5f, false, 128, 32, 4,
     2880, "yarn", 32.f},
    {"gpt-oss-120b", "gpt-oss 120B", "gpt-oss", 36, 2880, 0, 64, 8, 64, 201088, 131072, 150000.f, 1e-5f, false, 128, 128,
     4, 2880, "yarn", 32.f},
};

// Tokenizer family by model family, as their GGUF conversions record it.
std::pair<std::string_view, std::string_view> tokenizer_of(const Shape& s) {
  const std::string_view n = s.name;
  if (n.starts_with("llama-2") || n.starts_with("mistral")) return {"llama", "default"};
  if (n.starts_with("llama-3")) return {"gpt2", "llama-bpe"};
  if (n.starts_with("qwen") || n.starts_with("deepseek-r1")) return {"gpt2", n.starts_with("deepseek") ? "deepseek-r1-qwen" : "qwen2"};
  if (n.starts_with("gemma3")) return {"llama", "default"};
  if (n.starts_with("gpt-oss")) return {"gpt2", "gpt-4o"};
  return {"", ""};
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = [] {
    std::vector<ModelPreset> v;
    for (const auto& s : kShapes) {
      const auto [model, pre] = tokenizer_of(s);
      v.push_back({s.name, s.display, to_hparams(s), model, pre});
    }
    return v;
  }();
  return presets;
}

const ModelPreset* find_model_preset(std::string_view name) {
  for (const auto& p : model_presets())
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace llmc
