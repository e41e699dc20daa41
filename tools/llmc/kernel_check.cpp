// `llmc kernel-check BUNDLE.llmc`: runs every kernel of a bundle on its device against the CPU
// reference (llmc::vec_dot) on fresh random inputs, with outputs poisoned before each run and a
// normalized error bound per method; NaN never passes. `--perf` adds GB/s of weights read, next to
// a copy measured in the same run. x86-64 kernels run here (dlopen); PTX runs through the CUDA
// driver when there is one and is skipped with the reason otherwise; AMD code is not run.
//
// This verb needs only the runtime. With the compiler built in, `--target CHIP` first builds the
// check suite for CHIP (llmc build --check-suite) into a temporary bundle.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_io.h"
#include "commands.h"
#include "cuda_timing.h"
#include "kernel_check_ops.h"
#include "llmc/cuda_driver.h"
#include "llmc/ggml_types.h"
#include "llmc/gguf_writer.h"
#include "llmc/quants.h"

namespace llmc::cli {
namespace {

using opcheck::mix;
using opcheck::name_hash;

namespace fs = std::filesystem;
using nlohmann::json;

struct CheckOptions {
  std::string bundle;
  std::vector<std::string> targets;
  std::vector<std::string> quants;
  std::vector<std::string> ops;  // --op: only kernels of these ops (qmatvec, rms_norm, ...)
  bool perf = false;
  uint64_t seed = 0;
  int perf_iterations = 50;
  bool keep = false;
  std::string results;  // --results: the GPU perf measurements as JSON (llmc tune reads them)
};

[[noreturn]] void usage(const std::string& message) { throw CLI::ValidationError(message); }

// A kernel's error bound: max|y - ref| / max|ref|. The f32 method differs from the reference only
// by float summation order; the int8 method also quantizes x to 8 bits per block of 32.
double error_bound(const std::string& method) { return method == "int8" ? 1.5e-2 : 1e-4; }

struct Launch {
  std::string function;
  unsigned grid = 1;
  unsigned block = 1;
  unsigned shared_bytes = 0;
  std::vector<std::string> args;
  int64_t rows_per_step = 1;
  // The kernel waits for the prior grid itself (griddepcontrol), so it may be launched with
  // programmatic stream serialization, overlapping the grid before it.
  bool grid_dependency = false;
};

struct Kernel {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::string quant;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t batch = 1;
  std::string method;
  int64_t weight_bytes = 0;
  WeightLayout layout = WeightLayout::Blocks;
  int64_t scratch_bytes = 0;
  std::vector<Launch> launches;
  json tuning;  // the manifest's tuning entry, as built
};

struct Chip {
  std::string chip;
  std::string file;
  std::string format;
  std::vector<Kernel> kernels;
  std::vector<json> op_kernels;  // every other op (kernel_check_ops.cpp)
};

std::vector<Chip> read_manifest(const fs::path& bundle) {
  const fs::path path = bundle / "manifest.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open (is {} a bundle?)", path.string(), bundle.string()));
  json manifest;
  try {
    manifest = json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path.string(), e.what()));
  }
  const std::string where = path.string();
  if (manifest.value("schema", "") != "llmc.bundle/1")
    throw std::runtime_error(fmt::format("{}: schema: expected \"llmc.bundle/1\"", where));
  std::vector<Chip> chips;
  for (const json& c : json_field<json>(manifest, "chips", where)) {
    Chip chip;
    chip.chip = json_field<std::string>(c, "chip", where);
    chip.file = json_field<std::string>(c, "file", where);
    chip.format = json_field<std::string>(c, "format", where);
    for (const json& k : json_field<json>(c, "kernels", where)) {
      if (opcheck::is_op_kernel(k)) {
        chip.op_kernels.push_back(k);
        continue;
      }
      Kernel kernel;
      kernel.name = json_field<std::string>(k, "name", where);
      const std::string at = fmt::format("{}: kernel {}", where, kernel.name);
      kernel.quant = json_field<std::string>(k, "quant", at);
      auto type = ggml_type_from_name(kernel.quant);
      if (!type) throw std::runtime_error(fmt::format("{}: quant '{}' is not a ggml type", at, kernel.quant));
      kernel.type = *type;
      kernel.rows = json_field<int64_t>(k, "rows", at);
      kernel.cols = json_field<int64_t>(k, "cols", at);
      kernel.batch = json_field<int64_t>(k, "batch", at);
      kernel.method = json_field<std::string>(k, "method", at);
      kernel.tuning = k.value("tuning", json::object());
      for (const json& p : json_field<json>(k, "params", at)) {
        const std::string role = json_field<std::string>(p, "role", at);
        if (role == "weights") {
          kernel.weight_bytes = json_field<int64_t>(p, "bytes", at);
          kernel.layout = opcheck::weights_layout(p, at);
        }
        if (role == "scratch") kernel.scratch_bytes = json_field<int64_t>(p, "bytes", at);
      }
      const auto row_bytes = ggml_row_bytes(kernel.type, static_cast<uint64_t>(kernel.cols));
      if (!row_bytes || kernel.rows < 1 || kernel.batch < 1 ||
          kernel.weight_bytes != static_cast<int64_t>(*row_bytes) * kernel.rows)
        throw std::runtime_error(fmt::format("{}: weights bytes do not match {} x {} {}", at, kernel.rows, kernel.cols,
                                             kernel.quant));
      for (const json& l : json_field<json>(k, "launches", at)) {
        Launch launch;
        launch.function = json_field<std::string>(l, "function", at);
        launch.args = json_field<std::vector<std::string>>(l, "args", at);
        if (l.contains("grid")) {
          launch.grid = json_field<std::vector<unsigned>>(l, "grid", at).at(0);
          launch.block = json_field<std::vector<unsigned>>(l, "block", at).at(0);
          launch.shared_bytes = l.value("dynamic_shared_bytes", 0u);
        }
        launch.rows_per_step = l.value("rows_per_step", int64_t{1});
        launch.grid_dependency = l.value("grid_dependency", false);
        kernel.launches.push_back(launch);
      }
      chip.kernels.push_back(kernel);
    }
    chips.push_back(chip);
  }
  return chips;
}

// Inputs and the reference output of one kernel.
struct CheckData {
  std::vector<uint8_t> weights;
  std::vector<float> x;
  std::vector<float> reference;
};

void compute_reference(const Kernel& kernel, CheckData& data);

CheckData make_data(const Kernel& kernel, uint64_t seed, bool with_reference) {
  CheckData data;
  data.weights.resize(static_cast<size_t>(kernel.weight_bytes));
  fill_random_blocks(kernel.type, data.weights, mix(seed ^ name_hash(kernel.name)));
  std::mt19937_64 rng(mix(seed + 1) ^ name_hash(kernel.name));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  data.x.resize(static_cast<size_t>(kernel.batch * kernel.cols));
  for (float& v : data.x) v = uniform(rng);
  if (with_reference) compute_reference(kernel, data);
  // The reference reads the file's layout; the kernel gets the weights in its own.
  data.weights = opcheck::in_layout(kernel.type, kernel.rows, kernel.cols, std::move(data.weights), kernel.layout);
  return data;
}

void compute_reference(const Kernel& kernel, CheckData& data) {
  const size_t row_bytes = *ggml_row_bytes(kernel.type, static_cast<uint64_t>(kernel.cols));
  data.reference.resize(static_cast<size_t>(kernel.batch * kernel.rows));
  const unsigned threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int64_t r = t; r < kernel.rows; r += threads)
        for (int64_t b = 0; b < kernel.batch; ++b)
          data.reference[static_cast<size_t>(b * kernel.rows + r)] =
              vec_dot(kernel.type, data.weights.data() + static_cast<size_t>(r) * row_bytes,
                      data.x.data() + b * kernel.cols, kernel.cols);
    });
  for (std::thread& thread : pool) thread.join();
}

struct Comparison {
  bool finite = true;
  double error = 0;
  std::string first_bad;
};

Comparison compare(const Kernel& kernel, const std::vector<float>& y, const std::vector<float>& reference) {
  Comparison result;
  double max_reference = 0;
  double max_difference = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      if (result.finite)
        result.first_bad = fmt::format("y[{}][{}] = {}", static_cast<int64_t>(i) / kernel.rows,
                                       static_cast<int64_t>(i) % kernel.rows, y[i]);
      result.finite = false;
      continue;
    }
    max_reference = std::max(max_reference, std::fabs(static_cast<double>(reference[i])));
    max_difference = std::max(max_difference, std::fabs(static_cast<double>(y[i]) - reference[i]));
  }
  result.error = max_difference / std::max(max_reference, 1e-30);
  return result;
}

struct Tally {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  json results = json::array();  // perf measurements of GPU qmatvec kernels (--results)
  std::string device;            // the GPU they ran on
};

struct PerfLine {
  std::string what;
  double seconds = 0;
};

bool report(Tally& tally, const Kernel& kernel, const Comparison& c) {
  const double bound = error_bound(kernel.method);
  const bool pass = c.finite && c.error <= bound;
  pass ? ++tally.passed : ++tally.failed;
  fmt::print("  {}  {:<46} {:<6} {:>5}x{:<5} b{} {:<4}  err {:.2e} (bound {:.1e}){}\n", pass ? "PASS" : "FAIL",
             kernel.name, kernel.quant, kernel.rows, kernel.cols, kernel.batch, kernel.method, c.error, bound,
             c.finite ? "" : "  non-finite output: " + c.first_bad);
  return pass;
}

bool op_selected(const std::string& op, const CheckOptions& o) {
  return o.ops.empty() || std::find(o.ops.begin(), o.ops.end(), op) != o.ops.end();
}

bool selected(const Kernel& kernel, const CheckOptions& o) {
  if (!op_selected("qmatvec", o)) return false;
  if (o.quants.empty()) return true;
  for (const std::string& q : o.quants) {
    auto type = ggml_type_from_name(q);
    if (type && *type == kernel.type) return true;
  }
  return false;
}

// Perf shapes: weights large enough that a loop over them is a measure of memory, not of launches.
bool is_perf_shape(const Kernel& kernel) { return kernel.batch == 1 && kernel.rows * kernel.cols >= 4096 * 4096; }

//===----------------------------------------------------------------------===//
// x86-64: the bundle's shared object, called over row ranges.
//===----------------------------------------------------------------------===//

using CpuKernelFn = void (*)(const void* w, const float* x, float* y, int64_t row_begin, int64_t row_end);

void check_cpu(const fs::path& bundle, const Chip& chip, const CheckOptions& o, Tally& tally) {
  const fs::path file = bundle / chip.file;
  void* library = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) throw std::runtime_error(fmt::format("{}: cannot load: {}", file.string(), ::dlerror()));
  fmt::print("{} ({}, this CPU)\n", chip.chip, chip.file);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (const Kernel& kernel : chip.kernels) {
    if (!selected(kernel, o)) continue;
    if (kernel.launches.size() != 1) throw std::runtime_error(fmt::format("{}: {}: expected one launch", chip.file, kernel.name));
    auto fn = reinterpret_cast<CpuKernelFn>(::dlsym(library, kernel.launches[0].function.c_str()));
    if (!fn) throw std::runtime_error(fmt::format("{}: no symbol {}", file.string(), kernel.launches[0].function));
    const bool perf = is_perf_shape(kernel);
    if (perf && !o.perf) continue;
    CheckData data = make_data(kernel, o.seed, true);
    std::vector<float> y(data.reference.size(), std::numeric_limits<float>::quiet_NaN());
    // Three uneven row ranges, as a thread pool would split them.
    const int64_t a = kernel.rows / 3 + 1;
    const int64_t b = std::min(kernel.rows, 2 * kernel.rows / 3 + 2);
    fn(data.weights.data(), data.x.data(), y.data(), 0, a);
    fn(data.weights.data(), data.x.data(), y.data(), a, b);
    fn(data.weights.data(), data.x.data(), y.data(), b, kernel.rows);
    report(tally, kernel, compare(kernel, y, data.reference));
    if (!perf) continue;
    auto run_all = [&] {
      std::vector<std::thread> pool;
      const int64_t step = (kernel.rows + threads - 1) / threads;
      for (unsigned t = 0; t < threads; ++t) {
        const int64_t begin = std::min(kernel.rows, t * step);
        const int64_t end = std::min(kernel.rows, begin + step);
        pool.emplace_back([&, begin, end] { fn(data.weights.data(), data.x.data(), y.data(), begin, end); });
      }
      for (std::thread& thread : pool) thread.join();
    };
    run_all();
    const int iterations = std::max(3, o.perf_iterations / 10);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) run_all();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iterations;
    fmt::print("        perf {:<46} {:7.1f} us {:7.1f} GB/s of weights read ({} threads)\n", kernel.name,
               seconds * 1e6, kernel.weight_bytes / seconds / 1e9, threads);
  }
}

//===----------------------------------------------------------------------===//
// NVIDIA: PTX through the CUDA driver.
//===----------------------------------------------------------------------===//

class CudaSession {
 public:
  explicit CudaSession(const cuda::CudaDriver& driver) : cu_(driver) {
    check(cu_.cuDeviceGet(&device_, 0), "cuDeviceGet");
    check(cu_.cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
    check(cu_.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
    char name[256] = {};
    cu_.cuDeviceGetName(name, sizeof(name), device_);
    int major = 0;
    int minor = 0;
    cu_.cuDeviceGetAttribute(&major, cuda::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_);
    cu_.cuDeviceGetAttribute(&minor, cuda::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_);
    description_ = fmt::format("{}, sm_{}{}", name, major, minor);
  }
  ~CudaSession() {
    for (cuda::CUdeviceptr p : buffers_) cu_.cuMemFree(p);
    if (module_) cu_.cuModuleUnload(module_);
    if (context_) cu_.cuDevicePrimaryCtxRelease(device_);
  }
  CudaSession(const CudaSession&) = delete;
  CudaSession& operator=(const CudaSession&) = delete;

  const std::string& description() const { return description_; }

  void check(cuda::CUresult result, const char* what) const {
    if (result != cuda::CUDA_SUCCESS) throw std::runtime_error(fmt::format("{}: {}", what, cu_.error_text(result)));
  }

  void load_module(const std::string& ptx, const std::string& file) {
    std::vector<char> log(16384, '\0');
    int options[] = {cuda::CU_JIT_ERROR_LOG_BUFFER, cuda::CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void* values[] = {log.data(), reinterpret_cast<void*>(log.size())};
    const cuda::CUresult result = cu_.cuModuleLoadDataEx(&module_, ptx.c_str(), 2, options, values);
    if (result != cuda::CUDA_SUCCESS)
      throw std::runtime_error(fmt::format("{}: the driver's PTX JIT failed: {}: {}", file, cu_.error_text(result), log.data()));
  }

  cuda::CUfunction function(const std::string& name) {
    cuda::CUfunction fn = nullptr;
    check(cu_.cuModuleGetFunction(&fn, module_, name.c_str()), name.c_str());
    return fn;
  }

  cuda::CUdeviceptr alloc(size_t bytes) {
    cuda::CUdeviceptr p = 0;
    check(cu_.cuMemAlloc(&p, std::max<size_t>(bytes, 4)), "cuMemAlloc");
    buffers_.push_back(p);
    return p;
  }

  void free_all() {
    for (cuda::CUdeviceptr p : buffers_) cu_.cuMemFree(p);
    buffers_.clear();
  }

  const cuda::CudaDriver& cu() const { return cu_; }

 private:
  const cuda::CudaDriver& cu_;
  cuda::CUdevice device_ = 0;
  cuda::CUcontext context_ = nullptr;
  cuda::CUmodule module_ = nullptr;
  std::vector<cuda::CUdeviceptr> buffers_;
  std::string description_;
};

// Device buffers of one kernel, by parameter name.
struct CudaBuffers {
  cuda::CUdeviceptr w = 0;
  cuda::CUdeviceptr x = 0;
  cuda::CUdeviceptr scratch = 0;
  cuda::CUdeviceptr y = 0;
  cuda::CUdeviceptr get(const std::string& name) const {
    if (name == "w") return w;
    if (name == "x") return x;
    if (name == "scratch") return scratch;
    if (name == "y") return y;
    throw std::runtime_error("manifest: unknown launch argument '" + name + "'");
  }
};

// Launches every kernel of `kernel` in order on `stream`. With `chained`, those that wait for the
// prior grid themselves go through cuLaunchKernelEx with programmatic stream serialization, so
// that they start while the launch before them finishes, as a runtime chaining a decode step
// would launch them.
void launch_all(CudaSession& s, const std::vector<cuda::CUfunction>& functions, const Kernel& kernel,
                const CudaBuffers& buffers, cuda::CUstream stream = nullptr, bool chained = false) {
  for (size_t i = 0; i < kernel.launches.size(); ++i) {
    const Launch& l = kernel.launches[i];
    std::vector<cuda::CUdeviceptr> values;
    for (const std::string& arg : l.args) values.push_back(buffers.get(arg));
    std::vector<void*> params;
    for (cuda::CUdeviceptr& v : values) params.push_back(&v);
    if (chained && l.grid_dependency) {
      cuda::CUlaunchAttribute overlap;
      overlap.id = cuda::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
      overlap.value.programmatic_stream_serialization_allowed = 1;
      cuda::CUlaunchConfig config;
      config.grid_x = l.grid;
      config.block_x = l.block;
      config.shared_bytes = l.shared_bytes;
      config.stream = stream;
      config.attrs = &overlap;
      config.num_attrs = 1;
      s.check(s.cu().cuLaunchKernelEx(&config, functions[i], params.data(), nullptr), l.function.c_str());
      continue;
    }
    s.check(s.cu().cuLaunchKernel(functions[i], l.grid, 1, 1, l.block, 1, 1, l.shared_bytes, stream, params.data(),
                                  nullptr),
            l.function.c_str());
  }
}

// Whether `kernel` has a launch that may overlap the one before it, and the driver can launch it
// so (on a stream of its own, and in a graph).
bool can_chain(const cuda::CudaDriver& cu, const Kernel& kernel) {
  return cu.cuLaunchKernelEx && has_graphs(cu) &&
         std::any_of(kernel.launches.begin(), kernel.launches.end(), [](const Launch& l) { return l.grid_dependency; });
}

void check_cuda(const fs::path& bundle, const Chip& chip, const CheckOptions& o, Tally& tally) {
  std::string reason;
  const cuda::CudaDriver* driver = cuda::CudaDriver::load(&reason);
  int selected_count = 0;
  for (const Kernel& kernel : chip.kernels) selected_count += selected(kernel, o) && (o.perf || !is_perf_shape(kernel));
  if (!driver) {
    fmt::print("{} ({}): skipped {} kernels: {}\n", chip.chip, chip.file, selected_count, reason);
    tally.skipped += selected_count;
    return;
  }
  const fs::path file = bundle / chip.file;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", file.string()));
  const std::string ptx((std::istreambuf_iterator<char>(in)), {});
  CudaSession session(*driver);
  session.load_module(ptx, file.string());
  fmt::print("{} ({}, on {}; PTX compiled by the driver)\n", chip.chip, chip.file, session.description());

  double copy_bandwidth = 0;
  for (const Kernel& kernel : chip.kernels) {
    if (!selected(kernel, o)) continue;
    const bool perf = is_perf_shape(kernel);
    if (perf && !o.perf) continue;
    std::vector<cuda::CUfunction> functions;
    for (const Launch& l : kernel.launches) functions.push_back(session.function(l.function));
    CheckData data = make_data(kernel, o.seed, true);
    CudaBuffers buffers;
    buffers.w = session.alloc(data.weights.size());
    buffers.x = session.alloc(data.x.size() * sizeof(float));
    buffers.y = session.alloc(data.reference.size() * sizeof(float));
    if (kernel.scratch_bytes) buffers.scratch = session.alloc(static_cast<size_t>(kernel.scratch_bytes));
    auto& cu = session.cu();
    session.check(cu.cuMemcpyHtoD(buffers.w, data.weights.data(), data.weights.size()), "cuMemcpyHtoD");
    session.check(cu.cuMemcpyHtoD(buffers.x, data.x.data(), data.x.size() * sizeof(float)), "cuMemcpyHtoD");
    // Outputs (and, for the chained checks, the scratch) start as quiet NaNs: a value never written shows.
    auto poison = [&](cuda::CUdeviceptr buffer, size_t words) {
      session.check(cu.cuMemsetD32(buffer, 0x7FC00000u, words), "cuMemsetD32");
    };
    poison(buffers.y, data.reference.size());
    launch_all(session, functions, kernel, buffers);
    session.check(cu.cuCtxSynchronize(), kernel.name.c_str());
    std::vector<float> y(data.reference.size());
    session.check(cu.cuMemcpyDtoH(y.data(), buffers.y, y.size() * sizeof(float)), "cuMemcpyDtoH");
    bool passed = report(tally, kernel, compare(kernel, y, data.reference));
    // Chained: the kernels that wait for the prior grid start while it runs. y and the scratch are
    // poisoned first, so that a product reading its int8 activations before the quantizer has
    // written them, or a launch that never ran, shows as a non-finite output.
    const bool chains = can_chain(cu, kernel);
    auto check_chained = [&](const char* what) {
      session.check(cu.cuCtxSynchronize(), kernel.name.c_str());
      session.check(cu.cuMemcpyDtoH(y.data(), buffers.y, y.size() * sizeof(float)), "cuMemcpyDtoH");
      Kernel labelled = kernel;
      labelled.name += what;
      passed = report(tally, labelled, compare(kernel, y, data.reference)) && passed;
    };
    // A chained launch the driver refuses is reported and skipped: the ordinary results stand.
    auto try_chained = [&](const std::function<void()>& work) {
      try {
        work();
        return true;
      } catch (const std::exception& e) {
        ++tally.skipped;
        fmt::print("  SKIP  {:<46} chained launches: {}\n", kernel.name, e.what());
        return false;
      }
    };
    bool chained_ok = chains && try_chained([&] {
      poison(buffers.y, data.reference.size());
      if (kernel.scratch_bytes) poison(buffers.scratch, static_cast<size_t>(kernel.scratch_bytes) / 4);
      cuda::CUstream stream = nullptr;
      session.check(cu.cuStreamCreate(&stream, cuda::CU_STREAM_NON_BLOCKING), "cuStreamCreate");
      for (int i = 0; i < 3; ++i) launch_all(session, functions, kernel, buffers, stream, true);
      const cuda::CUresult done = cu.cuStreamSynchronize(stream);
      cu.cuStreamDestroy(stream);
      session.check(done, "cuStreamSynchronize");
    });
    if (chained_ok) check_chained(" chained");

    if (perf) {
      tally.device = session.description();
      json record = {{"name", kernel.name},
                     {"chip", chip.chip},
                     {"quant", kernel.quant},
                     {"rows", kernel.rows},
                     {"cols", kernel.cols},
                     {"batch", kernel.batch},
                     {"method", kernel.method},
                     {"layout", std::string(weight_layout_name(kernel.layout))},
                     {"tuning", kernel.tuning},
                     {"passed", passed}};
      // Weights in rotation, 256 MiB in all, so that repeated launches read DRAM, not L2.
      const size_t copies = std::max<size_t>(2, (256u << 20) / data.weights.size() + 1);
      std::vector<CudaBuffers> rotation(copies, buffers);
      for (size_t i = 1; i < copies; ++i) {
        rotation[i].w = session.alloc(data.weights.size());
        session.check(cu.cuMemcpyHtoD(rotation[i].w, data.weights.data(), data.weights.size()), "cuMemcpyHtoD");
      }
      if (copy_bandwidth == 0) {
        const size_t bytes = 512u << 20;
        cuda::CUdeviceptr src = session.alloc(bytes);
        cuda::CUdeviceptr dst = session.alloc(bytes);
        session.check(cu.cuMemsetD32(src, 0, bytes / 4), "cuMemsetD32");
        auto copy = [&] { session.check(cu.cuMemcpyDtoDAsync(dst, src, bytes, nullptr), "cuMemcpyDtoD"); };
        copy();
        const double seconds = event_seconds(cu, copy, 20);
        copy_bandwidth = 2.0 * bytes / seconds / 1e9;
        fmt::print("        perf: device-to-device copy of 512 MiB: {:.1f} GB/s read + written ({:.1f} GB/s of bytes read)\n",
                   copy_bandwidth, copy_bandwidth / 2);
      }
      size_t turn = 0;
      auto run = [&] { launch_all(session, functions, kernel, rotation[turn++ % copies]); };
      for (int i = 0; i < 3; ++i) run();
      const int iterations = std::max(o.perf_iterations, static_cast<int>(copies));
      const double seconds = event_seconds(cu, run, iterations);
      const double bandwidth = kernel.weight_bytes / seconds / 1e9;
      // Registers and resident workgroups of the product: what bounds the loads in flight.
      std::string occupancy;
      if (cu.cuFuncGetAttribute && cu.cuOccupancyMaxActiveBlocksPerMultiprocessor) {
        const Launch& product = kernel.launches.back();
        int registers = 0;
        int resident = 0;
        if (cu.cuFuncGetAttribute(&registers, cuda::CU_FUNC_ATTRIBUTE_NUM_REGS, functions.back()) == cuda::CUDA_SUCCESS &&
            cu.cuOccupancyMaxActiveBlocksPerMultiprocessor(&resident, functions.back(), product.block,
                                                           product.shared_bytes) == cuda::CUDA_SUCCESS)
          occupancy = fmt::format(" [{} registers, {} warps per SM]", registers, resident * product.block / 32);
      }
      fmt::print("        perf {:<46} {:7.1f} us {:7.1f} GB/s of weights read = {:5.1f}% of the copy's read + write "
                 "rate, {:5.1f}% of its read rate{}\n",
                 kernel.name, seconds * 1e6, bandwidth, 100.0 * bandwidth / copy_bandwidth,
                 200.0 * bandwidth / copy_bandwidth, occupancy);
      record["copy_gbps"] = copy_bandwidth;
      record["launched_pct"] = 100.0 * bandwidth / copy_bandwidth;
      // The same launches replayed from a CUDA graph, with and without the quantizer.
      std::vector<std::pair<std::string, Kernel>> variants = {{"all launches", kernel}};
      if (functions.size() > 1) {
        Kernel last = kernel;
        last.launches = {kernel.launches.back()};
        variants.push_back({"product alone", last});
      }
      for (size_t v = 0; v < variants.size(); ++v) {
        const auto& [label, variant] = variants[v];
        const std::vector<cuda::CUfunction> used(functions.end() - variant.launches.size(), functions.end());
        auto replay = [&](cuda::CUstream stream) { launch_all(session, used, variant, rotation[turn++ % copies], stream); };
        if (has_graphs(cu)) {
          const double s = graph_seconds(cu, replay, iterations);
          const double gbs = kernel.weight_bytes / s / 1e9;
          fmt::print("          {:<13} {:7.1f} us {:7.1f} GB/s in a CUDA graph = {:5.1f}% of the copy's read + write rate\n",
                     label, s * 1e6, gbs, 100.0 * gbs / copy_bandwidth);
          // The product alone is what a tuning changes; with one launch that is all of them.
          record[v == 0 ? "graph_pct" : "product_pct"] = 100.0 * gbs / copy_bandwidth;
          if (variants.size() == 1) record["product_pct"] = 100.0 * gbs / copy_bandwidth;
        } else if (v > 0) {  // a driver without graphs: the product alone, launched one by one
          const double s = event_seconds(cu, [&] { replay(nullptr); }, iterations);
          fmt::print("          {:<13} {:7.1f} us {:7.1f} GB/s\n", label, s * 1e6, kernel.weight_bytes / s / 1e9);
          record["product_pct"] = 100.0 * kernel.weight_bytes / s / 1e9 / copy_bandwidth;
        }
      }
      // Chained in a graph, weights in rotation: the product launched behind itself ("chained":
      // each launch's weights stream into L2 while the one before finishes), and with its
      // quantizer ("all chained": the product also overlaps the quantizer, as it would the fused
      // norm of a decode step). y is checked again after each.
      if (chained_ok && kernel.launches.back().grid_dependency) {
        Kernel last = kernel;
        last.launches = {kernel.launches.back()};
        std::vector<std::tuple<const char*, const char*, Kernel>> chains_timed = {{"chained", "chained_pct", last}};
        if (kernel.launches.size() > 1) chains_timed.emplace_back("all chained", "chained_all_pct", kernel);
        for (const auto& [label, key, variant] : chains_timed) {
          const std::vector<cuda::CUfunction> used(functions.end() - variant.launches.size(), functions.end());
          auto replay = [&](cuda::CUstream stream) {
            launch_all(session, used, variant, rotation[turn++ % copies], stream, true);
          };
          double s = 0;
          if (!try_chained([&] {
                poison(buffers.y, data.reference.size());
                s = graph_seconds(cu, replay, iterations);
              }))
            break;
          const double gbs = kernel.weight_bytes / s / 1e9;
          fmt::print("          {:<13} {:7.1f} us {:7.1f} GB/s in a CUDA graph = {:5.1f}% of the copy's read + write rate\n",
                     label, s * 1e6, gbs, 100.0 * gbs / copy_bandwidth);
          record[key] = 100.0 * gbs / copy_bandwidth;
          check_chained(fmt::format(" {} replay", label).c_str());
          record["passed"] = passed;
        }
      }
      if (!record.contains("product_pct")) record["product_pct"] = record["launched_pct"];
      tally.results.push_back(std::move(record));
    }
    session.free_all();
  }
}

// The perf records as `llmc tune` reads them (schema llmc.kernel-perf/1), written whole or not at all.
void write_results(const std::string& path, const Tally& tally) {
  const json results = {{"schema", "llmc.kernel-perf/1"}, {"device", tally.device}, {"results", tally.results}};
  write_atomically(path, results.dump(2) + "\n");
  fmt::print("kernel-check: {} perf records -> {}\n", tally.results.size(), path);
}

int run_kernel_check(const CheckOptions& options) {
  CheckOptions o = options;
  if (o.seed == 0) o.seed = std::random_device{}() | static_cast<uint64_t>(std::random_device{}()) << 32;
  std::vector<fs::path> bundles;
  fs::path temporary;
  if (!o.targets.empty()) {
    if (!o.bundle.empty()) usage("give a bundle or --target, not both");
#ifdef LLMC_HAVE_COMPILER
    temporary = fs::temp_directory_path() / fmt::format("llmc-kernel-check-{}", ::getpid());
    for (const std::string& chip : o.targets) {
      const fs::path dir = temporary / (chip + ".llmc");
      const int status = build_check_suite(chip, o.quants, o.perf, dir.string());
      if (status != kExitOk) return status;
      bundles.push_back(dir);
    }
#else
    usage("--target needs an llmc built with the compiler; build the suite elsewhere with "
          "`llmc build --check-suite --target CHIP -o suite.llmc` and pass the bundle");
#endif
  } else {
    if (o.bundle.empty()) usage("give a bundle (BUNDLE.llmc) or --target CHIP");
    bundles.push_back(o.bundle);
  }

  fmt::print("llmc kernel-check: seed {:#x} (--seed {:#x} repeats these inputs)\n", o.seed, o.seed);
  Tally tally;
  for (const fs::path& bundle : bundles) {
    for (const Chip& chip : read_manifest(bundle)) {
      std::vector<json> ops = opcheck::select(chip.op_kernels, o.quants);
      std::erase_if(ops, [&](const json& k) { return !op_selected(k.value("op", ""), o); });
      opcheck::Counts op_counts;
      if (chip.format == "elf-shared-object") {
        check_cpu(bundle, chip, o, tally);
        op_counts = opcheck::check_cpu(bundle / chip.file, ops, o.seed, o.perf);
      } else if (chip.format == "ptx") {
        check_cuda(bundle, chip, o, tally);
        op_counts = opcheck::check_cuda(bundle / chip.file, chip.chip, ops, o.seed, o.perf);
      } else {
        int count = static_cast<int>(ops.size());
        for (const Kernel& kernel : chip.kernels) count += selected(kernel, o) && (o.perf || !is_perf_shape(kernel));
        fmt::print("{} ({}): not run: {} kernels are compiled and inspected only (no AMD runtime here)\n", chip.chip,
                   chip.file, count);
        tally.skipped += count;
      }
      tally.passed += op_counts.passed;
      tally.failed += op_counts.failed;
      tally.skipped += op_counts.skipped;
    }
  }
  if (!temporary.empty() && !o.keep) {
    std::error_code ec;
    fs::remove_all(temporary, ec);
  }
  if (!o.results.empty()) write_results(o.results, tally);
  fmt::print("kernel-check: {} passed, {} failed, {} skipped\n", tally.passed, tally.failed, tally.skipped);
  if (tally.failed) return kExitError;
  if (tally.passed == 0) fmt::print("kernel-check: skipped (nothing ran on this machine)\n");
  return kExitOk;
}

}  // namespace

void register_kernel_check(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* sub = app.add_subcommand(
      "kernel-check", "Run a bundle's kernels against the CPU reference on random inputs (and measure GB/s)");
  sub->add_option("bundle", o->bundle, "Bundle directory (llmc build ... -o BUNDLE.llmc)");
  sub->add_option("-t,--target", o->targets, "Build the check suite for this chip first (needs the compiler; repeatable)");
  sub->add_option("--quant", o->quants, "Only kernels of these types (repeatable)");
  sub->add_option("--op", o->ops, "Only kernels of these ops: qmatvec, qmatmul, rms_norm, softmax, ... (repeatable)")
      ->check(CLI::IsMember(opcheck::kOpNames));
  sub->add_flag("--perf", o->perf, "Also run the benchmark shapes and report GB/s");
  sub->add_option("--seed", o->seed, "Inputs' seed (default: a fresh one, printed)");
  sub->add_option("--iterations", o->perf_iterations, "Timed launches per perf shape")->check(CLI::Range(1, 100000))->capture_default_str();
  sub->add_flag("--keep", o->keep, "With --target: keep the suite bundle (its path is printed by the build)");
  sub->add_option("--results", o->results,
                  "With --perf: write the GPU mat-vec measurements to this JSON file (input of llmc tune)");
  sub->callback([o, &exit_code] { exit_code = run_kernel_check(*o); });
}

}  // namespace llmc::cli
