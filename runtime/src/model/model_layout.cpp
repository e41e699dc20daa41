#include "llmc/model_layout.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace llmc {
namespace {

struct FileTypeName {
  FileType type;
  std::string_view name;
};
constexpr FileTypeName kFileTypes[] = {
    {FileType::F32, "F32"},       {FileType::F16, "F16"},       {FileType::BF16, "BF16"},     {FileType::Q4_0, "Q4_0"},
    {FileType::Q4_1, "Q4_1"},     {FileType::Q5_0, "Q5_0"},     {FileType::Q5_1, "Q5_1"},     {FileType::Q8_0, "Q8_0"},
    {FileType::Q2_K, "Q2_K"},     {FileType::Q3_K_S, "Q3_K_S"}, {FileType::Q3_K_M, "Q3_K_M"}, {FileType::Q3_K_L, "Q3_K_L"},
    {FileType::Q4_K_S, "Q4_K_S"}, {FileType::Q4_K_M, "Q4_K_M"}, {FileType::Q5_K_S, "Q5_K_S"}, {FileType::Q5_K_M, "Q5_K_M"},
    {FileType::Q6_K, "Q6_K"},     {FileType::IQ4_NL, "IQ4_NL"}, {FileType::IQ4_XS, "IQ4_XS"}, {FileType::MXFP4_MOE, "MXFP4_MOE"},
};

// Names of llama_ftype ids that llmc does not generate but may meet in files.
constexpr std::pair<uint32_t, std::string_view> kOtherFileTypes[] = {
    {19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"},
    {26, "IQ3_S"},   {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},  {31, "IQ1_M"},   {36, "TQ1_0"}, {37, "TQ2_0"},
};

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

GgmlType base_type(FileType f) {
  switch (f) {
    case FileType::F32: return GgmlType::F32;
    case FileType::F16: return GgmlType::F16;
    case FileType::BF16: return GgmlType::BF16;
    case FileType::Q4_0: return GgmlType::Q4_0;
    case FileType::Q4_1: return GgmlType::Q4_1;
    case FileType::Q5_0: return GgmlType::Q5_0;
    case FileType::Q5_1: return GgmlType::Q5_1;
    case FileType::Q8_0: return GgmlType::Q8_0;
    case FileType::Q2_K: return GgmlType::Q2_K;
    case FileType::Q3_K_S:
    case FileType::Q3_K_M:
    case FileType::Q3_K_L: return GgmlType::Q3_K;
    case FileType::Q4_K_S:
    case FileType::Q4_K_M: return GgmlType::Q4_K;
    case FileType::Q5_K_S:
    case FileType::Q5_K_M: return GgmlType::Q5_K;
    case FileType::Q6_K: return GgmlType::Q6_K;
    case FileType::IQ4_NL: return GgmlType::IQ4_NL;
    case FileType::IQ4_XS: return GgmlType::IQ4_XS;
    case FileType::MXFP4_MOE: return GgmlType::Q8_0;
  }
  return GgmlType::F32;
}

// llama.cpp spends extra bits on the first and last eighth of the layers and every third in between.
bool use_more_bits(uint32_t i, uint32_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool is_k_or_iq(GgmlType t) { return ggml_type_traits(t).block_size == 256; }

// Rows that are not a multiple of 256 cannot hold K-quant super-blocks; llama.cpp falls back.
GgmlType fallback_for_row(GgmlType t, uint64_t ne0) {
  if (!is_k_or_iq(t) || ne0 % 256 == 0) return t;
  switch (t) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::IQ4_XS: return GgmlType::IQ4_NL;
    case GgmlType::Q4_K: return GgmlType::Q5_0;
    case GgmlType::Q5_K: return GgmlType::Q5_1;
    case GgmlType::Q6_K: return GgmlType::Q8_0;
    default: return GgmlType::Q8_0;
  }
}

enum class Role { Embedding, Output, AttnQ, AttnK, AttnV, AttnOut, FfnGate, FfnUp, FfnDown, Experts, ExpertsDown, Router };

GgmlType pick_type(FileType f, Role role, uint32_t layer, const HParams& hp) {
  const GgmlType base = base_type(f);
  const bool float_file = f == FileType::F32 || f == FileType::F16 || f == FileType::BF16;
  if (float_file) return base;
  const uint32_t n = hp.n_layer;
  switch (role) {
    case Role::Embedding:
      if (f == FileType::MXFP4_MOE) return GgmlType::Q8_0;
      return hp.tied_output && base != GgmlType::Q8_0 ? GgmlType::Q6_K : base;
    case Role::Output: return base == GgmlType::Q8_0 ? GgmlType::Q8_0 : GgmlType::Q6_K;
    case Role::Router: return GgmlType::F32;
    case Role::AttnV: {
      GgmlType t = base;
      if (f == FileType::Q2_K) t = hp.max_head() >= 4 * std::max<uint32_t>(1, hp.max_head_kv()) ? GgmlType::Q4_K : GgmlType::Q3_K;
      else if (f == FileType::Q3_K_M) t = layer < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
      else if (f == FileType::Q3_K_L) t = GgmlType::Q5_K;
      else if ((f == FileType::Q4_K_M || f == FileType::Q5_K_M) && use_more_bits(layer, n)) t = GgmlType::Q6_K;
      else if (f == FileType::Q4_K_S && layer < 4) t = GgmlType::Q5_K;
      // With eight or more query heads per KV head attn_v is small; llama.cpp upgrades it.
      if (hp.max_head() >= 8 * std::max<uint32_t>(1, hp.max_head_kv()) && (t == GgmlType::Q3_K || t == GgmlType::Q4_K))
        t = GgmlType::Q5_K;
      return t;
    }
    case Role::FfnDown:
    case Role::ExpertsDown:
      if (f == FileType::MXFP4_MOE) return role == Role::ExpertsDown ? GgmlType::MXFP4 : GgmlType::Q8_0;
      if (f == FileType::Q2_K) return GgmlType::Q3_K;
      if (f == FileType::Q3_K_M) return layer < n / 16 ? GgmlType::Q5_K : use_more_bits(layer, n) ? GgmlType::Q4_K : GgmlType::Q3_K;
      if (f == FileType::Q3_K_L) return GgmlType::Q5_K;
      if ((f == FileType::Q4_K_M || f == FileType::Q5_K_M) && use_more_bits(layer, n)) return GgmlType::Q6_K;
      if (f == FileType::Q4_K_S && layer < n / 8) return GgmlType::Q5_K;
      return base;
    case Role::AttnOut:
      if (f == FileType::Q2_K) return GgmlType::Q3_K;
      if (f == FileType::Q3_K_M) return GgmlType::Q4_K;
      if (f == FileType::Q3_K_L) return GgmlType::Q5_K;
      return base;
    case Role::Experts: return f == FileType::MXFP4_MOE ? GgmlType::MXFP4 : base;
    default: return base;
  }
}

}  // namespace

std::optional<FileType> file_type_from_name(std::string_view name) {
  const std::string u = upper(name);
  for (const auto& f : kFileTypes)
    if (f.name == u) return f.type;
  return std::nullopt;
}

std::string file_type_name(FileType t) {
  for (const auto& f : kFileTypes)
    if (f.type == t) return std::string(f.name);
  return "?";
}

std::string file_type_name_from_id(uint64_t id) {
  for (const auto& f : kFileTypes)
    if (static_cast<uint64_t>(f.type) == id) return std::string(f.name);
  for (const auto& [i, n] : kOtherFileTypes)
    if (i == id) return std::string(n);
  return "";
}

std::vector<std::string> file_type_names() {
  std::vector<std::string> v;
  for (const auto& f : kFileTypes) v.emplace_back(f.name);
  return v;
}

std::vector<TensorSpec> tensor_layout(const HParams& hp, FileType f) {
  std::vector<TensorSpec> out;
  auto add = [&](std::string name, std::vector<uint64_t> ne, GgmlType t) {
    if (ne.size() >= 2) t = fallback_for_row(t, ne[0]);
    out.push_back({std::move(name), std::move(ne), t});
  };
  auto matrix = [&](std::string name, uint64_t in, uint64_t outn, Role role, uint32_t layer) {
    add(std::move(name), {in, outn}, pick_type(f, role, layer, hp));
  };
  const uint64_t E = hp.n_embd, V = hp.n_vocab;
  const bool qkv_bias = hp.arch == "qwen2" || hp.arch == "gpt-oss";
  const bool qk_norm = hp.arch == "qwen3" || hp.arch == "qwen3moe" || hp.arch == "gemma3";
  const bool sandwich_norms = hp.arch == "gemma3";
  const bool moe = hp.n_expert > 0;

  matrix("token_embd.weight", E, V, Role::Embedding, 0);
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = fmt::format("blk.{}.", i);
    const uint64_t q = uint64_t{hp.n_head[i]} * hp.head_dim_k;
    const uint64_t k = uint64_t{hp.n_head_kv[i]} * hp.head_dim_k;
    const uint64_t v = uint64_t{hp.n_head_kv[i]} * hp.head_dim_v;
    const uint64_t o = uint64_t{hp.n_head[i]} * hp.head_dim_v;
    add(p + "attn_norm.weight", {E}, GgmlType::F32);
    matrix(p + "attn_q.weight", E, q, Role::AttnQ, i);
    matrix(p + "attn_k.weight", E, k, Role::AttnK, i);
    matrix(p + "attn_v.weight", E, v, Role::AttnV, i);
    if (qkv_bias) {
      add(p + "attn_q.bias", {q}, GgmlType::F32);
      add(p + "attn_k.bias", {k}, GgmlType::F32);
      add(p + "attn_v.bias", {v}, GgmlType::F32);
    }
    if (qk_norm) {
      add(p + "attn_q_norm.weight", {hp.head_dim_k}, GgmlType::F32);
      add(p + "attn_k_norm.weight", {hp.head_dim_k}, GgmlType::F32);
    }
    matrix(p + "attn_output.weight", o, E, Role::AttnOut, i);
    if (hp.arch == "gpt-oss") {
      add(p + "attn_output.bias", {E}, GgmlType::F32);
      add(p + "attn_sinks.weight", {hp.n_head[i]}, GgmlType::F32);
    }
    if (sandwich_norms) add(p + "post_attention_norm.weight", {E}, GgmlType::F32);
    add(p + (hp.arch == "gpt-oss" ? "post_attention_norm.weight" : "ffn_norm.weight"), {E}, GgmlType::F32);
    if (moe) {
      const uint64_t F = hp.n_ff_expert, X = hp.n_expert;
      add(p + "ffn_gate_inp.weight", {E, X}, pick_type(f, Role::Router, i, hp));
      if (hp.arch == "gpt-oss") add(p + "ffn_gate_inp.bias", {X}, GgmlType::F32);
      add(p + "ffn_gate_exps.weight", {E, F, X}, fallback_for_row(pick_type(f, Role::Experts, i, hp), E));
      add(p + "ffn_up_exps.weight", {E, F, X}, fallback_for_row(pick_type(f, Role::Experts, i, hp), E));
      add(p + "ffn_down_exps.weight", {F, E, X}, fallback_for_row(pick_type(f, Role::ExpertsDown, i, hp), F));
      if (hp.arch == "gpt-oss") {
        add(p + "ffn_gate_exps.bias", {F, X}, GgmlType::F32);
        add(p + "ffn_up_exps.bias", {F, X}, GgmlType::F32);
        add(p + "ffn_down_exps.bias", {E, X}, GgmlType::F32);
      }
    } else {
      const uint64_t F = hp.n_ff[i];
      matrix(p + "ffn_gate.weight", E, F, Role::FfnGate, i);
      matrix(p + "ffn_up.weight", E, F, Role::FfnUp, i);
      matrix(p + "ffn_down.weight", F, E, Role::FfnDown, i);
    }
    if (sandwich_norms) add(p + "post_ffw_norm.weight", {E}, GgmlType::F32);
  }
  add("output_norm.weight", {E}, GgmlType::F32);
  if (!hp.tied_output) matrix("output.weight", E, V, Role::Output, 0);
  return out;
}

void write_model_metadata(GgufWriter& w, const HParams& hp, FileType ftype, std::string_view name) {
  const std::string& a = hp.arch;
  auto key = [&](std::string_view s) { return fmt::format("{}.{}", a, s); };
  auto per_layer = [&](std::string_view k, const std::vector<uint32_t>& v) {
    if (std::all_of(v.begin(), v.end(), [&](uint32_t x) { return x == v.front(); }))
      w.set_u32(key(k), v.front());
    else
      w.set_array_u32(key(k), v);
  };
  w.set_string("general.architecture", a);
  w.set_string("general.name", name);
  w.set_u32("general.file_type", static_cast<uint32_t>(ftype));
  w.set_u32("general.quantization_version", 2);
  w.set_u32(key("block_count"), hp.n_layer);
  w.set_u32(key("context_length"), hp.n_ctx_train);
  w.set_u32(key("embedding_length"), hp.n_embd);
  if (hp.n_expert == 0) per_layer("feed_forward_length", hp.n_ff);
  per_layer("attention.head_count", hp.n_head);
  per_layer("attention.head_count_kv", hp.n_head_kv);
  w.set_u32(key("attention.key_length"), hp.head_dim_k);
  w.set_u32(key("attention.value_length"), hp.head_dim_v);
  w.set_f32(key("attention.layer_norm_rms_epsilon"), hp.rms_eps);
  w.set_f32(key("rope.freq_base"), hp.rope_freq_base);
  w.set_u32(key("rope.dimension_count"), hp.rope_dim);
  if (hp.rope_scaling != "none" && !hp.rope_scaling.empty()) {
    w.set_string(key("rope.scaling.type"), hp.rope_scaling);
    w.set_f32(key("rope.scaling.factor"), hp.rope_scaling_factor);
  }
  if (hp.sliding_window) w.set_u32(key("attention.sliding_window"), hp.sliding_window);
  if (hp.n_expert) {
    w.set_u32(key("expert_count"), hp.n_expert);
    w.set_u32(key("expert_used_count"), hp.n_expert_used);
    w.set_u32(key("expert_feed_forward_length"), hp.n_ff_expert);
  }
  w.set_u32(key("vocab_size"), hp.n_vocab);
}

}  // namespace llmc
