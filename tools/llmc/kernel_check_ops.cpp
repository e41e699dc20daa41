#include "kernel_check_ops.h"

#include "cli_io.h"

#include <dlfcn.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "cuda_timing.h"
#include "llmc/cuda_driver.h"
#include "llmc/ggml_types.h"
#include "llmc/gguf_writer.h"
#include "llmc/quants.h"

namespace llmc::cli::opcheck {

uint64_t mix(uint64_t value) {
  value += 0x9e3779b97f4a7c15ull;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

uint64_t name_hash(const std::string& name) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : name) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

WeightLayout weights_layout(const nlohmann::json& param, const std::string& at) {
  if (!param.contains("layout")) return WeightLayout::Blocks;
  const auto& value = param.at("layout");
  const auto layout = value.is_string() ? weight_layout_from_name(value.get<std::string>()) : std::nullopt;
  if (!layout)
    throw std::runtime_error(fmt::format("{}: weights layout {} (expected \"blocks\" or \"row_planar\")", at, value.dump()));
  return *layout;
}

std::vector<uint8_t> in_layout(GgmlType type, int64_t rows, int64_t cols, std::vector<uint8_t> blocks,
                               WeightLayout layout) {
  if (layout == WeightLayout::Blocks) return blocks;
  std::vector<uint8_t> out(blocks.size());
  convert_weight_layout(type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), blocks, WeightLayout::Blocks,
                        out, layout);
  return out;
}

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

//===----------------------------------------------------------------------===//
// Manifest entries
//===----------------------------------------------------------------------===//

struct Param {
  std::string name;
  std::string role;
  std::string dtype;
  std::vector<int64_t> shape;
  bool partial = false;

  bool operator==(const Param&) const = default;
  bool scalar() const { return role == "scalar"; }
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t size : shape) n *= size;
    return n;
  }
  size_t element_bytes() const {
    if (dtype == "f16") return 2;
    if (dtype == "i8") return 1;
    if (dtype == "i64") return 8;
    return 4;
  }
  size_t bytes() const { return scalar() ? 8 : static_cast<size_t>(elements()) * element_bytes(); }
};

struct OpKernel {
  std::string name;
  std::string op;
  int64_t tokens = 1;
  int64_t width = 0;
  bool broadcast = false;
  double eps = 0;
  double scale = 1;
  std::string mode;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t dims = 0;
  bool causal = false;
  double freq_base = 0;
  bool q8 = false;                 // rms_norm: also writes the rows as int8 blocks
  GgmlType cache = GgmlType::F16;  // kv_store: f16, q8_0 or q4_0; attention: f16
  int64_t n_ctx = 0;
  GgmlType quant = GgmlType::F32;  // embed
  int64_t rows = 0;
  int64_t cols = 0;
  WeightLayout layout = WeightLayout::Blocks;  // embed: the table's
  std::vector<Param> params;
  std::string function;
  unsigned grid = 1;
  unsigned block = 1;
  std::vector<std::string> args;

  size_t param_index(const std::string& param) const {
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i].name == param) return i;
    throw std::runtime_error(fmt::format("kernel {}: launch argument '{}' is not a parameter", name, param));
  }
  const Param& param(const std::string& param) const { return params[param_index(param)]; }
};

Param buffer(std::string name, std::string role, std::string dtype, std::vector<int64_t> shape) {
  return {std::move(name), std::move(role), std::move(dtype), std::move(shape), false};
}

// The parameters an entry's op and attributes imply. An entry must list exactly these, so that
// every buffer this check allocates has the size the kernel indexes.
std::vector<Param> expected_params(const OpKernel& k, const std::string& at) {
  const int64_t T = k.tokens;
  const int64_t W = k.width;
  if (k.op == "rms_norm") {
    std::vector<Param> params = {buffer("x", "input", "f32", {T, W}), buffer("weight", "weights", "f32", {W}),
                                 buffer("out", "output", "f32", {T, W})};
    if (k.q8) params.push_back(buffer("q8", "output", "i8", {T * W + T * W / 4}));
    return params;
  }
  if (k.op == "add" || k.op == "mul")
    return {buffer("lhs", "input", "f32", {T, W}),
            k.broadcast ? buffer("rhs", "input", "f32", {W}) : buffer("rhs", "input", "f32", {T, W}),
            buffer("out", "output", "f32", {T, W})};
  if (k.op == "swiglu")
    return {buffer("gate", "input", "f32", {T, W}), buffer("up", "input", "f32", {T, W}),
            buffer("out", "output", "f32", {T, W})};
  if (k.op == "softmax") return {buffer("x", "input", "f32", {T, W}), buffer("out", "output", "f32", {T, W})};
  if (k.op == "argmax") return {buffer("logits", "input", "f32", {T, W}), buffer("out", "output", "i32", {T})};
  if (k.op == "rope")
    return {buffer("x", "input", "f32", {T, k.heads * k.head_dim}), buffer("positions", "input", "i32", {T}),
            buffer("out", "output", "f32", {T, k.heads * k.head_dim})};
  if (k.op == "kv_store") {
    Param cache = k.cache == GgmlType::F16
                      ? buffer("cache", "output", "f16", {k.n_ctx, W})
                      : buffer("cache", "output", "i8",
                               {k.n_ctx, static_cast<int64_t>(*ggml_row_bytes(k.cache, static_cast<uint64_t>(W)))});
    cache.partial = true;
    return {buffer("src", "input", "f32", {T, W}), cache, buffer("pos", "scalar", "i64", {})};
  }
  if (k.op == "attention") {
    const int64_t width = k.heads * k.head_dim;
    return {buffer("q", "input", "f32", {T, width}),
            buffer("k_cache", "input", "f16", {k.n_ctx, k.kv_heads * k.head_dim}),
            buffer("v_cache", "input", "f16", {k.n_ctx, k.kv_heads * k.head_dim}),
            buffer("n_past", "scalar", "i64", {}), buffer("out", "output", "f32", {T, width})};
  }
  if (k.op == "embed") {
    const auto row_bytes = static_cast<int64_t>(*ggml_row_bytes(k.quant, static_cast<uint64_t>(k.cols)));
    return {buffer("table", "weights", "i8", {k.rows * row_bytes}), buffer("ids", "input", "i32", {T}),
            buffer("out", "output", "f32", {T, k.cols})};
  }
  throw std::runtime_error(fmt::format("{}: op '{}' is not one this check knows", at, k.op));
}

OpKernel parse(const json& j) {
  OpKernel k;
  k.name = json_field<std::string>(j, "name", "manifest kernel");
  const std::string at = "kernel " + k.name;
  k.op = json_field<std::string>(j, "op", at);
  k.tokens = json_field<int64_t>(j, "tokens", at);
  if (k.tokens < 1 || k.tokens > (1 << 20)) throw std::runtime_error(at + ": tokens out of range");
  auto positive = [&](int64_t value, const char* what) {
    if (value < 1 || value > (int64_t{1} << 31)) throw std::runtime_error(fmt::format("{}: {} out of range", at, what));
    return value;
  };
  if (k.op == "rope") {
    k.mode = json_field<std::string>(j, "mode", at);
    if (k.mode != "norm" && k.mode != "neox") throw std::runtime_error(at + ": rope mode must be norm or neox");
    k.heads = positive(json_field<int64_t>(j, "heads", at), "heads");
    k.head_dim = positive(json_field<int64_t>(j, "head_dim", at), "head_dim");
    k.dims = positive(json_field<int64_t>(j, "dims", at), "dims");
    k.freq_base = json_field<double>(j, "freq_base", at);
    if (k.dims % 2 != 0 || k.dims > k.head_dim)
      throw std::runtime_error(at + ": dims must be even and at most head_dim");
  } else if (k.op == "attention") {
    if (json_field<std::string>(j, "kv_cache", at) != "f16") throw std::runtime_error(at + ": kv_cache must be f16");
    k.heads = positive(json_field<int64_t>(j, "heads", at), "heads");
    k.kv_heads = positive(json_field<int64_t>(j, "kv_heads", at), "kv_heads");
    k.head_dim = positive(json_field<int64_t>(j, "head_dim", at), "head_dim");
    k.n_ctx = positive(json_field<int64_t>(j, "n_ctx", at), "n_ctx");
    k.scale = json_field<double>(j, "scale", at);
    k.causal = json_field<bool>(j, "causal", at);
    if (k.heads % k.kv_heads != 0 || k.n_ctx < k.tokens)
      throw std::runtime_error(at + ": heads must be a multiple of kv_heads, and the cache hold every query row");
  } else if (k.op == "embed") {
    const std::string quant = json_field<std::string>(j, "quant", at);
    auto type = ggml_type_from_name(quant);
    if (!type || !has_cpu_kernels(*type))
      throw std::runtime_error(fmt::format("{}: quant '{}' is not a ggml type with a reference", at, quant));
    k.quant = *type;
    k.rows = positive(json_field<int64_t>(j, "rows", at), "rows");
    k.cols = positive(json_field<int64_t>(j, "cols", at), "cols");
    if (!ggml_row_bytes(k.quant, static_cast<uint64_t>(k.cols)))
      throw std::runtime_error(at + ": cols is not a whole number of blocks");
  } else {
    k.width = positive(json_field<int64_t>(j, "width", at), "width");
  }
  if (k.op == "add" || k.op == "mul") k.broadcast = json_field<bool>(j, "broadcast", at);
  if (k.op == "rms_norm") {
    k.eps = json_field<double>(j, "eps", at);
    if (j.contains("q8")) k.q8 = json_field<bool>(j, "q8", at);
    if (k.q8 && k.width % 32 != 0) throw std::runtime_error(at + ": q8 needs a width that is a multiple of 32");
  }
  if (k.op == "softmax") k.scale = json_field<double>(j, "scale", at);
  if (k.op == "kv_store") {
    const std::string cache = json_field<std::string>(j, "kv_cache", at);
    const auto type = ggml_type_from_name(cache);
    if (!type || (*type != GgmlType::F16 && *type != GgmlType::Q8_0 && *type != GgmlType::Q4_0))
      throw std::runtime_error(fmt::format("{}: kv_cache '{}' (expected f16, q8_0 or q4_0)", at, cache));
    k.cache = *type;
    k.n_ctx = positive(json_field<int64_t>(j, "n_ctx", at), "n_ctx");
    if (k.n_ctx < k.tokens) throw std::runtime_error(at + ": the cache holds fewer positions than tokens");
    if (!ggml_row_bytes(k.cache, static_cast<uint64_t>(k.width)))
      throw std::runtime_error(at + ": width is not a whole number of blocks");
  }
  for (const json& p : json_field<json>(j, "params", at)) {
    Param param;
    param.name = json_field<std::string>(p, "name", at);
    param.role = json_field<std::string>(p, "role", at);
    param.dtype = json_field<std::string>(p, "dtype", at);
    if (param.role != "scalar") param.shape = json_field<std::vector<int64_t>>(p, "shape", at);
    param.partial = p.value("partial", false);
    if (k.op == "embed" && param.role == "weights") k.layout = weights_layout(p, at);
    k.params.push_back(param);
  }
  if (k.params != expected_params(k, at))
    throw std::runtime_error(fmt::format("{}: params do not match a {} of these attributes", at, k.op));
  const json launches = json_field<json>(j, "launches", at);
  if (!launches.is_array() || launches.size() != 1) throw std::runtime_error(at + ": expected one launch");
  const json& launch = launches[0];
  k.function = json_field<std::string>(launch, "function", at);
  k.args = json_field<std::vector<std::string>>(launch, "args", at);
  if (k.args.size() != k.params.size()) throw std::runtime_error(at + ": the launch must pass every parameter once");
  for (const std::string& arg : k.args) k.param_index(arg);
  if (launch.contains("grid")) {
    k.grid = json_field<std::vector<unsigned>>(launch, "grid", at).at(0);
    k.block = json_field<std::vector<unsigned>>(launch, "block", at).at(0);
  }
  return k;
}

std::string shape_text(const OpKernel& k) {
  if (k.op == "rope") return fmt::format("t{} {}x{} {} d{}", k.tokens, k.heads, k.head_dim, k.mode, k.dims);
  if (k.op == "embed") return fmt::format("t{} {} {}x{}", k.tokens, ggml_type_name(k.quant), k.rows, k.cols);
  if (k.op == "attention")
    return fmt::format("t{} {}/{}x{} n{}{}", k.tokens, k.heads, k.kv_heads, k.head_dim, k.n_ctx,
                       k.causal ? " causal" : "");
  if (k.op == "kv_store") return fmt::format("t{}x{} {} n{}", k.tokens, k.width, ggml_type_name(k.cache), k.n_ctx);
  return fmt::format("t{}x{}{}", k.tokens, k.width, k.broadcast ? " row" : "");
}

//===----------------------------------------------------------------------===//
// Inputs, references and comparisons
//===----------------------------------------------------------------------===//

constexpr uint32_t kNanBits = 0x7FC00000u;
constexpr uint16_t kHalfNanBits = 0x7E00u;

// Every parameter's bytes: inputs random, outputs poisoned (f32 and i32 with NaN's bits, f16 with
// a half NaN, raw blocks with 0xFF bytes, whose f16 scales read as NaN), a scalar as 8 bytes.
struct Data {
  std::vector<std::vector<uint8_t>> buffers;

  template <typename T>
  T* as(const OpKernel& k, const std::string& param) {
    return reinterpret_cast<T*>(buffers[k.param_index(param)].data());
  }
};

template <typename T>
void fill(std::vector<uint8_t>& bytes, T value) {
  for (size_t i = 0; i + sizeof(T) <= bytes.size(); i += sizeof(T)) std::memcpy(bytes.data() + i, &value, sizeof(T));
}

// An output's poison: NaN's bits for f32 and i32, a half NaN for f16, 0xFF bytes for raw blocks
// (whose f16 scales then read as NaN).
void poison(std::vector<uint8_t>& bytes, const std::string& dtype) {
  if (dtype == "f16") return fill(bytes, kHalfNanBits);
  if (dtype == "i8") return fill(bytes, uint8_t{0xFF});
  fill(bytes, kNanBits);
}

Data make_data(const OpKernel& k, uint64_t seed) {
  std::mt19937_64 rng(mix(seed) ^ name_hash(k.name));
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  auto integer = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  Data d;
  for (const Param& p : k.params) {
    std::vector<uint8_t> bytes(p.bytes());
    if (p.role == "output") poison(bytes, p.dtype);
    d.buffers.push_back(std::move(bytes));
  }
  auto floats = [&](const std::string& name, double lo, double hi) {
    float* v = d.as<float>(k, name);
    for (int64_t i = 0; i < k.param(name).elements(); ++i) v[i] = static_cast<float>(uniform(lo, hi));
    return v;
  };
  const int64_t T = k.tokens;
  const int64_t W = k.width;
  if (k.op == "rms_norm") {
    floats("x", -2, 2);
    floats("weight", -1.5, 1.5);
  } else if (k.op == "add" || k.op == "mul") {
    floats("lhs", -1, 1);
    floats("rhs", -1, 1);
  } else if (k.op == "swiglu") {
    float* gate = floats("gate", -8, 8);
    floats("up", -1, 1);
    // Where e^-gate overflows, underflows and saturates.
    const float extremes[] = {-100.0f, -88.8f, -87.0f, 88.8f, 100.0f, 0.0f};
    for (int64_t t = 0; t < T; ++t)
      for (size_t i = 0; i < std::size(extremes) && static_cast<int64_t>(i) < W; ++i)
        gate[t * W + static_cast<int64_t>(i)] = extremes[i];
  } else if (k.op == "softmax") {
    floats("x", -10, 10);
  } else if (k.op == "argmax") {
    // Values in [-1, 1] and a maximum of 1.5 at two random places: the lower index must win.
    // Odd rows also hold a NaN, which must never win.
    float* x = floats("logits", -1, 1);
    for (int64_t t = 0; t < T; ++t) {
      float* row = x + t * W;
      int64_t a = integer(0, W - 1);
      int64_t b = integer(0, W - 1);
      row[a] = 1.5f;
      row[b] = 1.5f;
      if (t % 2 == 1) row[integer(0, W - 1)] = std::numeric_limits<float>::quiet_NaN();
    }
  } else if (k.op == "rope") {
    floats("x", -1, 1);
    int32_t* positions = d.as<int32_t>(k, "positions");
    for (int64_t t = 0; t < T; ++t) positions[t] = static_cast<int32_t>(integer(0, 1 << 17));
    if (T > 1) positions[1] = 0;
  } else if (k.op == "kv_store") {
    floats("src", -2, 2);
    const int64_t pos = integer(0, k.n_ctx - T);
    std::memcpy(d.as<int64_t>(k, "pos"), &pos, 8);
  } else if (k.op == "attention") {
    // Cached rows up to the last position a query sees hold values; the rows after it hold NaN,
    // which an output would show if the kernel read past its positions.
    floats("q", -1, 1);
    const int64_t n_past = integer(0, k.n_ctx - T);
    std::memcpy(d.as<int64_t>(k, "n_past"), &n_past, 8);
    const int64_t row = k.kv_heads * k.head_dim;
    for (const char* cache : {"k_cache", "v_cache"}) {
      uint16_t* halves = d.as<uint16_t>(k, cache);
      for (int64_t i = 0; i < k.n_ctx * row; ++i)
        halves[i] = i < (n_past + T) * row ? fp32_to_fp16(static_cast<float>(uniform(-2, 2))) : kHalfNanBits;
    }
  } else if (k.op == "embed") {
    auto& table = d.buffers[k.param_index("table")];
    std::vector<uint8_t> blocks(table.size());
    fill_random_blocks(k.quant, blocks, mix(seed ^ 0x5eedu) ^ name_hash(k.name));
    table = in_layout(k.quant, k.rows, k.cols, std::move(blocks), k.layout);
    int32_t* ids = d.as<int32_t>(k, "ids");
    for (int64_t t = 0; t < T; ++t) ids[t] = static_cast<int32_t>(integer(0, k.rows - 1));
  }
  return d;
}

// max|y - ref| / max|ref| over the float outputs, as the qmatvec check measures it.
struct Result {
  bool finite = true;
  bool exact = false;  // argmax: the index must match
  double error = 0;
  double bound = 0;
  std::string detail;
  bool pass() const { return finite && (exact || error <= bound); }
};

// `where` names the element (called only for the first non-finite one).
template <typename Where>
void accumulate(Result& r, double& max_reference, double& max_difference, double y, double reference,
                const Where& where) {
  if (!std::isfinite(y)) {
    if (r.finite) r.detail = fmt::format("non-finite output: {} = {}", where(), y);
    r.finite = false;
    return;
  }
  max_reference = std::max(max_reference, std::fabs(reference));
  max_difference = std::max(max_difference, std::fabs(y - reference));
}

// Normalized error bounds. Element-wise sums and products are rounded once (half an ulp, 3e-8
// measured); the row ops and attention sum in f32 and use the kernels' exp (1 ulp), sqrt (exact)
// and sin/cos (1.2e-7 absolute): 3.2e-7 at most measured on x86-64 and an H100 (a 151936-value
// softmax row), bounded six times above.
// kv_store and embed reproduce the reference encoders and decoders (ggml's bytes) exactly.
double bound_for(const std::string& op) {
  if (op == "add" || op == "mul" || op == "kv_store" || op == "embed") return 1e-6;
  return 2e-6;
}

// 32 values quantized as the kernels' q8 activations are (quantize_row_q8_1): d = amax / 127,
// codes |x| / d rounded half away from zero with x's sign, in the kernels' f32 operations.
// A code may round the other way where |x| / d lies within a few ulps of k + 1/2: whether the
// product is rounded before the fraction is taken (or fused with it) is the compiler's choice.
struct BlockQ8 {
  int8_t codes[32];
  bool tie[32];
  float d = 0;
};
BlockQ8 quantize_block_q8(const float* x) {
  BlockQ8 q;
  float amax = 0;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  q.d = amax / 127.0f;
  const float inverse = q.d == 0.0f ? 0.0f : 1.0f / q.d;
  for (int i = 0; i < 32; ++i) {
    const float scaled = std::fabs(x[i]) * inverse;
    const auto whole = static_cast<int32_t>(scaled);
    const float fraction = scaled - static_cast<float>(whole);
    const int32_t rounded = fraction >= 0.5f ? whole + 1 : whole;
    q.codes[i] = static_cast<int8_t>(std::signbit(x[i]) ? -rounded : rounded);
    q.tie[i] = std::fabs(fraction - 0.5f) < 1e-5f;
  }
  return q;
}

Result evaluate(const OpKernel& k, Data& d) {
  Result r;
  r.bound = bound_for(k.op);
  const int64_t T = k.tokens;
  const int64_t W = k.width;
  double max_reference = 0;
  double max_difference = 0;
  // Attention's output is a weighted mean of V rows, whose average over many random rows is far
  // smaller than the rows themselves: its error is measured against the largest |V| instead.
  double scale_floor = 1e-30;
  auto finish = [&] {
    r.error = max_difference / std::max(max_reference, scale_floor);
    return r;
  };
  if (k.op == "argmax") {
    const float* x = d.as<float>(k, "logits");
    const int32_t* out = d.as<int32_t>(k, "out");
    r.exact = true;
    for (int64_t t = 0; t < T; ++t) {
      int32_t best = 0;
      float best_value = -std::numeric_limits<float>::infinity();
      bool seen = false;
      for (int64_t i = 0; i < W; ++i) {
        const float v = x[t * W + i];
        if (std::isnan(v)) continue;
        if (!seen || v > best_value) best = static_cast<int32_t>(i), best_value = v, seen = true;
      }
      if (out[t] != best) {
        r.finite = false;
        r.detail = fmt::format("out[{}] = {}, expected {}", t, out[t], best);
        return r;
      }
    }
    return r;
  }
  if (k.op == "kv_store") {
    // Rows outside [pos, pos + T) keep their poison; stored rows decode as the reference's
    // encoding of src (fp32_to_fp16, ggml's q8_0 / q4_0 quantizers) decodes.
    const Param& cache = k.param("cache");
    const auto row_bytes = static_cast<size_t>(cache.elements() / k.n_ctx) * cache.element_bytes();
    const uint8_t* bytes = d.as<uint8_t>(k, "cache");
    int64_t pos = 0;
    std::memcpy(&pos, d.as<int64_t>(k, "pos"), 8);
    std::vector<uint8_t> poisoned(row_bytes);
    poison(poisoned, cache.dtype);
    const float* src = d.as<float>(k, "src");
    std::vector<uint8_t> encoded(row_bytes);
    std::vector<float> want(static_cast<size_t>(W));
    std::vector<float> got(static_cast<size_t>(W));
    for (int64_t row = 0; row < k.n_ctx; ++row) {
      const uint8_t* at = bytes + static_cast<size_t>(row) * row_bytes;
      if (row < pos || row >= pos + T) {
        if (std::memcmp(at, poisoned.data(), row_bytes) != 0) {
          r.finite = false;
          r.detail = fmt::format("cache row {} was written (stored rows are {}..{})", row, pos, pos + T - 1);
          return r;
        }
        continue;
      }
      const float* x = src + (row - pos) * W;
      quantize_row_reference(k.cache, x, encoded.data(), W);
      dequantize_row(k.cache, encoded.data(), want.data(), W);
      dequantize_row(k.cache, at, got.data(), W);
      for (int64_t i = 0; i < W; ++i)
        accumulate(r, max_reference, max_difference, got[i], want[i],
                   [&] { return fmt::format("cache[{}][{}]", row, i); });
    }
    return finish();
  }
  std::vector<double> reference;
  const float* out = d.as<float>(k, "out");
  if (k.op == "rms_norm") {
    const float* x = d.as<float>(k, "x");
    const float* w = d.as<float>(k, "weight");
    for (int64_t t = 0; t < T; ++t) {
      double squares = 0;
      for (int64_t i = 0; i < W; ++i) squares += static_cast<double>(x[t * W + i]) * x[t * W + i];
      const double scale = 1.0 / std::sqrt(squares / static_cast<double>(W) + k.eps);
      for (int64_t i = 0; i < W; ++i) reference.push_back(x[t * W + i] * scale * w[i]);
    }
  } else if (k.op == "add" || k.op == "mul") {
    const float* a = d.as<float>(k, "lhs");
    const float* b = d.as<float>(k, "rhs");
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < W; ++i) {
        const double x = a[t * W + i];
        const double y = b[k.broadcast ? i : t * W + i];
        reference.push_back(k.op == "add" ? x + y : x * y);
      }
  } else if (k.op == "swiglu") {
    const float* gate = d.as<float>(k, "gate");
    const float* up = d.as<float>(k, "up");
    for (int64_t i = 0; i < T * W; ++i)
      reference.push_back(gate[i] / (1.0 + std::exp(-static_cast<double>(gate[i]))) * up[i]);
  } else if (k.op == "softmax") {
    const float* x = d.as<float>(k, "x");
    for (int64_t t = 0; t < T; ++t) {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < W; ++i) m = std::max(m, k.scale * x[t * W + i]);
      double sum = 0;
      for (int64_t i = 0; i < W; ++i) sum += std::exp(k.scale * x[t * W + i] - m);
      for (int64_t i = 0; i < W; ++i) reference.push_back(std::exp(k.scale * x[t * W + i] - m) / sum);
    }
  } else if (k.op == "rope") {
    const float* x = d.as<float>(k, "x");
    const int32_t* positions = d.as<int32_t>(k, "positions");
    const int64_t width = k.heads * k.head_dim;
    reference.assign(x, x + T * width);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < k.heads; ++h) {
        double* head = reference.data() + t * width + h * k.head_dim;
        const float* in = x + t * width + h * k.head_dim;
        for (int64_t j = 0; j < k.dims / 2; ++j) {
          const double theta =
              positions[t] * std::pow(k.freq_base, -2.0 * static_cast<double>(j) / static_cast<double>(k.dims));
          const int64_t a = k.mode == "neox" ? j : 2 * j;
          const int64_t b = k.mode == "neox" ? j + k.dims / 2 : 2 * j + 1;
          head[a] = in[a] * std::cos(theta) - in[b] * std::sin(theta);
          head[b] = in[a] * std::sin(theta) + in[b] * std::cos(theta);
        }
      }
  } else if (k.op == "attention") {
    const float* q = d.as<float>(k, "q");
    const uint16_t* keys = d.as<uint16_t>(k, "k_cache");
    const uint16_t* values = d.as<uint16_t>(k, "v_cache");
    int64_t n_past = 0;
    std::memcpy(&n_past, d.as<int64_t>(k, "n_past"), 8);
    const int64_t D = k.head_dim;
    const int64_t row = k.kv_heads * D;
    reference.assign(static_cast<size_t>(T * k.heads * D), 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < k.heads; ++h) {
        const int64_t g = h / (k.heads / k.kv_heads);
        const int64_t positions = k.causal ? n_past + t + 1 : n_past + T;
        std::vector<double> scores(static_cast<size_t>(positions));
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < positions; ++j) {
          double s = 0;
          for (int64_t i = 0; i < D; ++i)
            s += static_cast<double>(q[(t * k.heads + h) * D + i]) * fp16_to_fp32(keys[j * row + g * D + i]);
          scores[static_cast<size_t>(j)] = k.scale * s;
          m = std::max(m, k.scale * s);
        }
        double sum = 0;
        for (double& s : scores) sum += (s = std::exp(s - m));
        double* out_row = reference.data() + (t * k.heads + h) * D;
        for (int64_t j = 0; j < positions; ++j)
          for (int64_t i = 0; i < D; ++i) {
            const double value = fp16_to_fp32(values[j * row + g * D + i]);
            out_row[i] += scores[static_cast<size_t>(j)] / sum * value;
            scale_floor = std::max(scale_floor, std::fabs(value));
          }
      }
  } else if (k.op == "embed") {
    const uint8_t* table = d.as<uint8_t>(k, "table");
    const int32_t* ids = d.as<int32_t>(k, "ids");
    const size_t row_bytes = *ggml_row_bytes(k.quant, static_cast<uint64_t>(k.cols));
    std::vector<float> row(static_cast<size_t>(k.cols));
    std::vector<uint8_t> blocks(row_bytes);  // the row back in the file's layout
    for (int64_t t = 0; t < T; ++t) {
      convert_weight_layout(k.quant, 1, static_cast<uint64_t>(k.cols),
                            std::span<const uint8_t>(table + static_cast<size_t>(ids[t]) * row_bytes, row_bytes),
                            k.layout, blocks, WeightLayout::Blocks);
      dequantize_row(k.quant, blocks.data(), row.data(), k.cols);
      reference.insert(reference.end(), row.begin(), row.end());
    }
  }
  if (k.q8) {
    // q8 holds the kernel's own out rows quantized (quantize_row_q8_1's rounding, bit for bit):
    // the codes of row t at t x W, then a (d, d x sum of codes) pair per block of 32.
    const int8_t* codes = d.as<int8_t>(k, "q8");
    std::vector<float> pairs(static_cast<size_t>(T * W / 16));
    std::memcpy(pairs.data(), codes + T * W, pairs.size() * sizeof(float));
    for (int64_t block = 0; block < T * W / 32; ++block) {
      const BlockQ8 want = quantize_block_q8(out + block * 32);
      const int8_t* got = codes + block * 32;
      const float got_d = pairs[2 * static_cast<size_t>(block)];
      const float got_sum = pairs[2 * static_cast<size_t>(block) + 1];
      int sum = 0;
      int bad = -1;
      for (int i = 0; i < 32; ++i) {
        sum += got[i];
        const int off = std::abs(static_cast<int>(got[i]) - static_cast<int>(want.codes[i]));
        if (bad < 0 && off > (want.tie[i] ? 1 : 0)) bad = i;
      }
      const float want_sum = got_d * static_cast<float>(sum);
      if (bad >= 0 || std::bit_cast<uint32_t>(got_d) != std::bit_cast<uint32_t>(want.d) ||
          std::bit_cast<uint32_t>(got_sum) != std::bit_cast<uint32_t>(want_sum)) {
        r.finite = false;
        r.detail = bad >= 0 ? fmt::format("q8 block {}: code {} is {}, the block's out values quantize to {}", block,
                                          bad, got[bad], want.codes[bad])
                            : fmt::format("q8 block {}: d, d x sum = {}, {}; expected {}, {}", block, got_d, got_sum,
                                          want.d, want_sum);
        return r;
      }
    }
  }
  const int64_t width = static_cast<int64_t>(reference.size()) / T;
  for (size_t i = 0; i < reference.size(); ++i)
    accumulate(r, max_reference, max_difference, out[i], reference[i], [&] {
      return fmt::format("out[{}][{}]", static_cast<int64_t>(i) / width, static_cast<int64_t>(i) % width);
    });
  return finish();
}

void report(Counts& counts, const OpKernel& k, const Result& r) {
  r.pass() ? ++counts.passed : ++counts.failed;
  const std::string error = r.exact ? std::string("exact") : fmt::format("err {:.2e} (bound {:.1e})", r.error, r.bound);
  fmt::print("  {}  {:<46} {:<8} {:<22} {}{}\n", r.pass() ? "PASS" : "FAIL", k.name, k.op, shape_text(k),
             r.exact && !r.finite ? "mismatch" : error, r.detail.empty() ? "" : "  " + r.detail);
}


//===----------------------------------------------------------------------===//
// qmatmul: the prefill product, whose token count is an argument
//===----------------------------------------------------------------------===//

// Token counts every qmatmul kernel is checked at: below, at and past the tiles' token counts
// (16, 32 and 64 in the check suite), so that partial token tiles are covered.
constexpr int64_t kMatMulCheckTokens[] = {9, 16, 37, 64};
// A prompt batch: the token count of benchmark shapes.
constexpr int64_t kMatMulPerfTokens = 512;
// As for qmatvec's f32 method: the kernel differs from the reference only by summation order.
constexpr double kMatMulBound = 1e-4;

struct MatMulKernel {
  std::string name;
  GgmlType quant = GgmlType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t max_tokens = 0;
  int64_t weight_bytes = 0;
  WeightLayout layout = WeightLayout::Blocks;
  std::string function;
  unsigned grid_x = 1;  // GPU: row tiles; along y, ceil(T / tokens_per_workgroup)
  unsigned block = 1;
  int64_t tokens_per_workgroup = 0;

  // Weights large enough that a run measures the kernel, not the launch.
  bool perf_shape() const { return rows * cols >= int64_t{4096} * 4096; }
  // The token counts a run uses.
  std::vector<int64_t> token_counts() const {
    if (perf_shape()) return {std::min(kMatMulPerfTokens, max_tokens)};
    std::vector<int64_t> counts;
    for (int64_t t : kMatMulCheckTokens)
      if (t <= max_tokens) counts.push_back(t);
    return counts;
  }
};

bool is_matmul(const json& entry) { return entry.value("op", "") == "qmatmul"; }

MatMulKernel parse_matmul(const json& j) {
  MatMulKernel k;
  k.name = json_field<std::string>(j, "name", "manifest kernel");
  const std::string at = "kernel " + k.name;
  const std::string quant = json_field<std::string>(j, "quant", at);
  auto type = ggml_type_from_name(quant);
  if (!type || !has_cpu_kernels(*type))
    throw std::runtime_error(fmt::format("{}: quant '{}' is not a ggml type with a reference", at, quant));
  k.quant = *type;
  auto positive = [&](const char* key, int64_t limit) {
    const auto value = json_field<int64_t>(j, key, at);
    if (value < 1 || value > limit) throw std::runtime_error(fmt::format("{}: {} out of range", at, key));
    return value;
  };
  k.rows = positive("rows", int64_t{1} << 31);
  k.cols = positive("cols", int64_t{1} << 31);
  k.max_tokens = positive("max_tokens", int64_t{1} << 31);
  const auto row_bytes = ggml_row_bytes(k.quant, static_cast<uint64_t>(k.cols));
  if (!row_bytes) throw std::runtime_error(at + ": cols is not a whole number of blocks");
  k.weight_bytes = k.rows * static_cast<int64_t>(*row_bytes);
  // The parameters a qmatmul has, exactly: buffers sized by the `tokens` argument.
  const json params = json_field<json>(j, "params", at);
  if (!params.is_array() || params.empty()) throw std::runtime_error(at + ": params must be a non-empty array");
  k.layout = weights_layout(params[0], at);
  json weights = {{"name", "w"}, {"role", "weights"}, {"dtype", "i8"}, {"bytes", k.weight_bytes}, {"align", 16}};
  if (params[0].contains("layout")) weights["layout"] = std::string(weight_layout_name(k.layout));
  const json expected = {
      weights,
      {{"name", "x"}, {"role", "input"}, {"dtype", "f32"}, {"shape", {"tokens", k.cols}}},
      {{"name", "y"}, {"role", "output"}, {"dtype", "f32"}, {"shape", {"tokens", k.rows}}},
      {{"name", "tokens"}, {"role", "scalar"}, {"dtype", "i64"}}};
  if (params != expected)
    throw std::runtime_error(fmt::format("{}: params do not match a qmatmul of {} x {} {}", at, k.rows, k.cols, quant));
  const json launches = json_field<json>(j, "launches", at);
  if (!launches.is_array() || launches.size() != 1) throw std::runtime_error(at + ": expected one launch");
  const json& launch = launches[0];
  k.function = json_field<std::string>(launch, "function", at);
  if (json_field<std::vector<std::string>>(launch, "args", at) != std::vector<std::string>{"w", "x", "y", "tokens"})
    throw std::runtime_error(at + ": the launch must pass w, x, y, tokens");
  if (launch.contains("grid")) {
    const json grid = json_field<json>(launch, "grid", at);
    if (!grid.is_array() || grid.size() != 3 || !grid[0].is_number_unsigned() || !grid[1].is_null())
      throw std::runtime_error(at + ": grid must be [row tiles, null, 1]");
    k.grid_x = grid[0].get<unsigned>();
    k.block = json_field<std::vector<unsigned>>(launch, "block", at).at(0);
    k.tokens_per_workgroup = json_field<int64_t>(launch, "tokens_per_workgroup", at);
    if (k.tokens_per_workgroup < 1 || k.tokens_per_workgroup > k.max_tokens)
      throw std::runtime_error(at + ": tokens_per_workgroup out of range");
  }
  return k;
}

struct MatMulData {
  std::vector<uint8_t> weights;
  std::vector<float> x;
  std::vector<float> y;
  std::vector<double> reference;
};

// Weights from the seed and the kernel's name, activations in [-1, 1] also from the token count,
// y poisoned with NaN, and the reference llmc::vec_dot (the qmatvec check's) of every row and token.
MatMulData make_matmul_data(const MatMulKernel& k, int64_t tokens, uint64_t seed) {
  MatMulData d;
  d.weights.resize(static_cast<size_t>(k.weight_bytes));
  fill_random_blocks(k.quant, d.weights, mix(seed ^ name_hash(k.name)));
  std::mt19937_64 rng(mix(seed + static_cast<uint64_t>(tokens)) ^ name_hash(k.name));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  d.x.resize(static_cast<size_t>(tokens * k.cols));
  for (float& v : d.x) v = uniform(rng);
  d.y.assign(static_cast<size_t>(tokens * k.rows), std::numeric_limits<float>::quiet_NaN());
  d.reference.resize(d.y.size());
  const size_t row_bytes = static_cast<size_t>(k.weight_bytes / k.rows);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int64_t r = t; r < k.rows; r += threads)
        for (int64_t n = 0; n < tokens; ++n)
          d.reference[static_cast<size_t>(n * k.rows + r)] =
              vec_dot(k.quant, d.weights.data() + static_cast<size_t>(r) * row_bytes, d.x.data() + n * k.cols, k.cols);
    });
  for (std::thread& thread : pool) thread.join();
  d.weights = in_layout(k.quant, k.rows, k.cols, std::move(d.weights), k.layout);
  return d;
}

Result evaluate_matmul(const MatMulKernel& k, const MatMulData& d) {
  Result r;
  r.bound = kMatMulBound;
  double max_reference = 0;
  double max_difference = 0;
  for (size_t i = 0; i < d.y.size(); ++i)
    accumulate(r, max_reference, max_difference, d.y[i], d.reference[i], [&] {
      return fmt::format("y[{}][{}]", static_cast<int64_t>(i) / k.rows, static_cast<int64_t>(i) % k.rows);
    });
  r.error = max_difference / std::max(max_reference, 1e-30);
  return r;
}

void report_matmul(Counts& counts, const MatMulKernel& k, int64_t tokens, const Result& r) {
  r.pass() ? ++counts.passed : ++counts.failed;
  fmt::print("  {}  {:<46} {:<8} {:<22} err {:.2e} (bound {:.1e}){}\n", r.pass() ? "PASS" : "FAIL", k.name, "qmatmul",
             fmt::format("t{} {} {}x{}", tokens, ggml_type_name(k.quant), k.rows, k.cols), r.error, r.bound,
             r.detail.empty() ? "" : "  " + r.detail);
}

// Launches per CUDA graph when --perf times an op kernel on a GPU.
constexpr int kOpPerfIterations = 200;

// One op kernel's time per launch, and the bytes of its buffers (inputs and outputs, each once)
// over that time: a floor on the memory traffic, so a rate for the memory-bound ops.
void report_op_perf(const OpKernel& k, const Data& d, double seconds) {
  size_t bytes = 0;
  for (size_t i = 0; i < k.params.size(); ++i)
    if (!k.params[i].scalar()) bytes += d.buffers[i].size();
  fmt::print("        perf {:<46} {:9.2f} us a launch in a CUDA graph, {:8.1f} GB/s of its buffers\n", k.name,
             seconds * 1e6, static_cast<double>(bytes) / seconds / 1e9);
}

void report_matmul_perf(const MatMulKernel& k, int64_t tokens, double seconds, const std::string& where) {
  const double flops = 2.0 * static_cast<double>(k.rows) * static_cast<double>(k.cols) * static_cast<double>(tokens);
  fmt::print("        perf {:<46} t{} {:9.1f} us {:8.1f} GFLOP/s ({})\n", k.name, tokens, seconds * 1e6,
             flops / seconds / 1e9, where);
}

//===----------------------------------------------------------------------===//
// x86-64
//===----------------------------------------------------------------------===//

// Calls `fn` with `args`: pointers and 64-bit integers, which the x86-64 System V ABI passes alike
// in integer registers and stack slots, so one signature of as many uint64_t covers every kernel.
template <size_t... I>
void call_with(void* fn, const std::vector<uint64_t>& args, std::index_sequence<I...>) {
  using Fn = void (*)(decltype(I, uint64_t{})...);
  reinterpret_cast<Fn>(fn)(args[I]...);
}

void call(void* fn, const std::vector<uint64_t>& args) {
  switch (args.size()) {
    case 4: return call_with(fn, args, std::make_index_sequence<4>());
    case 5: return call_with(fn, args, std::make_index_sequence<5>());
    case 6: return call_with(fn, args, std::make_index_sequence<6>());
    case 7: return call_with(fn, args, std::make_index_sequence<7>());
    default: throw std::runtime_error(fmt::format("a kernel of {} arguments", args.size()));
  }
}

class Library {
 public:
  explicit Library(const fs::path& file) : handle_(::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL)) {
    if (!handle_) throw std::runtime_error(fmt::format("{}: cannot load: {}", file.string(), ::dlerror()));
  }
  ~Library() { ::dlclose(handle_); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  void* symbol(const std::string& name, const fs::path& file) const {
    void* fn = ::dlsym(handle_, name.c_str());
    if (!fn) throw std::runtime_error(fmt::format("{}: no symbol {}", file.string(), name));
    return fn;
  }

 private:
  void* handle_;
};

//===----------------------------------------------------------------------===//
// NVIDIA
//===----------------------------------------------------------------------===//

class CudaContext {
 public:
  CudaContext(const cuda::CudaDriver& cu, const std::string& ptx, const fs::path& file) : cu_(cu) {
    check(cu_.cuDeviceGet(&device_, 0), "cuDeviceGet");
    check(cu_.cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
    check(cu_.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
    std::vector<char> log(16384, '\0');
    int options[] = {cuda::CU_JIT_ERROR_LOG_BUFFER, cuda::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void* values[] = {log.data(), reinterpret_cast<void*>(log.size())};
    const cuda::CUresult result = cu_.cuModuleLoadDataEx(&module_, ptx.c_str(), 2, options, values);
    if (result != cuda::CUDA_SUCCESS)
      throw std::runtime_error(
          fmt::format("{}: the driver's PTX JIT failed: {}: {}", file.string(), cu_.error_text(result), log.data()));
  }
  ~CudaContext() {
    for (cuda::CUdeviceptr p : allocations_) cu_.cuMemFree(p);
    if (module_) cu_.cuModuleUnload(module_);
    if (context_) cu_.cuDevicePrimaryCtxRelease(device_);
  }
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  void check(cuda::CUresult result, const std::string& what) const {
    if (result != cuda::CUDA_SUCCESS) throw std::runtime_error(fmt::format("{}: {}", what, cu_.error_text(result)));
  }

  // Runs one kernel: copies every buffer in, launches, and copies the outputs back. With
  // `iterations` > 0, then times that many launches on the same buffers (in a CUDA graph where the
  // driver has graphs) and returns the seconds of one.
  double run(const OpKernel& k, Data& d, int iterations = 0) {
    cuda::CUfunction fn = nullptr;
    check(cu_.cuModuleGetFunction(&fn, module_, k.function.c_str()), k.function);
    std::vector<cuda::CUdeviceptr> pointers(k.params.size(), 0);
    for (size_t i = 0; i < k.params.size(); ++i) {
      if (k.params[i].scalar()) continue;
      check(cu_.cuMemAlloc(&pointers[i], std::max<size_t>(d.buffers[i].size(), 4)), "cuMemAlloc");
      allocations_.push_back(pointers[i]);
      check(cu_.cuMemcpyHtoD(pointers[i], d.buffers[i].data(), d.buffers[i].size()), "cuMemcpyHtoD");
    }
    std::vector<void*> params;
    for (const std::string& arg : k.args) {
      const size_t i = k.param_index(arg);
      params.push_back(k.params[i].scalar() ? static_cast<void*>(d.buffers[i].data())
                                            : static_cast<void*>(&pointers[i]));
    }
    auto launch = [&](cuda::CUstream stream) {
      check(cu_.cuLaunchKernel(fn, k.grid, 1, 1, k.block, 1, 1, 0, stream, params.data(), nullptr), k.function);
    };
    launch(nullptr);
    check(cu_.cuCtxSynchronize(), k.name);
    for (size_t i = 0; i < k.params.size(); ++i)
      if (k.params[i].role == "output")
        check(cu_.cuMemcpyDtoH(d.buffers[i].data(), pointers[i], d.buffers[i].size()), "cuMemcpyDtoH");
    double seconds = 0;
    if (iterations > 0)
      seconds = has_graphs(cu_) ? graph_seconds(cu_, launch, iterations)
                                : event_seconds(cu_, [&] { launch(nullptr); }, iterations);
    for (cuda::CUdeviceptr p : allocations_) cu_.cuMemFree(p);
    allocations_.clear();
    return seconds;
  }

  // Runs a qmatmul kernel over `tokens` rows and copies y back; with `iterations` > 0, then times
  // that many launches and returns the seconds of one.
  double run_matmul(const MatMulKernel& k, int64_t tokens, MatMulData& d, int iterations) {
    cuda::CUfunction fn = nullptr;
    check(cu_.cuModuleGetFunction(&fn, module_, k.function.c_str()), k.function);
    auto upload = [&](const void* data, size_t bytes) {
      cuda::CUdeviceptr p = 0;
      check(cu_.cuMemAlloc(&p, std::max<size_t>(bytes, 4)), "cuMemAlloc");
      allocations_.push_back(p);
      if (data) check(cu_.cuMemcpyHtoD(p, data, bytes), "cuMemcpyHtoD");
      return p;
    };
    cuda::CUdeviceptr w = upload(d.weights.data(), d.weights.size());
    cuda::CUdeviceptr x = upload(d.x.data(), d.x.size() * sizeof(float));
    cuda::CUdeviceptr y = upload(nullptr, d.y.size() * sizeof(float));
    check(cu_.cuMemsetD32(y, kNanBits, d.y.size()), "cuMemsetD32");
    int64_t count = tokens;
    void* params[] = {&w, &x, &y, &count};
    const auto tiles = static_cast<unsigned>((tokens + k.tokens_per_workgroup - 1) / k.tokens_per_workgroup);
    auto launch = [&] {
      check(cu_.cuLaunchKernel(fn, k.grid_x, tiles, 1, k.block, 1, 1, 0, nullptr, params, nullptr), k.function);
    };
    launch();
    check(cu_.cuCtxSynchronize(), k.name);
    check(cu_.cuMemcpyDtoH(d.y.data(), y, d.y.size() * sizeof(float)), "cuMemcpyDtoH");
    double seconds = 0;
    if (iterations > 0) {
      cuda::CUevent start = nullptr;
      cuda::CUevent stop = nullptr;
      check(cu_.cuEventCreate(&start, 0), "cuEventCreate");
      check(cu_.cuEventCreate(&stop, 0), "cuEventCreate");
      check(cu_.cuEventRecord(start, nullptr), "cuEventRecord");
      for (int i = 0; i < iterations; ++i) launch();
      check(cu_.cuEventRecord(stop, nullptr), "cuEventRecord");
      check(cu_.cuEventSynchronize(stop), "cuEventSynchronize");
      float ms = 0;
      check(cu_.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
      cu_.cuEventDestroy(start);
      cu_.cuEventDestroy(stop);
      seconds = ms / 1e3 / iterations;
    }
    for (cuda::CUdeviceptr p : allocations_) cu_.cuMemFree(p);
    allocations_.clear();
    return seconds;
  }

 private:
  const cuda::CudaDriver& cu_;
  cuda::CUdevice device_ = 0;
  cuda::CUcontext context_ = nullptr;
  cuda::CUmodule module_ = nullptr;
  std::vector<cuda::CUdeviceptr> allocations_;
};

}  // namespace

bool is_op_kernel(const json& kernel) {
  return kernel.is_object() && kernel.contains("op") && kernel["op"].is_string() && kernel["op"] != "qmatvec";
}

std::vector<json> select(const std::vector<json>& kernels, const std::vector<std::string>& quants) {
  if (quants.empty()) return kernels;
  std::vector<json> chosen;
  for (const json& k : kernels) {
    if (k.value("op", "") != "embed" && !is_matmul(k)) continue;
    auto type = ggml_type_from_name(k.value("quant", ""));
    for (const std::string& q : quants)
      if (type && ggml_type_from_name(q) == type) chosen.push_back(k);
  }
  return chosen;
}

// A qmatmul kernel on this CPU at each of its token counts, over three uneven ranges of weight
// rows; a benchmark shape is then timed on every core.
void check_matmul_cpu(const Library& lib, const fs::path& library, const json& entry, uint64_t seed, bool perf,
                      Counts& counts) {
  const MatMulKernel k = parse_matmul(entry);
  if (k.perf_shape() && !perf) return;
  using Fn = void (*)(const void* w, const float* x, float* y, int64_t tokens, int64_t row_begin, int64_t row_end);
  auto fn = reinterpret_cast<Fn>(lib.symbol(k.function, library));
  for (int64_t tokens : k.token_counts()) {
    MatMulData d = make_matmul_data(k, tokens, seed);
    const int64_t a = k.rows / 3 + 1;
    const int64_t b = std::min(k.rows, 2 * k.rows / 3 + 2);
    fn(d.weights.data(), d.x.data(), d.y.data(), tokens, 0, a);
    fn(d.weights.data(), d.x.data(), d.y.data(), tokens, a, b);
    fn(d.weights.data(), d.x.data(), d.y.data(), tokens, b, k.rows);
    report_matmul(counts, k, tokens, evaluate_matmul(k, d));
    if (!perf || !k.perf_shape()) continue;
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    auto run_all = [&] {
      std::vector<std::thread> pool;
      const int64_t step = (k.rows + threads - 1) / threads;
      for (unsigned t = 0; t < threads; ++t) {
        const int64_t begin = std::min(k.rows, t * step);
        const int64_t end = std::min(k.rows, begin + step);
        pool.emplace_back([&, begin, end] { fn(d.weights.data(), d.x.data(), d.y.data(), tokens, begin, end); });
      }
      for (std::thread& thread : pool) thread.join();
    };
    run_all();
    constexpr int kIterations = 3;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIterations; ++i) run_all();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kIterations;
    report_matmul_perf(k, tokens, seconds, fmt::format("{} threads", threads));
  }
}

Counts check_cpu(const fs::path& library, const std::vector<json>& kernels, uint64_t seed, bool perf) {
  Counts counts;
  if (kernels.empty()) return counts;
  const Library lib(library);
  for (const json& entry : kernels) {
    if (is_matmul(entry)) {
      check_matmul_cpu(lib, library, entry, seed, perf, counts);
      continue;
    }
    const OpKernel k = parse(entry);
    void* fn = lib.symbol(k.function, library);
    Data d = make_data(k, seed);
    // Three uneven ranges of token rows, as a thread pool would split them.
    const int64_t a = std::min(k.tokens, k.tokens / 3 + 1);
    const int64_t b = std::min(k.tokens, 2 * k.tokens / 3 + 1);
    const std::pair<int64_t, int64_t> ranges[] = {{0, a}, {a, b}, {b, k.tokens}};
    for (auto [begin, end] : ranges) {
      std::vector<uint64_t> args;
      for (const std::string& arg : k.args) {
        const size_t i = k.param_index(arg);
        uint64_t value = 0;
        if (k.params[i].scalar())
          std::memcpy(&value, d.buffers[i].data(), 8);
        else
          value = reinterpret_cast<uintptr_t>(d.buffers[i].data());
        args.push_back(value);
      }
      args.push_back(static_cast<uint64_t>(begin));
      args.push_back(static_cast<uint64_t>(end));
      call(fn, args);
    }
    report(counts, k, evaluate(k, d));
  }
  return counts;
}

Counts check_cuda(const fs::path& ptx, const std::string& chip, const std::vector<json>& kernels, uint64_t seed,
                  bool perf) {
  Counts counts;
  if (kernels.empty()) return counts;
  std::string reason;
  const cuda::CudaDriver* driver = cuda::CudaDriver::load(&reason);
  if (!driver) {
    // As many as a run would report: a qmatmul line per token count, benchmark shapes with `perf`.
    int runs = 0;
    for (const json& entry : kernels) {
      if (!is_matmul(entry)) {
        ++runs;
        continue;
      }
      const MatMulKernel k = parse_matmul(entry);
      if (perf || !k.perf_shape()) runs += static_cast<int>(k.token_counts().size());
    }
    fmt::print("{} ({}): skipped {} op kernels: {}\n", chip, ptx.filename().string(), runs, reason);
    counts.skipped = runs;
    return counts;
  }
  std::ifstream in(ptx, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", ptx.string()));
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  CudaContext context(*driver, text, ptx);
  for (const json& entry : kernels) {
    if (is_matmul(entry)) {
      const MatMulKernel k = parse_matmul(entry);
      if (k.perf_shape() && !perf) continue;
      for (int64_t tokens : k.token_counts()) {
        MatMulData d = make_matmul_data(k, tokens, seed);
        context.run_matmul(k, tokens, d, 0);
        report_matmul(counts, k, tokens, evaluate_matmul(k, d));
        if (perf && k.perf_shape()) report_matmul_perf(k, tokens, context.run_matmul(k, tokens, d, 20), "CUDA");
      }
      continue;
    }
    const OpKernel k = parse(entry);
    Data d = make_data(k, seed);
    const double seconds = context.run(k, d, perf ? kOpPerfIterations : 0);
    report(counts, k, evaluate(k, d));
    if (perf) report_op_perf(k, d, seconds);
  }
  return counts;
}

}  // namespace llmc::cli::opcheck
