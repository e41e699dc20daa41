// Bundles end to end on the machine running the tests: x86-64 kernels are compiled, linked into a
// shared object, loaded and run against the CPU reference.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmc/compiler/Bundle.h"
#include "llmc/ggml_types.h"
#include "llmc/gguf_writer.h"
#include "llmc/quants.h"

namespace llmc::compiler {
namespace {

namespace fs = std::filesystem;

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("llmc-bundle-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static KernelRequest request(GgmlType type, int64_t rows, int64_t cols) {
    KernelRequest r;
    r.type = static_cast<uint32_t>(type);
    r.rows = rows;
    r.cols = cols;
    r.tensors = {"blk.0.test.weight"};
    return r;
  }

  fs::path dir_;
};

using CpuKernel = void (*)(const void*, const float*, float*, int64_t, int64_t);

TEST_F(BundleTest, X86KernelsMatchTheReference) {
  BundleOptions options;
  options.output_dir = (dir_ / "out.llmc").string();
  options.cache_dir = (dir_ / "cache").string();
  ChipRequest chip{"x86-64", {request(GgmlType::Q8_0, 37, 512), request(GgmlType::Q4_K, 20, 1024)}};
  auto reports = writeBundle({chip}, options);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].kernels, 2);
  EXPECT_EQ(reports[0].compiled, 2);
  EXPECT_EQ(reports[0].file, "kernels/x86-64.so");

  std::ifstream in(dir_ / "out.llmc" / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  EXPECT_EQ(manifest["schema"], "llmc.bundle/1");
  ASSERT_EQ(manifest["chips"][0]["kernels"].size(), 2u);

  void* library = ::dlopen((dir_ / "out.llmc" / "kernels" / "x86-64.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << ::dlerror();
  for (const auto& kernel : manifest["chips"][0]["kernels"]) {
    const auto type = *ggml_type_from_name(kernel["quant"].get<std::string>());
    const int64_t rows = kernel["rows"];
    const int64_t cols = kernel["cols"];
    auto fn = reinterpret_cast<CpuKernel>(::dlsym(library, kernel["launches"][0]["function"].get<std::string>().c_str()));
    ASSERT_NE(fn, nullptr);
    const size_t rowBytes = *ggml_row_bytes(type, static_cast<uint64_t>(cols));
    std::vector<uint8_t> w(rowBytes * static_cast<size_t>(rows));
    fill_random_blocks(type, w, 42);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-1, 1);
    std::vector<float> x(static_cast<size_t>(cols));
    for (float& v : x) v = uniform(rng);
    std::vector<float> y(static_cast<size_t>(rows), std::numeric_limits<float>::quiet_NaN());
    fn(w.data(), x.data(), y.data(), 0, 5);
    fn(w.data(), x.data(), y.data(), 5, rows);
    for (int64_t r = 0; r < rows; ++r) {
      const float reference = vec_dot(type, w.data() + static_cast<size_t>(r) * rowBytes, x.data(), cols);
      ASSERT_TRUE(std::isfinite(y[static_cast<size_t>(r)])) << kernel["name"] << " row " << r;
      EXPECT_NEAR(y[static_cast<size_t>(r)], reference, 1e-4 * std::fabs(reference) + 1e-5) << kernel["name"] << " row " << r;
    }
  }
  ::dlclose(library);

  // The second build takes everything from the cache and writes the same kernels.
  auto again = writeBundle({chip}, options);
  EXPECT_EQ(again[0].compiled, 0);
  EXPECT_EQ(again[0].from_cache, 2);
}

TEST_F(BundleTest, GpuBundlesShareTheActivationQuantizer) {
  BundleOptions options;
  options.output_dir = (dir_ / "gpu.llmc").string();
  ChipRequest chip{"sm_61", {request(GgmlType::Q4_0, 64, 512), request(GgmlType::Q8_0, 32, 512),
                             request(GgmlType::Q8_0, 32, 512)}};
  auto reports = writeBundle({chip}, options);
  EXPECT_EQ(reports[0].kernels, 2);   // the equal requests are one kernel
  EXPECT_EQ(reports[0].compiled, 3);  // two products and one quantizer for 512 columns
  std::ifstream in(dir_ / "gpu.llmc" / "kernels" / "sm_61.ptx");
  const std::string ptx((std::istreambuf_iterator<char>(in)), {});
  size_t entries = 0;
  for (size_t at = ptx.find(".entry llmc_quantize_q8_512_b1("); at != std::string::npos;
       at = ptx.find(".entry llmc_quantize_q8_512_b1(", at + 1))
    ++entries;
  EXPECT_EQ(entries, 1u);
  EXPECT_EQ(ptx.find(".target", ptx.find(".target") + 1), std::string::npos) << "one PTX header";
}

TEST_F(BundleTest, ErrorsNameTheChipAndTheKernel) {
  BundleOptions options;
  options.output_dir = (dir_ / "bad.llmc").string();
  try {
    writeBundle({{"sm_61", {request(GgmlType::Q4_K, 8, 100)}}}, options);
    FAIL() << "expected a BundleError";
  } catch (const BundleError& e) {
    EXPECT_STREQ(e.what(), "sm_61: qmatvec 8x100: cols (100) is not a multiple of the q4_K block size (256)");
  }
  EXPECT_THROW(writeBundle({{"sm_42", {}}}, options), BundleError);
}

TEST(Bundle, SupportedChipsAndTypes) {
  const auto chips = supportedChips();
  for (const char* chip : {"sm_61", "sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "gfx906", "gfx908", "gfx90a",
                           "gfx1030", "gfx1100", "x86-64"})
    EXPECT_NE(std::find(chips.begin(), chips.end(), chip), chips.end()) << chip;
  EXPECT_EQ(supportedQMatVecTypes().size(), 16u);
}

}  // namespace
}  // namespace llmc::compiler
