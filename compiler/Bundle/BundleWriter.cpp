#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "llvm/Config/llvm-config.h"

#include "../Conversion/QuantDecoders.h"
#include "KernelCache.h"
#include "llmc/codegen_revision.h"
#include "llmc/compiler/Bundle.h"
#include "llmc/compiler/KernelPipeline.h"
#include "llmc/compiler/OpPlan.h"
#include "llmc/compiler/QMatMulPlan.h"
#include "llmc/compiler/QMatVecPlan.h"
#include "llmc/compiler/TargetInfo.h"
#include "llmc/targets/device_catalog.h"

namespace llmc::compiler {

namespace fs = std::filesystem;
// Keys stay in the order written: schema first, then what the bundle is, then the kernels.
using json = nlohmann::ordered_json;

namespace {

std::unique_ptr<TargetInfo> targetOrThrow(const std::string& chip) {
  std::string error;
  std::unique_ptr<TargetInfo> target = makeTargetInfo(chip, &error);
  if (!target) throw BundleError(error);
  return target;
}

mlir::llmc::WeightLayout layoutOrThrow(const TargetInfo& target, const KernelRequest& request, const std::string& what) {
  if (request.layout.empty()) return defaultWeightLayout(target);
  std::optional<mlir::llmc::WeightLayout> layout = mlir::llmc::symbolizeWeightLayout(request.layout);
  if (!layout) throw BundleError(what + ": weight layout '" + request.layout + "' (expected blocks or row_planar)");
  return *layout;
}

// The weights parameter as the manifest records it.
json weightsParam(const std::string& name, int64_t bytes, mlir::llmc::WeightLayout layout) {
  return {{"name", name},
          {"role", "weights"},
          {"dtype", "i8"},
          {"bytes", bytes},
          {"align", 16},
          {"layout", mlir::llmc::stringifyWeightLayout(layout).str()}};
}

QMatVecPlan planOrThrow(const TargetInfo& target, const KernelRequest& request) {
  std::optional<mlir::llmc::QuantType> quant = mlir::llmc::symbolizeQuantType(request.type);
  const std::string what = target.chipName() + ": qmatvec " + std::to_string(request.rows) + "x" +
                           std::to_string(request.cols);
  if (!quant) throw BundleError(what + ": ggml type " + std::to_string(request.type) + " has no kernel");
  QMatVecTuning tuning = defaultTuning(target, *quant, request.rows, request.cols);
  if (request.tuning)
    tuning = {request.tuning->rows_per_block, request.tuning->warps, request.tuning->vector_width, request.tuning->unroll,
              request.tuning->slices_per_lane, request.tuning->group_warps, request.tuning->prefetch,
              request.tuning->row_steps, request.tuning->min_blocks};
  std::string error;
  std::optional<QMatVecPlan> plan = planQMatVec(target, *quant, request.rows, request.cols, request.batch, tuning,
                                                request.allow_int8, layoutOrThrow(target, request, what), &error);
  if (!plan) throw BundleError(what + ": " + error);
  return *plan;
}

QMatMulPlan qmatmulPlanOrThrow(const TargetInfo& target, const KernelRequest& request) {
  std::optional<mlir::llmc::QuantType> quant = mlir::llmc::symbolizeQuantType(request.type);
  const std::string what = target.chipName() + ": qmatmul " + std::to_string(request.rows) + "x" +
                           std::to_string(request.cols);
  if (!quant) throw BundleError(what + ": ggml type " + std::to_string(request.type) + " has no kernel");
  QMatVecTuning tuning = defaultQMatMulTuning(target);
  if (request.tuning)
    tuning = {request.tuning->rows_per_block, request.tuning->warps, request.tuning->vector_width, request.tuning->unroll};
  std::string error;
  std::optional<QMatMulPlan> plan = planQMatMul(target, *quant, request.rows, request.cols, tuning,
                                                layoutOrThrow(target, request, what), &error);
  if (!plan) throw BundleError(what + ": " + error);
  return *plan;
}

// The plan of a request for any op but qmatvec and qmatmul; a bad request's message names the chip and op.
OpPlan opPlanOrThrow(const TargetInfo& target, const KernelRequest& request) {
  const std::string what = target.chipName() + ": " + request.op;
  std::optional<OpKind> kind = parseOpKind(request.op);
  if (!kind) throw BundleError(what + ": not an op llmc generates kernels for");
  OpSpec spec;
  spec.kind = *kind;
  spec.tokens = request.tokens;
  spec.width = request.width;
  spec.broadcast = request.broadcast;
  spec.eps = request.eps;
  spec.quantize = request.op == "rms_norm" && request.quantize;
  spec.scale = request.scale;
  spec.heads = request.heads;
  spec.headDim = request.head_dim;
  spec.ropeDims = request.rope_dims;
  spec.freqBase = request.freq_base;
  spec.contextLength = request.n_ctx;
  spec.kvHeads = request.kv_heads;
  spec.causal = request.causal;
  if (*kind == OpKind::Rope) {
    std::optional<mlir::llmc::RopeMode> mode = mlir::llmc::symbolizeRopeMode(request.rope_mode);
    if (!mode) throw BundleError(what + ": rope mode '" + request.rope_mode + "' (expected norm or neox)");
    spec.ropeMode = *mode;
  }
  if (*kind == OpKind::KvStore || *kind == OpKind::Attention) {
    std::optional<mlir::llmc::KvCacheType> cache = mlir::llmc::symbolizeKvCacheType(request.cache_type);
    if (!cache) throw BundleError(what + ": KV cache type '" + request.cache_type + "' (expected f16, q8_0 or q4_0)");
    spec.cache = *cache;
  }
  if (*kind == OpKind::Embed) {
    std::optional<mlir::llmc::QuantType> quant = mlir::llmc::symbolizeQuantType(request.type);
    if (!quant) throw BundleError(what + ": ggml type " + std::to_string(request.type) + " has no decoder");
    spec.quant = *quant;
    spec.tableRows = request.rows;
    spec.width = request.cols;
    spec.layout = layoutOrThrow(target, request, what);
  }
  std::string error;
  std::optional<OpPlan> plan = planOp(target, spec, &error);
  if (!plan) throw BundleError(target.chipName() + ": " + error);
  return *plan;
}

void writeFileAtomically(const fs::path& path, const std::string& bytes) {
  const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::error_code ec;
      fs::remove(temporary, ec);
      throw BundleError(path.string() + ": cannot write");
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    throw BundleError(path.string() + ": cannot move into place: " + ec.message());
  }
}

json launchDims(int64_t x) { return json::array({x, 1, 1}); }

json tuningEntry(const QMatVecTuning& t, const KernelRequest& request) {
  json entry = {{"rows_per_block", t.rowsPerBlock},
                {"warps", t.warps},
                {"vector_width", t.vectorWidth},
                {"unroll", t.unroll},
                {"source", request.tuning_source.empty() ? std::string("chip default") : request.tuning_source}};
  if (t.groupWarps > 0) entry["group_warps"] = t.groupWarps;
  if (t.prefetch > 0) entry["prefetch"] = t.prefetch;
  if (t.rowSteps > 1) entry["row_steps"] = t.rowSteps;
  if (t.minBlocks > 0) entry["min_blocks"] = t.minBlocks;
  return entry;
}

json kernelEntry(const TargetInfo& target, const QMatVecPlan& plan, const KernelRequest& request,
                 const std::vector<std::string>& tensors) {
  const QMatVecTuning& t = plan.tuning;
  json entry;
  entry["name"] = plan.kernelName;
  entry["op"] = "qmatvec";
  entry["quant"] = mlir::llmc::stringifyQuantType(plan.quant).str();
  entry["rows"] = plan.rows;
  entry["cols"] = plan.cols;
  entry["batch"] = plan.batch;
  entry["method"] = std::string(dotMethodName(plan.method));
  entry["tuning"] = tuningEntry(t, request);
  json params = json::array();
  params.push_back(weightsParam("w", plan.weightBytes, plan.layout));
  params.push_back({{"name", "x"}, {"role", "input"}, {"dtype", "f32"}, {"shape", {plan.batch, plan.cols}}});
  if (plan.needsQuantizer())
    params.push_back({{"name", "scratch"}, {"role", "scratch"}, {"bytes", plan.scratchBytes}, {"align", 16}});
  params.push_back({{"name", "y"}, {"role", "output"}, {"dtype", "f32"}, {"shape", {plan.batch, plan.rows}}});
  entry["params"] = params;
  json launches = json::array();
  if (!target.isGpu()) {
    launches.push_back({{"function", plan.kernelName},
                        {"abi", "cpu_rows"},
                        {"rows_per_step", t.rowsPerBlock},
                        {"args", {"w", "x", "y"}}});
  } else {
    if (plan.needsQuantizer())
      launches.push_back({{"function", plan.quantizeKernelName},
                          {"grid", launchDims(plan.quantizeGridX)},
                          {"block", launchDims(plan.quantizeBlockX)},
                          {"dynamic_shared_bytes", 0},
                          {"args", {"x", "scratch"}}});
    launches.push_back({{"function", plan.kernelName},
                        {"grid", launchDims(plan.gridX)},
                        {"block", launchDims(plan.blockX)},
                        {"dynamic_shared_bytes", 0},
                        {"static_shared_bytes", plan.sharedBytes},
                        {"args", {"w", plan.needsQuantizer() ? "scratch" : "x", "y"}}});
    if (plan.gridDependency) launches.back()["grid_dependency"] = true;
  }
  entry["launches"] = launches;
  entry["tensors"] = tensors;
  return entry;
}

// A prefill product: T is the kernel's `tokens` argument, so shapes name it and the GPU grid's y
// is left to the caller (null), with the tokens one workgroup covers.
json qmatmulKernelEntry(const TargetInfo& target, const QMatMulPlan& plan, const KernelRequest& request,
                        const std::vector<std::string>& tensors) {
  json entry;
  entry["name"] = plan.kernelName;
  entry["op"] = "qmatmul";
  entry["quant"] = mlir::llmc::stringifyQuantType(plan.quant).str();
  entry["rows"] = plan.rows;
  entry["cols"] = plan.cols;
  entry["max_tokens"] = plan.maxTokens;
  entry["method"] = "f32";
  entry["tuning"] = tuningEntry(plan.tuning, request);
  if (target.isGpu()) {
    entry["tile"] = {{"rows", plan.tileRows}, {"tokens", plan.tileTokens}, {"cols", plan.stepValues}};
  } else {
    entry["tile"] = {{"rows", plan.rowsPerStep}, {"tokens", plan.tokensPerStep}};
  }
  json params = json::array();
  params.push_back(weightsParam("w", plan.weightBytes, plan.layout));
  params.push_back({{"name", "x"}, {"role", "input"}, {"dtype", "f32"}, {"shape", {"tokens", plan.cols}}});
  params.push_back({{"name", "y"}, {"role", "output"}, {"dtype", "f32"}, {"shape", {"tokens", plan.rows}}});
  params.push_back({{"name", "tokens"}, {"role", "scalar"}, {"dtype", "i64"}});
  entry["params"] = params;
  json launch;
  launch["function"] = plan.kernelName;
  if (!target.isGpu()) {
    launch["abi"] = "cpu_rows";
    launch["rows_per_step"] = plan.rowsPerStep;
  } else {
    launch["grid"] = json::array({plan.gridX, nullptr, 1});
    launch["tokens_per_workgroup"] = plan.tileTokens;
    launch["block"] = launchDims(plan.blockX);
    launch["dynamic_shared_bytes"] = 0;
    launch["static_shared_bytes"] = plan.sharedBytes;
  }
  launch["args"] = {"w", "x", "y", "tokens"};
  entry["launches"] = json::array({launch});
  entry["tensors"] = tensors;
  return entry;
}

json opKernelEntry(const TargetInfo& target, const OpPlan& plan, const std::vector<std::string>& tensors) {
  const OpSpec& spec = plan.spec;
  json entry;
  entry["name"] = plan.kernelName;
  entry["op"] = std::string(opKindName(spec.kind));
  entry["tokens"] = spec.tokens;
  switch (spec.kind) {
    case OpKind::RmsNorm:
      entry["width"] = spec.width;
      entry["eps"] = spec.eps;
      if (spec.quantize) entry["q8"] = true;
      break;
    case OpKind::Add:
    case OpKind::Mul:
      entry["width"] = spec.width;
      entry["broadcast"] = spec.broadcast;
      break;
    case OpKind::Softmax:
      entry["width"] = spec.width;
      entry["scale"] = spec.scale;
      break;
    case OpKind::SwiGlu:
    case OpKind::ArgMax: entry["width"] = spec.width; break;
    case OpKind::Rope:
      entry["mode"] = mlir::llmc::stringifyRopeMode(spec.ropeMode).str();
      entry["heads"] = spec.heads;
      entry["head_dim"] = spec.headDim;
      entry["dims"] = spec.ropeDims;
      entry["freq_base"] = spec.freqBase;
      break;
    case OpKind::KvStore:
      entry["width"] = spec.width;
      entry["kv_cache"] = mlir::llmc::stringifyKvCacheType(spec.cache).str();
      entry["n_ctx"] = spec.contextLength;
      break;
    case OpKind::Embed:
      entry["quant"] = mlir::llmc::stringifyQuantType(spec.quant).str();
      entry["rows"] = spec.tableRows;
      entry["cols"] = spec.width;
      break;
    case OpKind::Attention:
      entry["kv_cache"] = mlir::llmc::stringifyKvCacheType(spec.cache).str();
      entry["heads"] = spec.heads;
      entry["kv_heads"] = spec.kvHeads;
      entry["head_dim"] = spec.headDim;
      entry["n_ctx"] = spec.contextLength;
      entry["scale"] = spec.scale;
      entry["causal"] = spec.causal;
      break;
  }
  json params = json::array();
  json args = json::array();
  for (const OpParam& p : plan.params) {
    json param = {{"name", p.name}, {"role", p.role}, {"dtype", p.dtype}};
    if (spec.kind == OpKind::Embed && p.role == "weights") param["layout"] = mlir::llmc::stringifyWeightLayout(spec.layout).str();
    if (p.role != "scalar") param["shape"] = p.shape;
    if (p.dtype == "i8") {
      int64_t bytes = 1;
      for (int64_t size : p.shape) bytes *= size;
      param["bytes"] = bytes;
      param["align"] = 16;
    }
    if (p.partial) param["partial"] = true;
    params.push_back(param);
    args.push_back(p.name);
  }
  entry["params"] = params;
  json launch;
  launch["function"] = plan.kernelName;
  if (!target.isGpu()) {
    launch["abi"] = "cpu_tokens";
  } else {
    launch["grid"] = launchDims(plan.gridX);
    launch["block"] = launchDims(plan.blockX);
    launch["dynamic_shared_bytes"] = 0;
    launch["static_shared_bytes"] = plan.sharedBytes;
  }
  launch["args"] = args;
  entry["launches"] = json::array({launch});
  entry["tensors"] = tensors;
  return entry;
}

std::string vendorName(const TargetInfo& target) {
  return std::string(targets::vendor_name(target.chip().vendor));
}

std::string fileFormat(const TargetInfo& target) {
  switch (target.kind()) {
    case CodeGenKind::Nvptx: return "ptx";
    case CodeGenKind::Amdgpu: return "hsaco";
    case CodeGenKind::X86: return "elf-shared-object";
  }
  return "";
}

// Which plan list a kernel's plan is in.
enum class PlanKind { QMatVec, QMatMul, Op };

PlanKind planKindOf(const KernelRequest& request) {
  if (request.op == "qmatvec") return PlanKind::QMatVec;
  if (request.op == "qmatmul") return PlanKind::QMatMul;
  return PlanKind::Op;
}

// Every plan of one chip's kernels, by kind.
struct ChipPlans {
  std::vector<QMatVecPlan> qmatvec;
  std::vector<QMatMulPlan> qmatmul;
  std::vector<OpPlan> op;
};

// One separately compiled function: a qmatvec plan's product kernel or its activation quantizer,
// a qmatmul plan's kernel, or the kernel of an op plan.
struct CompileUnit {
  PlanKind kind = PlanKind::QMatVec;
  size_t plan = 0;
  KernelCompiler::Part part = KernelCompiler::Part::Product;
  std::string key;
  KernelObject object;
};

std::optional<KernelObject> compileUnit(KernelCompiler& compiler, const ChipPlans& plans, const CompileUnit& unit,
                                        bool withAssembly, std::string* error) {
  switch (unit.kind) {
    case PlanKind::QMatVec: return compiler.compile(plans.qmatvec[unit.plan], unit.part, withAssembly, error);
    case PlanKind::QMatMul: return compiler.compileQMatMul(plans.qmatmul[unit.plan], withAssembly, error);
    case PlanKind::Op: return compiler.compileOp(plans.op[unit.plan], withAssembly, error);
  }
  return std::nullopt;
}

// Compiles units[i] for every i in `pending` on `jobs` threads, each with its own compiler.
void compileAll(const std::string& chip, const ChipPlans& plans, std::vector<CompileUnit>& units,
                const std::vector<size_t>& pending, bool withAssembly, int jobs) {
  std::atomic<size_t> next{0};
  std::mutex errorLock;
  std::string firstError;
  auto worker = [&] {
    std::optional<KernelCompiler> compiler;
    for (size_t i = next++; i < pending.size(); i = next++) {
      if (!compiler) compiler.emplace(targetOrThrow(chip));
      CompileUnit& unit = units[pending[i]];
      std::string error;
      std::optional<KernelObject> object = compileUnit(*compiler, plans, unit, withAssembly, &error);
      if (!object) {
        std::lock_guard<std::mutex> lock(errorLock);
        if (firstError.empty()) firstError = error;
        continue;
      }
      unit.object = std::move(*object);
    }
  };
  const int threads = std::max(1, std::min<int>(jobs, static_cast<int>(pending.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  if (!firstError.empty()) throw BundleError(firstError);
}

}  // namespace

std::string fnv1a64Hex(const void* data, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ull;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) hex[static_cast<size_t>(i)] = kDigits[hash & 15];
  return hex;
}

std::string defaultKernelCacheDir() {
  if (const char* dir = std::getenv("LLMC_CACHE_DIR"); dir && *dir) return (fs::path(dir) / "kernels").string();
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir) return (fs::path(dir) / "llmc" / "kernels").string();
  if (const char* home = std::getenv("HOME"); home && *home)
    return (fs::path(home) / ".cache" / "llmc" / "kernels").string();
  return "";
}

std::vector<std::string> supportedChips() {
  std::vector<std::string> chips;
  for (const targets::ChipInfo& chip : targets::DeviceCatalog::builtin().chips())
    if (makeTargetInfo(chip.arch)) chips.push_back(chip.arch);
  return chips;
}

std::vector<uint32_t> supportedQMatVecTypes() {
  std::vector<uint32_t> types;
  for (uint32_t id = 0; id < 64; ++id)
    if (auto quant = mlir::llmc::symbolizeQuantType(id); quant && hasQMatVecKernel(*quant)) types.push_back(id);
  return types;
}

std::vector<std::string> supportedKernelOps() {
  std::vector<std::string> ops = {"qmatvec", "qmatmul"};
  for (OpKind kind : allOpKinds()) ops.emplace_back(opKindName(kind));
  return ops;
}

std::string kernelAssembly(const std::string& chip, const KernelRequest& kernel) {
  KernelCompiler compiler(targetOrThrow(chip));
  std::string error;
  std::optional<KernelObject> object;
  if (kernel.op == "qmatvec") {
    object = compiler.compile(planOrThrow(compiler.target(), kernel), KernelCompiler::Part::Product, true, &error);
  } else if (kernel.op == "qmatmul") {
    object = compiler.compileQMatMul(qmatmulPlanOrThrow(compiler.target(), kernel), true, &error);
  } else {
    object = compiler.compileOp(opPlanOrThrow(compiler.target(), kernel), true, &error);
  }
  if (!object) throw BundleError(error);
  return object->assembly;
}

std::vector<ChipBuildReport> writeBundle(const std::vector<ChipRequest>& chips, const BundleOptions& options) {
  const fs::path out(options.output_dir);
  std::error_code ec;
  fs::create_directories(out / "kernels", ec);
  if (ec) throw BundleError(out.string() + ": cannot create the bundle directory: " + ec.message());
  const KernelCache cache(options.write_assembly ? std::string() : options.cache_dir);
  const int jobs = options.jobs > 0 ? options.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  json manifest;
  manifest["schema"] = "llmc.bundle/1";
  manifest["generator"] = {{"name", "llmc"}, {"codegen_revision", LLMC_CODEGEN_REVISION}, {"llvm", LLVM_VERSION_STRING}};
  manifest["model"] = options.model;
  manifest["plan"] = options.plan;
  manifest["chips"] = json::array();
  std::vector<ChipBuildReport> reports;

  for (const ChipRequest& chipRequest : chips) {
    const auto started = std::chrono::steady_clock::now();
    std::unique_ptr<TargetInfo> target = targetOrThrow(chipRequest.chip);
    // Equal kernels (same op, type, shape, tuning) are built once and serve all their tensors.
    // Manifest entries keep the order of the first request of each.
    struct Entry {
      PlanKind kind = PlanKind::QMatVec;
      size_t plan = 0;
      const KernelRequest* request = nullptr;
      std::vector<std::string> tensors;
    };
    ChipPlans plans;
    std::vector<Entry> entries;
    std::map<std::string, size_t> byName;
    for (const KernelRequest& request : chipRequest.kernels) {
      const PlanKind kind = planKindOf(request);
      std::string name;
      size_t index = 0;
      switch (kind) {
        case PlanKind::QMatVec:
          plans.qmatvec.push_back(planOrThrow(*target, request));
          name = plans.qmatvec.back().kernelName;
          index = plans.qmatvec.size() - 1;
          break;
        case PlanKind::QMatMul:
          plans.qmatmul.push_back(qmatmulPlanOrThrow(*target, request));
          name = plans.qmatmul.back().kernelName;
          index = plans.qmatmul.size() - 1;
          break;
        case PlanKind::Op:
          plans.op.push_back(opPlanOrThrow(*target, request));
          name = plans.op.back().kernelName;
          index = plans.op.size() - 1;
          break;
      }
      auto [it, inserted] = byName.emplace(name, entries.size());
      if (inserted) {
        entries.push_back({kind, index, &request, request.tensors});
        continue;
      }
      // The same kernel again: it serves this request's tensors too, and its plan is not kept twice.
      switch (kind) {
        case PlanKind::QMatVec: plans.qmatvec.pop_back(); break;
        case PlanKind::QMatMul: plans.qmatmul.pop_back(); break;
        case PlanKind::Op: plans.op.pop_back(); break;
      }
      auto& names = entries[it->second].tensors;
      names.insert(names.end(), request.tensors.begin(), request.tensors.end());
    }

    ChipBuildReport report;
    report.chip = chipRequest.chip;
    report.kernels = static_cast<int>(entries.size());
    std::vector<CompileUnit> units;
    std::map<std::string, size_t> quantizers;
    const std::string& chip = chipRequest.chip;
    for (const Entry& entry : entries) {
      const size_t i = entry.plan;
      switch (entry.kind) {
        case PlanKind::Op:
          units.push_back({entry.kind, i, KernelCompiler::Part::Product, KernelCache::key(chip, plans.op[i]), {}});
          break;
        case PlanKind::QMatMul:
          units.push_back({entry.kind, i, KernelCompiler::Part::Product, KernelCache::key(chip, plans.qmatmul[i]), {}});
          break;
        case PlanKind::QMatVec: {
          const QMatVecPlan& plan = plans.qmatvec[i];
          units.push_back({entry.kind, i, KernelCompiler::Part::Product, KernelCache::key(chip, plan), {}});
          if (plan.needsQuantizer() && quantizers.emplace(plan.quantizeKernelName, i).second)
            units.push_back({entry.kind, i, KernelCompiler::Part::ActivationQuantizer,
                             KernelCache::quantizerKey(chip, plan), {}});
          break;
        }
      }
    }
    std::vector<size_t> pending;
    for (size_t i = 0; i < units.size(); ++i) {
      if (std::optional<std::string> cached = cache.load(chipRequest.chip, units[i].key)) {
        units[i].object.bytes = std::move(*cached);
        ++report.from_cache;
      } else {
        pending.push_back(i);
      }
    }
    compileAll(chipRequest.chip, plans, units, pending, options.write_assembly, jobs);
    for (size_t i : pending) cache.store(chipRequest.chip, units[i].key, units[i].object.bytes);
    report.compiled = static_cast<int>(pending.size());

    const std::string extension(target->kernelFileExtension());
    report.file = "kernels/" + chipRequest.chip + "." + extension;
    if (!units.empty()) {
      std::vector<const KernelObject*> linkInputs;
      for (const CompileUnit& unit : units) linkInputs.push_back(&unit.object);
      KernelCompiler linker(targetOrThrow(chipRequest.chip));
      std::string error;
      const std::string workDir = (out / "kernels" / (".link-" + chipRequest.chip + "-" + std::to_string(::getpid()))).string();
      std::optional<std::string> linked = linker.link(linkInputs, workDir, &error);
      fs::remove_all(workDir, ec);
      if (!linked) throw BundleError(error);
      writeFileAtomically(out / report.file, *linked);
      if (options.write_assembly && target->kind() != CodeGenKind::Nvptx) {
        std::string listing;
        for (const CompileUnit& unit : units) listing += unit.object.assembly;
        writeFileAtomically(out / "kernels" / (chipRequest.chip + ".s"), listing);
      }
    }

    json entry;
    entry["chip"] = chipRequest.chip;
    entry["vendor"] = vendorName(*target);
    entry["file"] = report.file;
    entry["format"] = fileFormat(*target);
    entry["warp_size"] = target->warpSize();
    if (target->kind() == CodeGenKind::Nvptx) {
      std::string version(ptxFeatureForChip(target->chipName()).substr(4));  // "+ptx60" -> "6.0"
      entry["ptx_version"] = version.insert(1, ".");
    }
    json kernels = json::array();
    for (const Entry& e : entries) {
      switch (e.kind) {
        case PlanKind::QMatVec: kernels.push_back(kernelEntry(*target, plans.qmatvec[e.plan], *e.request, e.tensors)); break;
        case PlanKind::QMatMul:
          kernels.push_back(qmatmulKernelEntry(*target, plans.qmatmul[e.plan], *e.request, e.tensors));
          break;
        case PlanKind::Op: kernels.push_back(opKernelEntry(*target, plans.op[e.plan], e.tensors)); break;
      }
    }
    entry["kernels"] = kernels;
    manifest["chips"].push_back(entry);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    reports.push_back(report);
  }
  writeFileAtomically(out / "manifest.json", manifest.dump(2) + "\n");
  return reports;
}

}  // namespace llmc::compiler
