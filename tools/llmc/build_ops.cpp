#include "build_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "llmc/ggml_types.h"
#include "llmc/model.h"

namespace llmc::cli {
namespace {

using compiler::KernelRequest;

KernelRequest op_request(std::string op, int64_t tokens, int64_t width) {
  KernelRequest r;
  r.op = std::move(op);
  r.tokens = tokens;
  r.width = width;
  return r;
}

bool has_decoder(GgmlType type) {
  const auto types = compiler::supportedQMatVecTypes();
  return std::find(types.begin(), types.end(), static_cast<uint32_t>(type)) != types.end();
}

// Requests that differ only in the tensors they serve become one, keeping the first's place.
class RequestList {
 public:
  void add(KernelRequest request, const std::string& tensor = "") {
    const std::string key =
        fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", request.op, request.type, request.rows,
                    request.cols, request.tokens, request.width, request.broadcast, request.eps, request.quantize,
                    request.scale,
                    request.rope_mode, request.heads, request.head_dim, request.rope_dims, request.freq_base,
                    request.cache_type, request.n_ctx, request.kv_heads, request.causal, request.layout);
    auto [it, inserted] = index_.emplace(key, requests_.size());
    if (inserted) requests_.push_back(std::move(request));
    if (!tensor.empty()) requests_[it->second].tensors.push_back(tensor);
  }
  std::vector<KernelRequest> take() { return std::move(requests_); }

 private:
  std::vector<KernelRequest> requests_;
  std::map<std::string, size_t> index_;
};

}  // namespace

std::vector<KernelRequest> model_op_kernels(const GgufFile& file, int64_t tokens, const nlohmann::ordered_json& plan) {
  const ModelDesc model = ModelDesc::from_gguf(file, /*lenient=*/true);
  if (!model.supported()) return {};
  const HParams& hp = model.hparams();
  RequestList list;
  auto has = [&](const std::string& name) { return file.find_tensor(name) != nullptr; };

  if (const GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
      embd && embd->n_dims == 2 && has_decoder(embd->type)) {
    KernelRequest embed = op_request("embed", tokens, 0);
    embed.type = static_cast<uint32_t>(embd->type);
    embed.rows = static_cast<int64_t>(embd->ne[1]);
    embed.cols = static_cast<int64_t>(embd->ne[0]);
    list.add(embed, "token_embd.weight");
  }
  // Norms of the hidden state feed the products (Q/K/V, gate/up, output): they also write the
  // int8 activations those products read, so that no quantizer launch sits between them.
  auto norm = [&](int64_t rows, int64_t width, const std::string& tensor) {
    KernelRequest r = op_request("rms_norm", rows, width);
    r.eps = hp.rms_eps;
    r.quantize = width == static_cast<int64_t>(hp.n_embd) && width % 32 == 0;
    list.add(r, tensor);
  };
  for (uint32_t layer = 0; layer < hp.n_layer; ++layer) {
    const std::string blk = fmt::format("blk.{}.", layer);
    const int64_t heads = hp.n_head.empty() ? 0 : hp.n_head[layer];
    const int64_t kv_heads = hp.n_head_kv.empty() ? 0 : hp.n_head_kv[layer];
    if (has(blk + "attn_norm.weight")) norm(tokens, hp.n_embd, blk + "attn_norm.weight");
    // Per-head norms (qwen3) see [T, heads x head_dim] as [T x heads, head_dim].
    if (has(blk + "attn_q_norm.weight")) norm(tokens * heads, hp.head_dim_k, blk + "attn_q_norm.weight");
    if (has(blk + "attn_k_norm.weight")) norm(tokens * kv_heads, hp.head_dim_k, blk + "attn_k_norm.weight");
    if (has(blk + "ffn_norm.weight")) norm(tokens, hp.n_embd, blk + "ffn_norm.weight");
    for (const char* bias : {"attn_q.bias", "attn_k.bias", "attn_v.bias"}) {
      const GgufTensorInfo* info = file.find_tensor(blk + bias);
      if (!info || info->n_dims != 1) continue;
      KernelRequest add = op_request("add", tokens, static_cast<int64_t>(info->ne[0]));
      add.broadcast = true;
      list.add(add, blk + bias);
    }
    // The op rotates by freq_base^(-2i / dims) alone: models with per-dimension factors
    // (rope_freqs) or a scaled context get no rope kernel rather than a wrong one.
    const bool plain_rope = !has("rope_freqs.weight") && (hp.rope_scaling.empty() || hp.rope_scaling == "none");
    if (hp.rope_type != RopeType::None && heads > 0 && plain_rope) {
      for (int64_t rope_heads : {heads, kv_heads}) {
        KernelRequest rope = op_request("rope", tokens, 0);
        rope.rope_mode = hp.rope_type == RopeType::Neox ? "neox" : "norm";
        rope.heads = rope_heads;
        rope.head_dim = hp.head_dim_k;
        rope.rope_dims = hp.rope_dim;
        rope.freq_base = hp.rope_freq_base;
        list.add(rope);
      }
    }
    if (!hp.n_ff.empty() && hp.n_ff[layer] > 0 && has(blk + "ffn_gate.weight"))
      list.add(op_request("swiglu", tokens, hp.n_ff[layer]));
    if (!plan.is_null() && plan.contains("ctx") && plan.contains("kv_type")) {
      // The K and V rows of one position: n_kv_heads x head_dim values.
      const int64_t n_ctx = plan.value("ctx", int64_t{0});
      const auto& kv = plan["kv_type"];
      for (auto [which, head_dim] : {std::pair{"k", hp.head_dim_k}, std::pair{"v", hp.head_dim_v}}) {
        KernelRequest store = op_request("kv_store", tokens, kv_heads * head_dim);
        store.cache_type = kv.value(which, "f16");
        store.n_ctx = n_ctx;
        if (n_ctx >= tokens) list.add(store);
      }
      // Attention has a kernel for f16 caches with one head size for K and V.
      if (kv.value("k", "") == "f16" && kv.value("v", "") == "f16" && hp.head_dim_k == hp.head_dim_v && heads > 0 &&
          kv_heads > 0 && n_ctx >= tokens) {
        KernelRequest attention = op_request("attention", tokens, 0);
        attention.heads = heads;
        attention.kv_heads = kv_heads;
        attention.head_dim = hp.head_dim_k;
        attention.n_ctx = n_ctx;
        attention.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hp.head_dim_k)));
        list.add(attention);
      }
    }
  }
  if (has("output_norm.weight")) norm(tokens, hp.n_embd, "output_norm.weight");
  list.add(op_request("add", tokens, hp.n_embd));  // the residual stream
  if (hp.n_vocab > 0) {
    list.add(op_request("softmax", tokens, hp.n_vocab));
    list.add(op_request("argmax", tokens, hp.n_vocab));
  }
  return list.take();
}

std::vector<KernelRequest> suite_op_kernels(const std::vector<GgmlType>& quants) {
  RequestList list;
  auto embed = [&](GgmlType type, int64_t rows, int64_t cols, int64_t tokens, const char* layout = "") {
    KernelRequest r = op_request("embed", tokens, 0);
    r.layout = layout;
    r.type = static_cast<uint32_t>(type);
    r.rows = rows;
    r.cols = cols;
    list.add(r);
  };
  // The embedding types of real models get two shapes; every other type with a decoder one.
  const GgmlType common[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::Q8_0,
                             GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K};
  for (uint32_t id : compiler::supportedQMatVecTypes()) {
    const auto type = static_cast<GgmlType>(id);
    if (!quants.empty() && std::find(quants.begin(), quants.end(), type) == quants.end()) continue;
    embed(type, 300, 512, 3);
    for (const char* layout : {"blocks", "row_planar"}) embed(type, 300, 512, 3, layout);  // both, on every chip
    if (std::find(std::begin(common), std::end(common), type) != std::end(common)) embed(type, 1000, 1024, 1);
  }
  if (!quants.empty()) return list.take();

  auto norm = [&](int64_t tokens, int64_t width, float eps, bool quantize = false) {
    KernelRequest r = op_request("rms_norm", tokens, width);
    r.eps = eps;
    r.quantize = quantize;
    list.add(r);
  };
  norm(1, 4096, 1e-5f);
  norm(3, 1000, 1e-6f);
  // Fused with the int8 products' activation quantizer (q8): a decode row, and three of 2560.
  norm(1, 4096, 1e-5f, true);
  norm(3, 2560, 1e-5f, true);
  norm(32, 128, 1e-6f);  // qwen3's per-head norm
  norm(2, 33, 1e-5f);
  for (const char* op : {"add", "mul"}) {
    list.add(op_request(op, 1, 4096));
    list.add(op_request(op, 4, 1001));
    KernelRequest row = op_request(op, 3, 1000);
    row.broadcast = true;
    list.add(row);
    row = op_request(op, 2, 17);
    row.broadcast = true;
    list.add(row);
  }
  list.add(op_request("swiglu", 1, 14336));
  list.add(op_request("swiglu", 3, 1000));
  list.add(op_request("swiglu", 2, 33));
  list.add(op_request("softmax", 1, 32000));
  list.add(op_request("softmax", 1, 151936));
  list.add(op_request("softmax", 4, 129));
  KernelRequest scaled = op_request("softmax", 3, 1000);
  scaled.scale = 0.125f;
  list.add(scaled);
  list.add(op_request("argmax", 1, 32000));
  list.add(op_request("argmax", 2, 151936));
  list.add(op_request("argmax", 3, 1000));
  list.add(op_request("argmax", 4, 7));
  auto rope = [&](const char* mode, int64_t tokens, int64_t heads, int64_t head_dim, int64_t dims, float base) {
    KernelRequest r = op_request("rope", tokens, 0);
    r.rope_mode = mode;
    r.heads = heads;
    r.head_dim = head_dim;
    r.rope_dims = dims;
    r.freq_base = base;
    list.add(r);
  };
  rope("norm", 2, 32, 128, 128, 10000.0f);
  rope("neox", 3, 8, 128, 128, 1000000.0f);
  rope("neox", 1, 4, 64, 32, 10000.0f);  // partial rotation: the rest of each head is copied
  rope("norm", 2, 2, 80, 64, 500000.0f);
  auto store = [&](const char* cache, int64_t tokens, int64_t width, int64_t n_ctx) {
    KernelRequest r = op_request("kv_store", tokens, width);
    r.cache_type = cache;
    r.n_ctx = n_ctx;
    list.add(r);
  };
  store("f16", 1, 1024, 64);
  store("f16", 3, 1000, 9);
  store("q8_0", 1, 1024, 32);
  store("q8_0", 2, 96, 8);
  store("q4_0", 1, 1024, 16);
  store("q4_0", 3, 64, 5);
  auto attention = [&](int64_t tokens, int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t n_ctx, bool causal) {
    KernelRequest r = op_request("attention", tokens, 0);
    r.heads = heads;
    r.kv_heads = kv_heads;
    r.head_dim = head_dim;
    r.n_ctx = n_ctx;
    r.causal = causal;
    r.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
    list.add(r);
  };
  attention(1, 32, 8, 128, 256, false);
  attention(1, 8, 8, 64, 1000, false);
  attention(3, 8, 2, 128, 64, true);
  attention(2, 4, 1, 256, 33, false);
  return list.take();
}

std::optional<KernelRequest> parse_op_kernel(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string op = text.substr(0, colon);
  const std::string rest = text.substr(colon + 1);
  const std::set<std::string> width_ops = {"rms_norm", "rms_norm_q8", "add",     "add_row", "mul",
                                           "mul_row",  "swiglu",      "softmax", "argmax"};
  if (op == "qmatmul") {
    const size_t second = rest.find(':');
    auto type = second == std::string::npos ? std::nullopt : ggml_type_from_name(rest.substr(0, second));
    long long rows = 0, cols = 0;
    char tail = 0;
    if (!type || std::sscanf(rest.c_str() + second + 1, "%lldx%lld%c", &rows, &cols, &tail) != 2 || rows < 1 ||
        cols < 1)
      throw CLI::ValidationError(
          fmt::format("'{}'; expected qmatmul:TYPE:ROWSxCOLS, e.g. qmatmul:q4_K:4096x4096", text));
    KernelRequest r;
    r.op = "qmatmul";
    r.type = static_cast<uint32_t>(*type);
    r.rows = rows;
    r.cols = cols;
    r.tuning_source = "chip default";
    return r;
  }
  if (op == "embed") {
    const size_t second = rest.find(':');
    auto type = second == std::string::npos ? std::nullopt : ggml_type_from_name(rest.substr(0, second));
    long long rows = 0, cols = 0;
    char tail = 0;
    if (!type || std::sscanf(rest.c_str() + second + 1, "%lldx%lld%c", &rows, &cols, &tail) != 2)
      throw CLI::ValidationError(fmt::format("'{}'; expected embed:TYPE:ROWSxCOLS, e.g. embed:q6_K:151936x1024", text));
    KernelRequest r = op_request("embed", 1, 0);
    r.type = static_cast<uint32_t>(*type);
    r.rows = rows;
    r.cols = cols;
    return r;
  }
  if (!width_ops.contains(op)) return std::nullopt;
  long long tokens = 0, width = 0;
  char tail = 0;
  if (std::sscanf(rest.c_str(), "%lldx%lld%c", &tokens, &width, &tail) != 2 || tokens < 1 || width < 1)
    throw CLI::ValidationError(fmt::format("'{}'; expected {}:TOKENSxWIDTH, e.g. {}:1x4096", text, op, op));
  const bool row = op.ends_with("_row");
  if (row) op.resize(op.size() - 4);
  const bool q8 = op == "rms_norm_q8";
  if (q8) op = "rms_norm";
  KernelRequest r = op_request(op, tokens, width);
  r.broadcast = row;
  r.quantize = q8;
  return r;
}

}  // namespace llmc::cli
