// Bundles end to end on the machine running the tests: x86-64 kernels are compiled, linked into a
// shared object, loaded and run against the CPU reference.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
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

using CpuMatMul = void (*)(const void*, const float*, float*, int64_t, int64_t, int64_t);

TEST_F(BundleTest, X86PrefillProductsMatchTheReferenceAtAnyTokenCount) {
  BundleOptions options;
  options.output_dir = (dir_ / "prefill.llmc").string();
  KernelRequest prefill = request(GgmlType::Q4_K, 21, 512);
  prefill.op = "qmatmul";
  auto reports = writeBundle({{"x86-64", {prefill}}}, options);
  EXPECT_EQ(reports[0].kernels, 1);
  std::ifstream in(dir_ / "prefill.llmc" / "manifest.json");
  const auto kernel = nlohmann::json::parse(in)["chips"][0]["kernels"][0];
  EXPECT_EQ(kernel["op"], "qmatmul");
  EXPECT_EQ(kernel["launches"][0]["abi"], "cpu_rows");
  EXPECT_EQ(kernel["launches"][0]["args"], nlohmann::json({"w", "x", "y", "tokens"}));

  void* library = ::dlopen((dir_ / "prefill.llmc" / "kernels" / "x86-64.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << ::dlerror();
  auto fn = reinterpret_cast<CpuMatMul>(::dlsym(library, kernel["name"].get<std::string>().c_str()));
  ASSERT_NE(fn, nullptr);
  const int64_t rows = 21;
  const int64_t cols = 512;
  const size_t rowBytes = *ggml_row_bytes(GgmlType::Q4_K, cols);
  std::vector<uint8_t> w(rowBytes * rows);
  fill_random_blocks(GgmlType::Q4_K, w, 42);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (int64_t tokens : {9, 12}) {
    std::vector<float> x(static_cast<size_t>(tokens * cols));
    for (float& v : x) v = uniform(rng);
    std::vector<float> y(static_cast<size_t>(tokens * rows), std::numeric_limits<float>::quiet_NaN());
    fn(w.data(), x.data(), y.data(), tokens, 0, 6);  // the second range starts mid-step
    fn(w.data(), x.data(), y.data(), tokens, 6, rows);
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t r = 0; r < rows; ++r) {
        const float reference = vec_dot(GgmlType::Q4_K, w.data() + r * rowBytes, x.data() + t * cols, cols);
        const float got = y[static_cast<size_t>(t * rows + r)];
        ASSERT_TRUE(std::isfinite(got)) << "token " << t << " row " << r;
        EXPECT_NEAR(got, reference, 1e-4 * std::fabs(reference) + 1e-5) << "token " << t << " row " << r;
      }
  }
  ::dlclose(library);
}

TEST_F(BundleTest, GpuPrefillProductsLeaveTheTokenGridToTheLaunch) {
  BundleOptions options;
  options.output_dir = (dir_ / "gpu-prefill.llmc").string();
  KernelRequest prefill = request(GgmlType::Q8_0, 130, 1024);
  prefill.op = "qmatmul";
  writeBundle({{"sm_61", {prefill}}}, options);
  std::ifstream in(dir_ / "gpu-prefill.llmc" / "manifest.json");
  const auto kernel = nlohmann::json::parse(in)["chips"][0]["kernels"][0];
  // GPUs take weights row-planar unless a request says otherwise; the weights parameter says so.
  EXPECT_EQ(kernel["name"], "llmc_qmatmul_q8_0_130x1024_r64w8v4u4_rp");
  EXPECT_EQ(kernel["params"][0]["layout"], "row_planar");
  EXPECT_EQ(kernel["params"][0]["bytes"], 130 * 32 * 34);
  EXPECT_EQ(kernel["max_tokens"], 65536);
  EXPECT_EQ(kernel["params"][1]["shape"], nlohmann::json({"tokens", 1024}));
  EXPECT_EQ(kernel["params"][3], nlohmann::json({{"name", "tokens"}, {"role", "scalar"}, {"dtype", "i64"}}));
  const auto& launch = kernel["launches"][0];
  EXPECT_EQ(launch["grid"], nlohmann::json({3, nullptr, 1}));
  EXPECT_EQ(launch["tokens_per_workgroup"], 64);
  EXPECT_EQ(launch["block"], nlohmann::json({256, 1, 1}));
  EXPECT_EQ(launch["static_shared_bytes"], 32768);
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

KernelRequest opRequest(const char* op, int64_t tokens, int64_t width) {
  KernelRequest r;
  r.op = op;
  r.tokens = tokens;
  r.width = width;
  return r;
}

using CpuOpKernel = void (*)(const float*, const float*, float*, int64_t, int64_t);

// silu(gate) * up with up = 1 over the whole range where e^-gate is finite and not flushed: the
// kernel's exp (1 ulp), one addition and one division.
TEST_F(BundleTest, X86SwiGluIsAccurateToAFewUlps) {
  BundleOptions options;
  options.output_dir = (dir_ / "ops.llmc").string();
  options.cache_dir = (dir_ / "cache").string();
  const int64_t n = 1 << 16;
  ChipRequest chip{"x86-64", {opRequest("swiglu", 1, n)}};
  auto reports = writeBundle({chip}, options);
  ASSERT_EQ(reports[0].kernels, 1);
  std::ifstream in(dir_ / "ops.llmc" / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  const auto& kernel = manifest["chips"][0]["kernels"][0];
  EXPECT_EQ(kernel["op"], "swiglu");
  EXPECT_EQ(kernel["tokens"], 1);
  EXPECT_EQ(kernel["width"], n);
  EXPECT_EQ(kernel["launches"][0]["abi"], "cpu_tokens");
  EXPECT_EQ(kernel["launches"][0]["args"], nlohmann::json::array({"gate", "up", "out"}));

  void* library = ::dlopen((dir_ / "ops.llmc" / "kernels" / "x86-64.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << ::dlerror();
  auto fn = reinterpret_cast<CpuOpKernel>(::dlsym(library, "llmc_swiglu_t1x65536"));
  ASSERT_NE(fn, nullptr);
  std::vector<float> gate(static_cast<size_t>(n));
  std::vector<float> up(static_cast<size_t>(n), 1.0f);
  std::vector<float> out(static_cast<size_t>(n), std::numeric_limits<float>::quiet_NaN());
  for (int64_t i = 0; i < n; ++i) gate[static_cast<size_t>(i)] = static_cast<float>(-86.5 + 175.0 * static_cast<double>(i) / n);
  fn(gate.data(), up.data(), out.data(), 0, 1);
  double worst = 0;
  for (size_t i = 0; i < gate.size(); ++i) {
    const auto reference = static_cast<float>(gate[i] / (1.0 + std::exp(-static_cast<double>(gate[i]))));
    const double ulp = std::nextafter(std::fabs(reference), std::numeric_limits<float>::infinity()) - std::fabs(reference);
    ASSERT_TRUE(std::isfinite(out[i])) << "gate " << gate[i];
    worst = std::max(worst, std::fabs(static_cast<double>(out[i]) - reference) / ulp);
  }
  EXPECT_LE(worst, 3.0);
  ::dlclose(library);
  EXPECT_EQ(writeBundle({chip}, options)[0].from_cache, 1);
}

TEST_F(BundleTest, OpKernelManifestsSayHowToLaunch) {
  BundleOptions options;
  options.output_dir = (dir_ / "ops.llmc").string();
  KernelRequest attn = opRequest("rms_norm", 2, 4096);
  attn.tensors = {"blk.0.attn_norm.weight"};
  KernelRequest ffn = attn;
  ffn.tensors = {"blk.0.ffn_norm.weight"};
  KernelRequest store = opRequest("kv_store", 1, 1024);
  store.cache_type = "q8_0";
  store.n_ctx = 64;
  auto reports = writeBundle({{"sm_61", {attn, ffn, store}}}, options);
  EXPECT_EQ(reports[0].kernels, 2);  // both norms are one kernel
  EXPECT_EQ(reports[0].compiled, 2);
  std::ifstream in(dir_ / "ops.llmc" / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  const auto& norm = manifest["chips"][0]["kernels"][0];
  EXPECT_EQ(norm["name"], "llmc_rms_norm_t2x4096_e3727c5ac");
  EXPECT_EQ(norm["op"], "rms_norm");
  EXPECT_FLOAT_EQ(norm["eps"].get<float>(), 1e-5f);
  EXPECT_EQ(norm["params"][1]["role"], "weights");
  EXPECT_EQ(norm["launches"][0]["grid"], nlohmann::json::array({2, 1, 1}));
  EXPECT_EQ(norm["launches"][0]["block"], nlohmann::json::array({256, 1, 1}));
  EXPECT_EQ(norm["launches"][0]["static_shared_bytes"], 32);
  EXPECT_EQ(norm["tensors"], nlohmann::json::array({"blk.0.attn_norm.weight", "blk.0.ffn_norm.weight"}));
  const auto& kv = manifest["chips"][0]["kernels"][1];
  EXPECT_EQ(kv["kv_cache"], "q8_0");
  EXPECT_EQ(kv["params"][1]["dtype"], "i8");
  EXPECT_EQ(kv["params"][1]["shape"], nlohmann::json::array({64, 1088}));
  EXPECT_EQ(kv["params"][1]["bytes"], 64 * 1088);
  EXPECT_EQ(kv["params"][1]["partial"], true);
  EXPECT_EQ(kv["params"][2]["role"], "scalar");
  EXPECT_EQ(kv["params"][2]["dtype"], "i64");
  EXPECT_FALSE(kv["params"][2].contains("shape"));
  std::ifstream ptxFile(dir_ / "ops.llmc" / "kernels" / "sm_61.ptx");
  const std::string ptx((std::istreambuf_iterator<char>(ptxFile)), {});
  EXPECT_NE(ptx.find(".entry llmc_rms_norm_t2x4096_e3727c5ac("), std::string::npos);
  EXPECT_NE(ptx.find(".entry llmc_kv_store_q8_0_t1x1024_n64("), std::string::npos);
  EXPECT_EQ(ptx.find("call"), std::string::npos) << "no libdevice or other calls";

  try {
    writeBundle({{"sm_61", {opRequest("transpose", 1, 8)}}}, options);
    FAIL() << "expected a BundleError";
  } catch (const BundleError& e) {
    EXPECT_STREQ(e.what(), "sm_61: transpose: not an op llmc generates kernels for");
  }
  KernelRequest rope = opRequest("rope", 1, 0);
  rope.rope_mode = "sideways";
  EXPECT_THROW(writeBundle({{"sm_61", {rope}}}, options), BundleError);
}

TEST(Bundle, SupportedChipsAndTypes) {
  const auto chips = supportedChips();
  for (const char* chip : {"sm_61", "sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "gfx906", "gfx908", "gfx90a",
                           "gfx1030", "gfx1100", "x86-64"})
    EXPECT_NE(std::find(chips.begin(), chips.end(), chip), chips.end()) << chip;
  EXPECT_EQ(supportedQMatVecTypes().size(), 16u);
  const auto ops = supportedKernelOps();
  EXPECT_EQ(ops.front(), "qmatvec");
  EXPECT_EQ(ops[1], "qmatmul");
  EXPECT_EQ(ops.size(), 12u);
}

}  // namespace
}  // namespace llmc::compiler
