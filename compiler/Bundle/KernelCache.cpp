#include "KernelCache.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <unistd.h>

#include "llvm/Config/llvm-config.h"
#include "llmc/compiler/Bundle.h"
#include "llmc/codegen_revision.h"

namespace llmc::compiler {

namespace fs = std::filesystem;

std::string KernelCache::key(const std::string& chip, const QMatVecPlan& plan) {
  const QMatVecTuning& t = plan.tuning;
  const std::string text = std::string("llmc-kernel/1|") + LLMC_CODEGEN_REVISION + "|llvm " + LLVM_VERSION_STRING +
                           "|" + chip + "|qmatvec|" + mlir::llmc::stringifyQuantType(plan.quant).str() + "|" +
                           std::to_string(plan.rows) + "x" + std::to_string(plan.cols) + "x" +
                           std::to_string(plan.batch) + "|" + std::to_string(t.rowsPerBlock) + "," +
                           std::to_string(t.warps) + "," + std::to_string(t.vectorWidth) + "," +
                           std::to_string(t.unroll) + "," + std::to_string(plan.rowGroups) + "|" +
                           std::string(dotMethodName(plan.method)) + "|" + plan.kernelName;
  return fnv1a64Hex(text.data(), text.size());
}

std::string KernelCache::quantizerKey(const std::string& chip, const QMatVecPlan& plan) {
  const std::string text = std::string("llmc-kernel/1|") + LLMC_CODEGEN_REVISION + "|llvm " + LLVM_VERSION_STRING +
                           "|" + chip + "|quantize_q8|" + std::to_string(plan.cols) + "x" + std::to_string(plan.batch);
  return fnv1a64Hex(text.data(), text.size());
}

std::string KernelCache::key(const std::string& chip, const OpPlan& plan) {
  // The name spells the op, its shapes and attributes; the launch shape follows from them and
  // the chip, but is hashed too so that a planning change can never return stale code.
  const std::string text = std::string("llmc-kernel/1|") + LLMC_CODEGEN_REVISION + "|llvm " + LLVM_VERSION_STRING +
                           "|" + chip + "|" + std::string(opKindName(plan.spec.kind)) + "|" + plan.kernelName + "|" +
                           std::to_string(plan.gridX) + "x" + std::to_string(plan.blockX) + "|v" +
                           std::to_string(plan.vectorWidth);
  return fnv1a64Hex(text.data(), text.size());
}

std::string KernelCache::key(const std::string& chip, const QMatMulPlan& plan) {
  // The name spells the type, shape and tuning; the tiles and the K-step follow from them, but
  // are hashed too so that a planning change can never return stale code.
  const std::string text = std::string("llmc-kernel/1|") + LLMC_CODEGEN_REVISION + "|llvm " + LLVM_VERSION_STRING +
                           "|" + chip + "|qmatmul|" + plan.kernelName + "|" + std::to_string(plan.tileRows) + "x" +
                           std::to_string(plan.tileTokens) + "x" + std::to_string(plan.stepValues) + "|" +
                           std::to_string(plan.blockX) + "|" + std::to_string(plan.maxTokens);
  return fnv1a64Hex(text.data(), text.size());
}

std::string KernelCache::path(const std::string& chip, const std::string& key) const {
  return (fs::path(directory_) / chip / (key + ".bin")).string();
}

std::optional<std::string> KernelCache::load(const std::string& chip, const std::string& key) const {
  if (!enabled()) return std::nullopt;
  std::ifstream in(path(chip, key), std::ios::binary);
  if (!in) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  if (bytes.empty()) return std::nullopt;
  return bytes;
}

void KernelCache::store(const std::string& chip, const std::string& key, const std::string& bytes) const {
  if (!enabled()) return;
  std::error_code ec;
  const fs::path final = path(chip, key);
  fs::create_directories(final.parent_path(), ec);
  if (ec) return;  // an unwritable cache only costs speed
  const fs::path temporary = final.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      fs::remove(temporary, ec);
      return;
    }
  }
  fs::rename(temporary, final, ec);
  if (ec) fs::remove(temporary, ec);
}

}  // namespace llmc::compiler
