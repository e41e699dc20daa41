// `llmc kernel-check` for the bundle kernels of ops other than qmatvec (qmatmul, rms_norm, add, mul,
// swiglu, softmax, argmax, rope, kv_store, embed, attention): fresh random inputs per run, outputs
// poisoned with NaN, a double-precision reference per op, and a normalized error bound per op
// (argmax must match exactly; NaN never passes). qmatmul kernels take the token count as an
// argument and are run at several (9, 16, 37 and 64 tokens), benchmark shapes (at least
// 4096 x 4096 weights) at 512 tokens and only with `perf`, which also times them in GFLOP/s.
// Runtime only: no compiler headers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmc/ggml_types.h"
#include "llmc/weight_layout.h"

namespace llmc::cli::opcheck {

// A 64-bit mixer (splitmix64's finalizer) and FNV-1a of a kernel name: each kernel's inputs come
// from mix(seed ^ name_hash(name)), so one seed repeats a whole run.
uint64_t mix(uint64_t value);
uint64_t name_hash(const std::string& name);

// The layout a manifest's weights parameter names ("layout"; absent means the file's blocks).
WeightLayout weights_layout(const nlohmann::json& param, const std::string& at);

// `blocks` (rows x cols of `type` in the file's layout) in `layout`: what a device is given.
std::vector<uint8_t> in_layout(GgmlType type, int64_t rows, int64_t cols, std::vector<uint8_t> blocks,
                               WeightLayout layout);

struct Counts {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
};

// The ops a manifest kernel entry may name ("op"), as `kernel-check --op` takes them.
inline const std::vector<std::string> kOpNames = {"qmatvec", "qmatmul", "rms_norm",  "add",       "mul",
                                                  "swiglu",  "softmax", "argmax",    "rope",      "kv_store",
                                                  "embed",   "attention"};

// True for a manifest kernel entry whose "op" is present and not "qmatvec".
bool is_op_kernel(const nlohmann::json& kernel);

// The entries that `quants` selects: all of them when it is empty, else the embed and qmatmul
// kernels of those types (the other ops have no quant type).
std::vector<nlohmann::json> select(const std::vector<nlohmann::json>& kernels, const std::vector<std::string>& quants);

// Runs the kernels from the x86-64 shared object `library` (dlopen) and prints one line each.
// Throws std::runtime_error for a malformed entry or a missing symbol.
Counts check_cpu(const std::filesystem::path& library, const std::vector<nlohmann::json>& kernels, uint64_t seed,
                 bool perf = false);

// Runs the kernels from the PTX file through the CUDA driver; without one, reports them skipped
// with the reason.
Counts check_cuda(const std::filesystem::path& ptx, const std::string& chip, const std::vector<nlohmann::json>& kernels,
                  uint64_t seed, bool perf = false);

}  // namespace llmc::cli::opcheck
