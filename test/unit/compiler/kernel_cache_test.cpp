#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include <unistd.h>

#include "Bundle/KernelCache.h"
#include "llmc/compiler/Bundle.h"
#include "llmc/compiler/TargetInfo.h"

namespace llmc::compiler {
namespace {

using mlir::llmc::QuantType;

QMatVecPlan plan(const char* chip, QuantType type, int64_t rows, int64_t cols, QMatVecTuning tuning, bool int8) {
  return *planQMatVec(*makeTargetInfo(chip), type, rows, cols, 1, tuning, int8, mlir::llmc::WeightLayout::Blocks, nullptr);
}

TEST(Fnv1a64, KnownVectors) {
  EXPECT_EQ(fnv1a64Hex("", 0), "cbf29ce484222325");
  EXPECT_EQ(fnv1a64Hex("a", 1), "af63dc4c8601ec8c");
  EXPECT_EQ(fnv1a64Hex("foobar", 6), "85944171f73967e8");
}

TEST(KernelCache, KeysTellApartEverythingThatChangesTheCode) {
  const QMatVecTuning base{1, 4, 2, 1};
  std::set<std::string> keys = {
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, base, true)),
      KernelCache::key("sm_90", plan("sm_90", QuantType::Q4_0, 4096, 4096, base, true)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, base, false)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_1, 4096, 4096, base, true)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 1024, 4096, base, true)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 14336, base, true)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, {2, 4, 2, 1}, true)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, {1, 8, 2, 1}, true)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, {1, 4, 4, 1}, true)),
      KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, {1, 4, 2, 2}, true)),
      // Warps fitted to the row: the same tuning values, a different kernel.
      KernelCache::key("sm_90", plan("sm_90", QuantType::Q4_0, 4096, 14336, {1, 4, 4, 1, 1}, true)),
      KernelCache::key("sm_90", plan("sm_90", QuantType::Q4_0, 4096, 14336, {1, 4, 4, 1}, true)),
      KernelCache::quantizerKey("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, base, true)),
  };
  EXPECT_EQ(keys.size(), 13u);
  EXPECT_EQ(KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, base, true)),
            KernelCache::key("sm_61", plan("sm_61", QuantType::Q4_0, 4096, 4096, base, true)));
}

TEST(KernelCache, StoresAndLoadsAndMissesQuietly) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("llmc-cache-test-" + std::to_string(::getpid()));
  KernelCache cache(dir.string());
  EXPECT_FALSE(cache.load("sm_61", "0123456789abcdef"));
  cache.store("sm_61", "0123456789abcdef", "kernel bytes");
  EXPECT_EQ(cache.load("sm_61", "0123456789abcdef").value_or(""), "kernel bytes");
  KernelCache disabled("");
  EXPECT_FALSE(disabled.enabled());
  disabled.store("sm_61", "0123456789abcdef", "ignored");
  EXPECT_FALSE(disabled.load("sm_61", "0123456789abcdef"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace llmc::compiler
