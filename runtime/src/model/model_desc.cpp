#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "llmc/model.h"

namespace llmc {
namespace {

struct ArchTraits {
  std::string_view name;
  RopeType rope;
  // Sliding-window layer pattern: every `swa_period`-th layer (1-based) is global, the others
  // use the window; 0 when the architecture has no sliding window.
  uint32_t swa_period;
};

// gemma3: five local layers then one global; gpt-oss alternates (even layers local).
constexpr ArchTraits kArchs[] = {
    {"llama", RopeType::Norm, 0},  {"mistral", RopeType::Norm, 0}, {"qwen2", RopeType::Neox, 0},
    {"qwen3", RopeType::Neox, 0},  {"qwen3moe", RopeType::Neox, 0}, {"gemma3", RopeType::Neox, 6},
    {"gpt-oss", RopeType::Neox, 2},
};

const ArchTraits* find_arch(std::string_view a) {
  for (const auto& t : kArchs)
    if (t.name == a) return &t;
  return nullptr;
}

class MetaReader {
 public:
  MetaReader(const GgufFile& f, std::string_view arch, bool lenient) : f_(f), arch_(arch), lenient_(lenient) {}

  std::string key(std::string_view suffix) const { return fmt::format("{}.{}", arch_, suffix); }

  uint32_t required_u32(std::string_view suffix) const {
    const std::string k = key(suffix);
    auto v = f_.get_u64(k);
    if (!v) {
      if (lenient_) return 0;
      throw GgufError(GgufErrorKind::MissingKey, fmt::format("{}: missing metadata key '{}'", f_.path(), k));
    }
    return checked_u32(k, *v);
  }
  std::optional<uint32_t> optional_u32(std::string_view suffix) const {
    const std::string k = key(suffix);
    auto v = f_.get_u64(k);
    if (!v) return std::nullopt;
    return checked_u32(k, *v);
  }
  std::optional<float> optional_f32(std::string_view suffix) const {
    auto v = f_.get_f64(key(suffix));
    if (!v) return std::nullopt;
    return static_cast<float>(*v);
  }

  // A key that may be a scalar (same for every layer) or an array with one entry per layer.
  std::vector<uint32_t> per_layer(std::string_view suffix, uint32_t n_layer, std::optional<uint32_t> fallback) const {
    const std::string k = key(suffix);
    const GgufValue* v = f_.find(k);
    if (!v) {
      if (!fallback && lenient_) return std::vector<uint32_t>(n_layer, 0);
      if (!fallback) throw GgufError(GgufErrorKind::MissingKey, fmt::format("{}: missing metadata key '{}'", f_.path(), k));
      return std::vector<uint32_t>(n_layer, *fallback);
    }
    if (v->type() == GgufValueType::Array) {
      if (v->array_size() != n_layer)
        throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: metadata key '{}' has {} entries; expected one per layer ({})",
                                                               f_.path(), k, v->array_size(), n_layer));
      if (v->array_type() == GgufValueType::String || v->array_type() == GgufValueType::F32 ||
          v->array_type() == GgufValueType::F64 || v->array_type() == GgufValueType::Bool)
        throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: metadata key '{}' is an array of {}; expected integers",
                                                               f_.path(), k, gguf_value_type_name(v->array_type())));
      std::vector<uint32_t> out(n_layer);
      for (uint32_t i = 0; i < n_layer; ++i) {
        const int64_t x = v->array_int(i);
        if (x < 0 || x > UINT32_MAX)
          throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: metadata key '{}'[{}] = {} is out of range", f_.path(), k, i, x));
        out[i] = static_cast<uint32_t>(x);
      }
      return out;
    }
    return std::vector<uint32_t>(n_layer, checked_u32(k, v->as_u64(fmt::format("{}: metadata key '{}'", f_.path(), k))));
  }

 private:
  uint32_t checked_u32(const std::string& k, uint64_t v) const {
    if (v > UINT32_MAX)
      throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: metadata key '{}' = {} is out of range", f_.path(), k, v));
    return static_cast<uint32_t>(v);
  }
  const GgufFile& f_;
  std::string_view arch_;
  bool lenient_;
};

// "blk.12.attn_q.weight" -> 12; nullopt for tensors outside the repeating blocks.
std::optional<uint32_t> layer_of(std::string_view name) {
  if (!name.starts_with("blk.")) return std::nullopt;
  name.remove_prefix(4);
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec != std::errc() || p == name.data() || p == name.data() + name.size() || *p != '.') return std::nullopt;
  return n;
}

uint64_t kv_row_bytes(GgmlType t, uint64_t n) {
  const auto& tt = ggml_type_traits(t);
  return (n + tt.block_size - 1) / tt.block_size * tt.type_size;
}

}  // namespace

std::string_view rope_type_name(RopeType r) {
  switch (r) {
    case RopeType::None: return "none";
    case RopeType::Norm: return "norm";
    case RopeType::Neox: return "neox";
  }
  return "?";
}

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& a : kArchs) v.emplace_back(a.name);
    return v;
  }();
  return names;
}

uint32_t HParams::max_head() const { return n_head.empty() ? 0 : *std::max_element(n_head.begin(), n_head.end()); }
uint32_t HParams::max_head_kv() const {
  return n_head_kv.empty() ? 0 : *std::max_element(n_head_kv.begin(), n_head_kv.end());
}
uint32_t HParams::max_ff() const { return n_ff.empty() ? 0 : *std::max_element(n_ff.begin(), n_ff.end()); }

ModelDesc ModelDesc::from_gguf(const GgufFile& f, bool lenient) {
  ModelDesc m;
  m.file_ = &f;
  auto arch = f.get_string("general.architecture");
  if (!arch) throw GgufError(GgufErrorKind::MissingKey, fmt::format("{}: missing metadata key 'general.architecture'", f.path()));
  const ArchTraits* at = find_arch(*arch);
  static constexpr ArchTraits kGeneric{"", RopeType::Norm, 0};
  m.supported_ = at != nullptr;
  if (!at && lenient) at = &kGeneric;
  if (!at)
    throw GgufError(GgufErrorKind::Unsupported,
                    fmt::format("{}: general.architecture '{}' is not supported; expected one of: {}", f.path(), *arch,
                                fmt::join(supported_architectures(), ", ")));
  HParams& hp = m.hp_;
  hp.arch = std::string(*arch);
  m.name_ = std::string(f.get_string("general.name").value_or(""));

  MetaReader r(f, hp.arch, lenient);
  hp.n_layer = r.required_u32("block_count");
  if ((hp.n_layer == 0 && !lenient) || hp.n_layer > 4096)
    throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: {}.block_count is {}; expected 1 to 4096", f.path(), hp.arch, hp.n_layer));
  hp.n_embd = r.required_u32("embedding_length");
  if (hp.n_embd == 0 && !lenient)
    throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: {}.embedding_length is 0", f.path(), hp.arch));
  hp.n_ctx_train = r.optional_u32("context_length").value_or(0);
  hp.n_head = r.per_layer("attention.head_count", hp.n_layer, std::nullopt);
  hp.n_head_kv = r.per_layer("attention.head_count_kv", hp.n_layer, hp.max_head());
  hp.n_expert = r.optional_u32("expert_count").value_or(0);
  hp.n_expert_used = r.optional_u32("expert_used_count").value_or(0);
  hp.n_ff_expert = r.optional_u32("expert_feed_forward_length").value_or(0);
  hp.n_ff = r.per_layer("feed_forward_length", hp.n_layer, hp.n_expert ? std::optional<uint32_t>(0) : std::nullopt);
  const uint32_t nh = hp.max_head();
  if (nh == 0 && !lenient)
    throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: {}.attention.head_count is 0", f.path(), hp.arch));
  hp.head_dim_k = r.optional_u32("attention.key_length").value_or(nh ? hp.n_embd / nh : 0);
  hp.head_dim_v = r.optional_u32("attention.value_length").value_or(nh ? hp.n_embd / nh : 0);
  hp.rms_eps = r.optional_f32("attention.layer_norm_rms_epsilon").value_or(1e-5f);
  hp.rope_type = at->rope;
  hp.rope_dim = r.optional_u32("rope.dimension_count").value_or(hp.head_dim_k);
  hp.rope_freq_base = r.optional_f32("rope.freq_base").value_or(10000.0f);
  hp.rope_scaling = std::string(f.get_string(r.key("rope.scaling.type")).value_or("none"));
  hp.rope_scaling_factor = r.optional_f32("rope.scaling.factor").value_or(1.0f);
  hp.sliding_window = r.optional_u32("attention.sliding_window").value_or(0);
  hp.layer_is_swa.assign(hp.n_layer, false);
  if (hp.sliding_window > 0 && at->swa_period > 0) {
    for (uint32_t i = 0; i < hp.n_layer; ++i) hp.layer_is_swa[i] = (i + 1) % at->swa_period != 0;
  }

  // Vocabulary: the tokenizer's token list, else <arch>.vocab_size (skeletons), else the
  // embedding matrix.
  if (const GgufValue* toks = f.find("tokenizer.ggml.tokens"); toks && toks->type() == GgufValueType::Array)
    hp.n_vocab = static_cast<uint32_t>(std::min<uint64_t>(toks->array_size(), UINT32_MAX));
  else if (auto vs = r.optional_u32("vocab_size"))
    hp.n_vocab = *vs;
  else if (const GgufTensorInfo* te = f.find_tensor("token_embd.weight"); te && te->n_dims >= 2)
    hp.n_vocab = static_cast<uint32_t>(std::min<uint64_t>(te->ne[1], UINT32_MAX));

  // Tensors by layer.
  m.layers_.resize(hp.n_layer);
  for (uint32_t i = 0; i < hp.n_layer; ++i) m.layers_[i].index = i;
  uint64_t main_bytes = 0;
  std::map<GgmlType, uint64_t> matrix_bytes;
  for (const GgufTensorInfo& t : f.tensors()) {
    m.n_params_ += t.n_elements;
    m.data_bytes_ += t.n_bytes;
    m.bytes_by_type_[t.type] += t.n_bytes;
    if (t.n_dims >= 2) matrix_bytes[t.type] += t.n_bytes;
    if (auto li = layer_of(t.name); li && !(lenient && *li >= hp.n_layer)) {
      if (*li >= hp.n_layer)
        throw GgufError(GgufErrorKind::BadTensor, fmt::format("{}: tensor '{}' belongs to layer {} but {}.block_count is {}",
                                                              f.path(), t.name, *li, hp.arch, hp.n_layer));
      LayerDesc& l = m.layers_[*li];
      l.tensors.push_back(&t);
      l.bytes += t.n_bytes;
      if (t.name.find("_exps.") != std::string_view::npos) l.expert_bytes += t.n_bytes;
    } else {
      m.global_.push_back(&t);
    }
  }
  for (const auto& [type, bytes] : matrix_bytes)
    if (bytes > main_bytes) {
      main_bytes = bytes;
      m.main_type_ = type;
    }
  hp.tied_output = !f.tensors().empty() && f.find_tensor("output.weight") == nullptr;
  return m;
}

uint64_t ModelDesc::kv_bytes_per_token_layer(uint32_t layer, GgmlType k_type, GgmlType v_type) const {
  const uint64_t kv_heads = hp_.n_head_kv.at(layer);
  return kv_row_bytes(k_type, kv_heads * hp_.head_dim_k) + kv_row_bytes(v_type, kv_heads * hp_.head_dim_v);
}

uint64_t ModelDesc::kv_bytes_per_token(GgmlType k_type, GgmlType v_type) const {
  uint64_t total = 0;
  for (uint32_t i = 0; i < hp_.n_layer; ++i) total += kv_bytes_per_token_layer(i, k_type, v_type);
  return total;
}

uint64_t ModelDesc::kv_bytes_per_token_full_layers(GgmlType k_type, GgmlType v_type) const {
  uint64_t total = 0;
  for (uint32_t i = 0; i < hp_.n_layer; ++i)
    if (!hp_.layer_is_swa[i]) total += kv_bytes_per_token_layer(i, k_type, v_type);
  return total;
}

std::string ModelDesc::tokenizer_model() const {
  const GgufValue* v = file_->find("tokenizer.ggml.model");
  return v && v->type() == GgufValueType::String ? std::string(v->as_string("")) : std::string();
}

std::string ModelDesc::tokenizer_pre() const {
  const GgufValue* v = file_->find("tokenizer.ggml.pre");
  return v && v->type() == GgufValueType::String ? std::string(v->as_string("")) : std::string();
}

}  // namespace llmc
