// A directory of compiled kernels keyed by everything that decides their bytes: chip, op, quant
// type, shape, tuning, dot method, and the revision of the code generator (a hash of the
// compiler's sources and the LLVM version). Entries are written atomically; a damaged or missing
// entry is a miss, never an error.
#pragma once

#include <optional>
#include <string>

#include "llmc/compiler/OpPlan.h"
#include "llmc/compiler/QMatMulPlan.h"
#include "llmc/compiler/QMatVecPlan.h"

namespace llmc::compiler {

class KernelCache {
 public:
  // An empty directory disables the cache.
  explicit KernelCache(std::string directory) : directory_(std::move(directory)) {}

  bool enabled() const { return !directory_.empty(); }

  // The keys of a plan's product kernel and of its activation quantizer, as 16 hex digits.
  static std::string key(const std::string& chip, const QMatVecPlan& plan);
  static std::string quantizerKey(const std::string& chip, const QMatVecPlan& plan);
  // The key of an element-wise, row-wise, rope, kv_store or embed kernel.
  static std::string key(const std::string& chip, const OpPlan& plan);
  // The key of a qmatmul (prefill product) kernel.
  static std::string key(const std::string& chip, const QMatMulPlan& plan);

  std::optional<std::string> load(const std::string& chip, const std::string& key) const;
  void store(const std::string& chip, const std::string& key, const std::string& bytes) const;

  const std::string& directory() const { return directory_; }

 private:
  std::string path(const std::string& chip, const std::string& key) const;
  std::string directory_;
};

}  // namespace llmc::compiler
