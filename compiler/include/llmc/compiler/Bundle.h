// Writing a kernel bundle (docs/bundle-format.md): the kernels a model needs, compiled per chip,
// with a manifest saying how to launch each. No MLIR types here: tools include this header alone.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmc::compiler {

// A bundle that could not be built: the message names the chip, the kernel or the file.
class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TuningValues {
  int64_t rows_per_block = 1;
  int64_t warps = 4;
  int64_t vector_width = 2;
  int64_t unroll = 1;
  int64_t slices_per_lane = 0;  // qmatvec: fit warps to each matrix (QMatVecTuning::slicesPerLane)
  int64_t group_warps = 0;      // qmatvec: warps per row group (QMatVecTuning::groupWarps)
  int64_t prefetch = 0;         // qmatvec: workgroup rows into L2 first (QMatVecTuning::prefetch)
  int64_t row_steps = 1;        // qmatvec: blocks of rows per workgroup (QMatVecTuning::rowSteps)
  int64_t min_blocks = 0;       // qmatvec: workgroups kept resident per multiprocessor (QMatVecTuning::minBlocks)
};

// One kernel. `op` names the llmc op it computes (docs/bundle-format.md): "qmatvec" (the
// default), "qmatmul", "rms_norm", "add", "mul", "swiglu", "softmax", "argmax", "rope",
// "kv_store", "embed" or "attention". Each op reads only its own fields.
struct KernelRequest {
  std::string op = "qmatvec";
  // qmatvec: the weights' ggml type id, matrix shape, vectors per product and tuning.
  // qmatmul: the same but the batch (the token count is the kernel's argument).
  // embed: the table's type and shape (rows = vocabulary, cols = width).
  uint32_t type = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t batch = 1;
  std::optional<TuningValues> tuning;  // the chip's default when absent
  std::string tuning_source;           // "plan", "chip default", ... (recorded in the manifest)
  bool allow_int8 = true;              // qmatvec: false forces the f32 method
  // qmatvec, qmatmul, embed: the weights' layout, "blocks" or "row_planar"; empty for the chip's
  // default (row_planar on GPUs, blocks on CPUs).
  std::string layout;
  // Every op but qmatvec: token rows T; and values per row for rms_norm, add, mul, swiglu,
  // softmax, argmax and kv_store.
  int64_t tokens = 1;
  int64_t width = 0;
  bool broadcast = false;   // add, mul: the right operand is one row applied to every row
  float eps = 1e-5f;        // rms_norm
  bool quantize = false;    // rms_norm: also write the rows as the int8 products' activations (q8)
  float scale = 1.0f;       // softmax, attention (the scores' factor)
  std::string rope_mode = "norm";  // rope: "norm" or "neox"
  int64_t heads = 0;        // rope, attention
  int64_t head_dim = 0;     // rope, attention
  int64_t kv_heads = 0;     // attention
  bool causal = false;      // attention: row t sees positions up to n_past + t
  int64_t rope_dims = 0;    // rope: rotated values per head
  float freq_base = 10000.0f;  // rope
  std::string cache_type = "f16";  // kv_store: "f16", "q8_0" or "q4_0"; attention: "f16"
  int64_t n_ctx = 0;        // kv_store, attention: positions the cache holds
  std::vector<std::string> tensors;    // GGUF tensors the kernel serves
};

struct ChipRequest {
  std::string chip;
  std::vector<KernelRequest> kernels;
};

struct BundleOptions {
  std::string output_dir;
  std::string cache_dir;       // empty: compile everything
  bool write_assembly = false;  // kernels/<chip>.s next to each binary (PTX is its own listing)
  int jobs = 0;                 // compile threads; 0: one per core
  nlohmann::ordered_json model;  // the GGUF the bundle binds to, or null
  nlohmann::ordered_json plan;   // the plan it was built for, or null
};

struct ChipBuildReport {
  std::string chip;
  std::string file;  // relative to the bundle
  int kernels = 0;     // manifest entries (one per distinct op, type, shape and tuning)
  int compiled = 0;    // functions compiled now (kernels and activation quantizers)
  int from_cache = 0;  // functions taken from the kernel cache
  double seconds = 0;
};

// Compiles (or takes from the cache) every requested kernel and writes
// OUT/manifest.json and OUT/kernels/<chip>.{ptx,hsaco,so}. Throws BundleError.
std::vector<ChipBuildReport> writeBundle(const std::vector<ChipRequest>& chips, const BundleOptions& options);

// Compiles one kernel and returns its assembly (PTX, AMDGPU or x86 assembly text), for
// inspection and the ISA tests. Throws BundleError.
std::string kernelAssembly(const std::string& chip, const KernelRequest& kernel);

// The kernel cache directory: $LLMC_CACHE_DIR, else $XDG_CACHE_HOME/llmc, else ~/.cache/llmc,
// with /kernels appended; empty when none of them can be determined.
std::string defaultKernelCacheDir();

// Chips a bundle can target: every chip in targets/chips.json with a code generator.
std::vector<std::string> supportedChips();

// ggml type ids the qmatvec lowering handles (and llmc.embed gathers).
std::vector<uint32_t> supportedQMatVecTypes();

// The ops a KernelRequest may name, "qmatvec" first.
std::vector<std::string> supportedKernelOps();

// FNV-1a, 64 bits, as 16 hex digits: the manifest's hash of a GGUF header.
std::string fnv1a64Hex(const void* data, size_t size);

}  // namespace llmc::compiler
