#include "decoder_weights.h"

#include <algorithm>

#include <fmt/format.h>

#include "llmc/forward.h"
#include "llmc/quants.h"

namespace llmc::exec {
namespace {

std::string shape_string(const GgufTensorInfo& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) s += fmt::format("{}{}", d ? ", " : "", t.ne[d]);
  return s + "]";
}

std::string kernel_type_names() {
  std::string names;
  for (GgmlType t : cpu_kernel_types()) names += fmt::format("{}{}", names.empty() ? "" : ", ", ggml_type_name(t));
  return names;
}

// Looks tensors up by name and checks their shape and type, naming the file and the tensor in
// every error. Data pointers are taken later, once the data section is known to be complete.
class TensorChecker {
 public:
  explicit TensorChecker(const GgufFile& file) : file_(file) {}

  const GgufTensorInfo* find(const std::string& name, bool required) const {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (!t && required)
      throw GgufError(GgufErrorKind::BadTensor, fmt::format("{}: tensor '{}' is missing", file_.path(), name));
    return t;
  }

  // A matrix of `rows` rows of `cols` elements in any type with CPU kernels.
  WeightMatrix matrix(const std::string& name, uint64_t cols, uint64_t rows, bool required = true) const {
    const GgufTensorInfo* t = find(name, required);
    if (!t) return {};
    expect_shape(*t, {cols, rows});
    if (!has_cpu_kernels(t->type))
      throw GgufError(GgufErrorKind::Unsupported,
                      fmt::format("{}: tensor '{}' has type {}, which the CPU decoder cannot run; expected one of: {}",
                                  file_.path(), name, ggml_type_name(t->type), kernel_type_names()));
    WeightMatrix m;
    m.info = t;
    m.type = t->type;
    m.rows = static_cast<int64_t>(rows);
    m.cols = static_cast<int64_t>(cols);
    const auto row_bytes = ggml_row_bytes(t->type, cols);
    if (!row_bytes)
      throw GgufError(
          GgufErrorKind::BadTensor,
          fmt::format("{}: tensor '{}' has rows of {} elements, not a multiple of the {} block size {}", file_.path(),
                      name, cols, ggml_type_name(t->type), ggml_type_traits(t->type).block_size));
    m.row_bytes = *row_bytes;
    return m;
  }

  // An f32 vector of `size` elements.
  WeightVector vector(const std::string& name, uint64_t size, bool required = true) const {
    const GgufTensorInfo* t = find(name, required);
    if (!t) return {};
    expect_shape(*t, {size});
    if (t->type != GgmlType::F32)
      throw GgufError(GgufErrorKind::Unsupported, fmt::format("{}: tensor '{}' has type {}; expected f32", file_.path(),
                                                              name, ggml_type_name(t->type)));
    WeightVector v;
    v.info = t;
    v.size = static_cast<int64_t>(size);
    return v;
  }

  void bind(WeightMatrix& m) const {
    if (m.info) m.data = file_.tensor_data(*m.info).data();
  }
  void bind(WeightVector& v) const {
    if (v.info) v.data = reinterpret_cast<const float*>(file_.tensor_data(*v.info).data());
  }

 private:
  void expect_shape(const GgufTensorInfo& t, std::initializer_list<uint64_t> expected) const {
    bool same = t.n_dims == expected.size();
    uint32_t d = 0;
    for (uint64_t e : expected) same = same && t.ne[d++] == e;
    if (same) return;
    std::string want = "[";
    d = 0;
    for (uint64_t e : expected) want += fmt::format("{}{}", d++ ? ", " : "", e);
    throw GgufError(GgufErrorKind::BadTensor, fmt::format("{}: tensor '{}' has shape {}; expected {}", file_.path(),
                                                          t.name, shape_string(t), want + "]"));
  }

  const GgufFile& file_;
};

void check_hparams(const GgufFile& file, const HParams& hp) {
  auto fail = [&](const std::string& what) {
    throw GgufError(GgufErrorKind::BadKeyType, fmt::format("{}: {}", file.path(), what));
  };
  if (hp.n_expert > 0)
    fail(fmt::format("{}.expert_count is {}; the CPU decoder runs dense models only", hp.arch, hp.n_expert));
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    if (hp.n_head[i] == 0 || hp.n_head_kv[i] == 0 || hp.n_head[i] % hp.n_head_kv[i] != 0)
      fail(fmt::format("layer {}: {}.attention.head_count {} is not a positive multiple of head_count_kv {}", i,
                       hp.arch, hp.n_head[i], hp.n_head_kv[i]));
    if (hp.n_ff[i] == 0) fail(fmt::format("layer {}: {}.feed_forward_length is 0", i, hp.arch));
  }
  if (hp.head_dim_k == 0 || hp.head_dim_v == 0) fail(fmt::format("{}.attention.key_length/value_length is 0", hp.arch));
  if (hp.rope_dim == 0 || hp.rope_dim % 2 != 0 || hp.rope_dim > hp.head_dim_k)
    fail(fmt::format("{}.rope.dimension_count is {}; expected an even number from 2 to the key length {}", hp.arch,
                     hp.rope_dim, hp.head_dim_k));
  if (!(hp.rms_eps > 0.0f))
    fail(fmt::format("{}.attention.layer_norm_rms_epsilon is {}; expected > 0", hp.arch, hp.rms_eps));
  if (!(hp.rope_freq_base > 0.0f))
    fail(fmt::format("{}.rope.freq_base is {}; expected > 0", hp.arch, hp.rope_freq_base));
  const bool linear = hp.rope_scaling == "linear";
  if (hp.rope_scaling != "none" && !linear)
    throw GgufError(
        GgufErrorKind::Unsupported,
        fmt::format("{}: {}.rope.scaling.type '{}' is not supported by the CPU decoder; expected none or linear",
                    file.path(), hp.arch, hp.rope_scaling));
  if (linear && !(hp.rope_scaling_factor > 0.0f))
    fail(fmt::format("{}.rope.scaling.factor is {}; expected > 0", hp.arch, hp.rope_scaling_factor));
}

}  // namespace

DecoderWeights bind_decoder_weights(const GgufFile& file) {
  const auto arch = file.get_string("general.architecture");
  if (!arch)
    throw GgufError(GgufErrorKind::MissingKey,
                    fmt::format("{}: missing metadata key 'general.architecture'", file.path()));
  const auto& runnable = cpu_decoder_architectures();
  if (std::find(runnable.begin(), runnable.end(), *arch) == runnable.end())
    throw GgufError(GgufErrorKind::Unsupported,
                    fmt::format("{}: architecture '{}' cannot be run by the CPU decoder; expected one of: {}",
                                file.path(), *arch, fmt::join(runnable, ", ")));

  const ModelDesc desc = ModelDesc::from_gguf(file);
  DecoderWeights w;
  w.hp = desc.hparams();
  const HParams& hp = w.hp;
  check_hparams(file, hp);

  const TensorChecker check(file);
  const uint64_t E = hp.n_embd;
  const GgufTensorInfo* embd = check.find("token_embd.weight", true);
  if (embd->n_dims != 2 || embd->ne[0] != E)
    throw GgufError(GgufErrorKind::BadTensor,
                    fmt::format("{}: tensor 'token_embd.weight' has shape {}; expected [{}, n_vocab]", file.path(),
                                shape_string(*embd), E));
  w.n_vocab = static_cast<uint32_t>(std::min<uint64_t>(embd->ne[1], UINT32_MAX));
  const uint64_t V = w.n_vocab;
  w.token_embd = check.matrix("token_embd.weight", E, V);
  w.output = check.matrix("output.weight", E, V, false);
  w.tied_output = w.output.info == nullptr;
  w.output_norm = check.vector("output_norm.weight", E);
  w.rope_freqs = check.vector("rope_freqs.weight", hp.rope_dim / 2, false);

  const bool qwen2 = hp.arch == "qwen2";
  const bool qwen3 = hp.arch == "qwen3";
  w.layers.resize(hp.n_layer);
  for (uint32_t i = 0; i < hp.n_layer; ++i) {
    LayerWeights& l = w.layers[i];
    l.n_head = hp.n_head[i];
    l.n_head_kv = hp.n_head_kv[i];
    l.n_ff = hp.n_ff[i];
    const uint64_t q = uint64_t{l.n_head} * hp.head_dim_k;
    const uint64_t k = uint64_t{l.n_head_kv} * hp.head_dim_k;
    const uint64_t v = uint64_t{l.n_head_kv} * hp.head_dim_v;
    const uint64_t o = uint64_t{l.n_head} * hp.head_dim_v;
    const std::string p = fmt::format("blk.{}.", i);
    l.attn_norm = check.vector(p + "attn_norm.weight", E);
    l.attn_q = check.matrix(p + "attn_q.weight", E, q);
    l.attn_k = check.matrix(p + "attn_k.weight", E, k);
    l.attn_v = check.matrix(p + "attn_v.weight", E, v);
    l.bias_q = check.vector(p + "attn_q.bias", q, qwen2);
    l.bias_k = check.vector(p + "attn_k.bias", k, qwen2);
    l.bias_v = check.vector(p + "attn_v.bias", v, qwen2);
    l.attn_q_norm = check.vector(p + "attn_q_norm.weight", hp.head_dim_k, qwen3);
    l.attn_k_norm = check.vector(p + "attn_k_norm.weight", hp.head_dim_k, qwen3);
    l.attn_output = check.matrix(p + "attn_output.weight", o, E);
    l.ffn_norm = check.vector(p + "ffn_norm.weight", E);
    l.ffn_gate = check.matrix(p + "ffn_gate.weight", E, l.n_ff);
    l.ffn_up = check.matrix(p + "ffn_up.weight", E, l.n_ff);
    l.ffn_down = check.matrix(p + "ffn_down.weight", l.n_ff, E);
  }

  file.require_complete();

  check.bind(w.token_embd);
  if (w.tied_output)
    w.output = w.token_embd;
  else
    check.bind(w.output);
  check.bind(w.output_norm);
  check.bind(w.rope_freqs);
  for (LayerWeights& l : w.layers) {
    for (WeightVector* v : {&l.attn_norm, &l.bias_q, &l.bias_k, &l.bias_v, &l.attn_q_norm, &l.attn_k_norm, &l.ffn_norm})
      check.bind(*v);
    for (WeightMatrix* m : {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      check.bind(*m);
  }
  return w;
}

}  // namespace llmc::exec
