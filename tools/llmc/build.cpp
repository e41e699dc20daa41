// `llmc build`: compile the kernels a model needs for a set of chips into a bundle
// (docs/bundle-format.md). Also builds explicit kernel lists and the kernel-check suite, and prints
// a kernel's assembly for inspection.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "build_ops.h"
#include "commands.h"
#include "llmc/compiler/Bundle.h"
#include "llmc/ggml_types.h"
#include "llmc/gguf.h"
#include "llmc/targets/device_catalog.h"
#include "llmc/targets/device_profile.h"

namespace llmc::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using compiler::ChipRequest;
using compiler::KernelRequest;

struct BuildOptions {
  std::string model;
  std::string plan;
  std::vector<std::string> targets;
  std::vector<std::string> kernels;
  bool check_suite = false;
  bool perf_shapes = false;
  bool more_shapes = false;  // --more-shapes: a second model's shapes for tuning sweeps
  std::vector<std::string> quants;
  std::string output;
  std::string cache_dir;
  bool no_cache = false;
  int batch = 1;
  int jobs = 0;
  bool assembly = false;
  std::string print_assembly;
  std::vector<std::string> tunings;
};

[[noreturn]] void usage(const std::string& message) { throw CLI::ValidationError(message); }

// Shapes every kernel-check suite covers: rows that do not fill the last workgroup, several
// batches, one long row. Columns are multiples of 256 so that every type can take them.
struct SuiteShape {
  int64_t rows;
  int64_t cols;
  int64_t batch;
};
constexpr SuiteShape kCheckShapes[] = {{67, 256, 1}, {128, 1024, 2}, {300, 4096, 1}, {33, 2816, 3}, {16, 512, 8}};
// The benchmark shapes (rows x cols) of an 8B decoder: attention, feed-forward up and down.
constexpr SuiteShape kPerfShapes[] = {{4096, 4096, 1}, {4096, 14336, 1}, {14336, 4096, 1}};
// A second decoder's (a 14B: 5120 wide, 17408 feed-forward), so that a tuning sweep sees more than
// one matrix per shape class (a tuning can win on one width and lose on another).
constexpr SuiteShape kMoreShapes[] = {{5120, 5120, 1}, {5120, 17408, 1}, {17408, 5120, 1}};
constexpr GgmlType kPerfTypes[] = {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q8_0};
// Tunings besides the chip default: many rows per workgroup, and the one the benchmark runs.
constexpr compiler::TuningValues kManyRows{16, 4, 4, 2};
// Rows spread over warps and columns at once: 2 groups of 2 warps, 3 rows each.
constexpr compiler::TuningValues kRowGroups{6, 4, 2, 1};
// Warps sharing rows (group_warps): 3 groups of 2 warps, 2 rows each.
constexpr compiler::TuningValues kSharedRows{6, 6, 4, 2, 0, 2};
// Workgroups that first ask for their rows in L2 (prefetch; NVIDIA only, elsewhere the same kernel
// as kManyRows): many lines per thread, and a last workgroup past the end of the rows.
constexpr compiler::TuningValues kPrefetchedRows{16, 4, 4, 2, 0, 0, 1};
// Workgroups that compute three blocks of rows in turn, with and without prefetching the next
// block, one of them with warps that share rows (a barrier between steps): the last workgroup's
// last steps lie past the end of the rows.
constexpr compiler::TuningValues kRowSteps{2, 2, 4, 2, 0, 0, 0, 3};
constexpr compiler::TuningValues kRowStepsPrefetched{2, 2, 4, 2, 0, 2, 1, 3};
// Workgroups of 64 threads of which 32 must fit on a multiprocessor (GPUs): 32 registers a lane,
// so that the K-quant decoders run with what they spill.
constexpr compiler::TuningValues kResident{2, 2, 4, 2, 0, 0, 0, 1, 32};
// The GPU suite's tunings besides the chip default, in build order; `f32_too` adds the same
// tuning with the f32 method (source "..., f32 method").
struct SuiteTuning {
  compiler::TuningValues tuning;
  const char* what;
  bool f32_too;
};
constexpr SuiteTuning kGpuSuiteTunings[] = {
    {kManyRows, "many rows", true},
    {kRowGroups, "row groups of several warps", false},
    {kSharedRows, "warps sharing rows", true},
    {kPrefetchedRows, "rows prefetched into L2", true},
    {kRowSteps, "three steps of rows per workgroup", false},
    {kRowStepsPrefetched, "three prefetched steps of warps sharing rows", true},
    {kResident, "registers capped for 32 resident workgroups", true},
};
constexpr compiler::TuningValues kPerfTuning{2, 4, 4, 1};
// Prefill products (qmatmul): weights of rows that leave the last tile partial, a few K-steps
// each, and no batch: kernel-check runs every kernel at several token counts. GPUs also get two other tilings:
// 32-row tiles with 2 x 2 register blocks, and 48-row tiles with 3 x 8 ones.
constexpr SuiteShape kMatMulCheckShapes[] = {{67, 256, 0}, {130, 1024, 0}};
constexpr compiler::TuningValues kMatMulSmallTiles{32, 4, 2, 2};
constexpr compiler::TuningValues kMatMulOddTiles{48, 4, 8, 3};
// The prefill benchmark: an 8B decoder's attention matrix, timed at T = 512 by kernel-check --perf.
constexpr SuiteShape kMatMulPerfShape{4096, 4096, 0};
constexpr GgmlType kMatMulPerfTypes[] = {GgmlType::Q4_0, GgmlType::Q8_0};

GgmlType parse_type(const std::string& name, const std::string& option) {
  auto type = ggml_type_from_name(name);
  if (!type) usage(fmt::format("{}: '{}' is not a ggml type", option, name));
  return *type;
}

bool has_kernel(GgmlType type) {
  const auto types = compiler::supportedQMatVecTypes();
  return std::find(types.begin(), types.end(), static_cast<uint32_t>(type)) != types.end();
}

void check_chip(const std::string& chip) {
  const auto chips = compiler::supportedChips();
  if (std::find(chips.begin(), chips.end(), chip) == chips.end())
    usage(fmt::format("--target: '{}' is not a chip llmc generates code for; expected one of {}", chip,
                      fmt::join(chips, ", ")));
}

// "q4_K:4096x4096" or "q4_K:4096x4096:b2".
KernelRequest parse_kernel(const std::string& text, int batch) {
  if (std::optional<KernelRequest> op = parse_op_kernel(text)) return *op;
  const size_t colon = text.find(':');
  const size_t x = text.find('x', colon == std::string::npos ? 0 : colon);
  if (colon == std::string::npos || x == std::string::npos)
    usage(fmt::format("--kernel: '{}'; expected TYPE:ROWSxCOLS[:bBATCH], e.g. q4_K:4096x4096", text));
  KernelRequest request;
  request.type = static_cast<uint32_t>(parse_type(text.substr(0, colon), "--kernel"));
  request.batch = batch;
  try {
    size_t used = 0;
    request.rows = std::stoll(text.substr(colon + 1, x - colon - 1), &used);
    const std::string rest = text.substr(x + 1);
    request.cols = std::stoll(rest, &used);
    if (used < rest.size()) {
      if (rest.compare(used, 2, ":b") != 0) throw std::invalid_argument("suffix");
      request.batch = std::stoll(rest.substr(used + 2));
    }
  } catch (const std::exception&) {
    usage(fmt::format("--kernel: '{}'; expected TYPE:ROWSxCOLS[:bBATCH], e.g. q4_K:4096x4096", text));
  }
  request.tuning_source = "chip default";
  return request;
}

// "R,W,V,U[,G][,pP][,sS][,mM]": rows per block, warps, vector width, unroll, then optionally warps
// per row group (bare, or tagged gG), prefetch (p0 or p1), row steps (s1..s64) and workgroups kept
// resident per multiprocessor (m0..m32), as kernel names spell them: "2,2,4,4,2", "2,2,4,4,g2,p1",
// "4,4,4,1,p1,s4", "2,1,4,4,m32".
compiler::TuningValues parse_tuning(const std::string& text) {
  auto bad = [&]() {
    usage(fmt::format("--tuning: '{}'; expected "
                      "ROWS_PER_BLOCK,WARPS,VECTOR_WIDTH,UNROLL[,GROUP_WARPS][,pPREFETCH][,sROW_STEPS][,mMIN_BLOCKS], "
                      "e.g. 1,4,2,1 or 2,2,4,4,2,p1,s4 (PREFETCH 0 or 1, ROW_STEPS 1..{}, MIN_BLOCKS 0..{})",
                      text, targets::kMaxRowSteps, targets::kMaxMinBlocks));
  };
  std::vector<std::string> items;
  for (size_t at = 0;;) {
    const size_t comma = text.find(',', at);
    items.push_back(text.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  auto number = [&](const std::string& item, long long low, long long high) {
    if (item.empty() || item.size() > 4 || item.find_first_not_of("0123456789") != std::string::npos) bad();
    const long long value = std::stoll(item);
    if (value < low || value > high) bad();
    return value;
  };
  if (items.size() < 4) bad();
  compiler::TuningValues t;
  t.rows_per_block = number(items[0], 1, 9999);
  t.warps = number(items[1], 1, 9999);
  t.vector_width = number(items[2], 1, 9999);
  t.unroll = number(items[3], 1, 9999);
  std::set<char> seen;
  for (size_t i = 4; i < items.size(); ++i) {
    const std::string& item = items[i];
    if (item.empty()) bad();
    // The fifth value may be a bare number: the warps per row group.
    const bool bare = i == 4 && std::isdigit(static_cast<unsigned char>(item[0]));
    const char tag = bare ? 'g' : item[0];
    const std::string value = bare ? item : item.substr(1);
    if (!seen.insert(tag).second) bad();
    switch (tag) {
      case 'g': t.group_warps = number(value, 1, 9999); break;
      case 'p': t.prefetch = number(value, 0, 1); break;
      case 's': t.row_steps = number(value, 1, targets::kMaxRowSteps); break;
      case 'm': t.min_blocks = number(value, 0, targets::kMaxMinBlocks); break;
      default: bad();
    }
  }
  return t;
}

// The 2-D weights a decoder multiplies by activations: every `*.weight` matrix except the token
// embedding table, which is gathered (unless the output layer reuses it). Each gets the decode
// product (qmatvec at `batch` vectors) and the prefill product (qmatmul).
std::vector<KernelRequest> model_kernels(const GgufFile& file, int batch) {
  const bool tied_output = file.find_tensor("output.weight") == nullptr;
  std::vector<KernelRequest> kernels;
  std::vector<KernelRequest> prefill;
  for (const GgufTensorInfo& tensor : file.tensors()) {
    const std::string name(tensor.name);
    if (tensor.n_dims != 2 || !name.ends_with(".weight")) continue;
    if (name == "token_embd.weight" && !tied_output) continue;
    if (!has_kernel(tensor.type))
      throw std::runtime_error(fmt::format("{}: tensor {}: type {} has no qmatvec kernel in this build", file.path(),
                                           name, ggml_type_name(tensor.type)));
    KernelRequest request;
    request.type = static_cast<uint32_t>(tensor.type);
    request.rows = static_cast<int64_t>(tensor.ne[1]);
    request.cols = static_cast<int64_t>(tensor.ne[0]);
    request.batch = batch;
    request.tuning_source = "chip default";
    request.tensors.push_back(name);
    kernels.push_back(request);
    request.op = "qmatmul";
    request.batch = 1;
    prefill.push_back(std::move(request));
  }
  kernels.insert(kernels.end(), prefill.begin(), prefill.end());
  return kernels;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
}

// The binding to the GGUF: where it is, its size, and a hash of its header (metadata and tensor
// table), which changes whenever the tensors a bundle was built for do.
json model_binding(const GgufFile& file) {
  std::ifstream in(file.path(), std::ios::binary);
  std::string header(file.header_bytes(), '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  if (!in) throw std::runtime_error(fmt::format("{}: cannot read the header", file.path()));
  std::error_code ec;
  const fs::path absolute = fs::weakly_canonical(fs::absolute(file.path()), ec);
  return {{"path", ec ? file.path() : absolute.string()},
          {"size", file.file_size()},
          {"header_bytes", file.header_bytes()},
          {"header_hash", "fnv1a64:" + compiler::fnv1a64Hex(header.data(), header.size())},
          {"tensor_data_offset", file.data_offset()}};
}

// Per-chip tuning chosen by a plan (llmc.plan/1 "kernels"), and the chips of its devices.
struct PlanTuning {
  std::vector<std::string> chips;
  // (chip, quant, exact shape ROWSxCOLS, shape class, or "" for every shape)
  std::map<std::tuple<std::string, std::string, std::string>, compiler::TuningValues> qmatvec;
};

PlanTuning read_plan(const json& plan, const std::string& path) {
  if (plan.value("schema", "") != "llmc.plan/1")
    throw std::runtime_error(fmt::format("{}: schema: expected \"llmc.plan/1\"", path));
  PlanTuning tuning;
  std::set<std::string> seen;
  for (const json& device : plan.value("devices", json::array())) {
    const std::string arch = device.value("arch", "");
    if (!arch.empty() && seen.insert(arch).second) tuning.chips.push_back(arch);
  }
  for (const json& kernel : plan.value("kernels", json::array())) {
    if (kernel.value("op", "") != "qmatvec") continue;
    compiler::TuningValues values;
    values.rows_per_block = kernel.value("rows_per_block", values.rows_per_block);
    values.warps = kernel.value("warps", values.warps);
    values.vector_width = kernel.value("vector_width", values.vector_width);
    values.unroll = kernel.value("unroll", values.unroll);
    values.slices_per_lane = kernel.value("slices_per_lane", values.slices_per_lane);
    values.group_warps = kernel.value("group_warps", values.group_warps);
    values.prefetch = kernel.value("prefetch", values.prefetch);
    values.row_steps = kernel.value("row_steps", values.row_steps);
    values.min_blocks = kernel.value("min_blocks", values.min_blocks);
    const std::string shape = kernel.value("shape", "");
    if (!shape.empty() && !targets::is_matrix_shape_key(shape))
      throw std::runtime_error(fmt::format("{}: kernels[].shape \"{}\": expected tall, wide, square or ROWSxCOLS", path, shape));
    tuning.qmatvec[{kernel.value("chip", ""), kernel.value("quant", ""), shape}] = values;
  }
  return tuning;
}

std::vector<KernelRequest> suite_kernels(const std::vector<std::string>& quants, bool perf, bool more_shapes, bool gpu,
                                         const std::vector<compiler::TuningValues>& perf_tunings) {
  std::vector<GgmlType> types;
  if (quants.empty()) {
    for (uint32_t id : compiler::supportedQMatVecTypes()) types.push_back(static_cast<GgmlType>(id));
  } else {
    for (const std::string& name : quants) {
      const GgmlType type = parse_type(name, "--quant");
      if (!has_kernel(type)) usage(fmt::format("--quant: {} has no qmatvec kernel", name));
      types.push_back(type);
    }
  }
  std::vector<KernelRequest> kernels;
  auto add = [&](GgmlType type, const SuiteShape& shape, bool allow_int8, std::optional<compiler::TuningValues> tuning,
                 const std::string& source, const char* layout = "") {
    KernelRequest request;
    request.layout = layout;
    request.type = static_cast<uint32_t>(type);
    request.rows = shape.rows;
    request.cols = shape.cols;
    request.batch = shape.batch;
    request.allow_int8 = allow_int8;
    request.tuning = tuning;
    request.tuning_source = source;
    kernels.push_back(request);
  };
  for (GgmlType type : types) {
    for (const SuiteShape& shape : kCheckShapes) {
      // Both methods where the chip has an int8 dot (they get different names); elsewhere the
      // two requests are the same kernel, built once. GPUs also get many rows per workgroup,
      // which their kernels serve from staged activations.
      add(type, shape, true, std::nullopt, "chip default");
      add(type, shape, false, std::nullopt, "chip default, f32 method");
      if (gpu) {
        for (const SuiteTuning& t : kGpuSuiteTunings) {
          const std::string source = std::string("check suite: ") + t.what;
          add(type, shape, true, t.tuning, source);
          if (t.f32_too) add(type, shape, false, t.tuning, source + ", f32 method");
        }
      }
    }
    // Both weight layouts on every chip (one of them is the chip's default, built once).
    for (const SuiteShape& shape : {kCheckShapes[0], kCheckShapes[2]})
      for (const char* layout : {"blocks", "row_planar"}) {
        add(type, shape, true, std::nullopt, "check suite: both layouts", layout);
        add(type, shape, false, std::nullopt, "check suite: both layouts, f32 method", layout);
      }
  }
  auto add_matmul = [&](GgmlType type, const SuiteShape& shape, std::optional<compiler::TuningValues> tuning,
                        const std::string& source, const char* layout = "") {
    KernelRequest request;
    request.op = "qmatmul";
    request.layout = layout;
    request.type = static_cast<uint32_t>(type);
    request.rows = shape.rows;
    request.cols = shape.cols;
    request.tuning = tuning;
    request.tuning_source = source;
    kernels.push_back(request);
  };
  for (GgmlType type : types)
    for (const SuiteShape& shape : kMatMulCheckShapes) {
      add_matmul(type, shape, std::nullopt, "chip default");
      for (const char* layout : {"blocks", "row_planar"})
        add_matmul(type, shape, std::nullopt, "check suite: both layouts", layout);
      if (!gpu) continue;
      add_matmul(type, shape, kMatMulSmallTiles, "check suite: small tiles");
      add_matmul(type, shape, kMatMulOddTiles, "check suite: 48-row tiles, 3 x 8 blocks");
    }
  if (perf && gpu)
    for (GgmlType type : kMatMulPerfTypes)
      if (std::find(types.begin(), types.end(), type) != types.end())
        add_matmul(type, kMatMulPerfShape, std::nullopt, "chip default");
  std::vector<SuiteShape> perf_shapes(std::begin(kPerfShapes), std::end(kPerfShapes));
  if (more_shapes) perf_shapes.insert(perf_shapes.end(), std::begin(kMoreShapes), std::end(kMoreShapes));
  if (perf)
    for (GgmlType type : kPerfTypes)
      if (std::find(types.begin(), types.end(), type) != types.end())
        for (const SuiteShape& shape : perf_shapes) {
          add(type, shape, true, std::nullopt, "chip default");
          if (!gpu) continue;
          if (perf_tunings.empty()) add(type, shape, true, kPerfTuning, "benchmark tuning");
          // The file's layout, for the comparison in the same run.
          add(type, shape, true, std::nullopt, "chip default, file layout", "blocks");
          add(type, shape, true, perf_tunings.empty() ? kPerfTuning : perf_tunings.front(), "benchmark tuning, file layout",
              "blocks");
          for (const compiler::TuningValues& t : perf_tunings) add(type, shape, true, t, "--tuning");
          // The f32 method too: on fast chips the dequantizing path can outrun the int8 one.
          add(type, shape, false, perf_tunings.empty() ? kPerfTuning : perf_tunings.front(), "benchmark tuning, f32 method");
        }
  return kernels;
}

int run_build(const BuildOptions& o) {
  if (!o.print_assembly.empty()) {
    if (o.targets.size() != 1) usage("--print-asm needs exactly one --target");
    check_chip(o.targets[0]);
    KernelRequest request = parse_kernel(o.print_assembly, o.batch);
    if (o.tunings.size() > 1) usage("--print-asm takes one --tuning");
    if (!o.tunings.empty()) request.tuning = parse_tuning(o.tunings.front());
    const std::string assembly = compiler::kernelAssembly(o.targets[0], request);
    std::fwrite(assembly.data(), 1, assembly.size(), stdout);
    return kExitOk;
  }
  const int sources = (o.model.empty() ? 0 : 1) + (o.kernels.empty() ? 0 : 1) + (o.check_suite ? 1 : 0);
  if (sources != 1) usage("give exactly one of MODEL.gguf, --kernel or --check-suite");
  if (o.output.empty()) usage("-o/--output is required");
  if (!o.plan.empty() && o.model.empty()) usage("--plan needs MODEL.gguf");
  if (o.plan.empty() && o.targets.empty()) usage("give --target CHIP (or --plan plan.json)");
  if (o.perf_shapes && !o.check_suite) usage("--perf-shapes goes with --check-suite");
  if (o.more_shapes && !o.perf_shapes) usage("--more-shapes goes with --perf-shapes");

  std::optional<compiler::TuningValues> tuning;
  std::vector<compiler::TuningValues> perf_tunings;
  if (!o.tunings.empty()) {
    if (o.perf_shapes) {
      for (const std::string& text : o.tunings) perf_tunings.push_back(parse_tuning(text));
    } else {
      if (o.kernels.empty()) usage("--tuning goes with --kernel, --print-asm or --perf-shapes");
      if (o.tunings.size() > 1) usage("--kernel takes one --tuning");
      tuning = parse_tuning(o.tunings.front());
    }
  }
  const auto started = std::chrono::steady_clock::now();
  compiler::BundleOptions options;
  options.output_dir = o.output;
  options.cache_dir = o.no_cache ? "" : (o.cache_dir.empty() ? compiler::defaultKernelCacheDir() : o.cache_dir);
  options.write_assembly = o.assembly;
  options.jobs = o.jobs;

  std::vector<std::string> chips = o.targets;
  PlanTuning plan_tuning;
  std::vector<KernelRequest> base;
  if (!o.model.empty()) {
    GgufFile file = GgufFile::open(o.model);
    base = model_kernels(file, o.batch);
    options.model = model_binding(file);
    if (!o.plan.empty()) {
      options.plan = read_json(o.plan);
      plan_tuning = read_plan(options.plan, o.plan);
      if (chips.empty()) chips = plan_tuning.chips;
    }
    for (KernelRequest& op : model_op_kernels(file, o.batch, options.plan)) base.push_back(std::move(op));
  } else if (!o.kernels.empty()) {
    for (const std::string& text : o.kernels) {
      base.push_back(parse_kernel(text, o.batch));
      if (tuning) {
        base.back().tuning = tuning;
        base.back().tuning_source = "--tuning";
      }
    }
  }
  std::vector<std::string> usable;
  for (const std::string& chip : chips) {
    if (!o.plan.empty() && o.targets.empty()) {
      const auto all = compiler::supportedChips();
      if (std::find(all.begin(), all.end(), chip) == all.end()) {
        fmt::print(stderr, "llmc build: {}: device arch '{}' has no code generator; skipped\n", o.plan, chip);
        continue;
      }
    } else {
      check_chip(chip);
    }
    usable.push_back(chip);
  }

  std::vector<ChipRequest> requests;
  for (const std::string& chip : usable) {
    ChipRequest request{chip, {}};
    if (o.check_suite) {
      request.kernels = suite_kernels(o.quants, o.perf_shapes, o.more_shapes, chip != "x86-64", perf_tunings);
      std::vector<GgmlType> quant_types;
      for (const std::string& name : o.quants) quant_types.push_back(parse_type(name, "--quant"));
      for (KernelRequest& op : suite_op_kernels(quant_types)) request.kernels.push_back(std::move(op));
    } else {
      request.kernels = base;
      // Chips without an int8 dot (CPUs, sm_60) run the f32 products: plain norms.
      const targets::ChipInfo* info = targets::DeviceCatalog::builtin().find_chip(chip);
      if (!info || !info->has_int8_dot)
        for (KernelRequest& kernel : request.kernels) kernel.quantize = false;
      for (KernelRequest& kernel : request.kernels) {
        if (kernel.op != "qmatvec") continue;
        // The plan's entry for the matrix's exact shape, else for its shape class, else for the type.
        const std::string quant(ggml_type_name(static_cast<GgmlType>(kernel.type)));
        auto it = plan_tuning.qmatvec.end();
        for (const std::string& shape : {targets::matrix_shape_key(kernel.rows, kernel.cols),
                                         std::string(targets::matrix_shape_class(kernel.rows, kernel.cols)), std::string()})
          if ((it = plan_tuning.qmatvec.find({chip, quant, shape})) != plan_tuning.qmatvec.end()) break;
        if (it != plan_tuning.qmatvec.end()) {
          kernel.tuning = it->second;
          kernel.tuning_source = "plan";
        }
      }
    }
    requests.push_back(std::move(request));
  }
  if (requests.empty()) usage("no chip to build for");

  const auto reports = compiler::writeBundle(requests, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (const auto& r : reports)
    fmt::print("{:<8} {} kernels ({} compiled, {} cached) -> {}/{} in {:.2f} s\n", r.chip, r.kernels, r.compiled,
               r.from_cache, o.output, r.file, r.seconds);
  fmt::print("wrote {}/manifest.json in {:.2f} s{}\n", o.output, seconds,
             options.cache_dir.empty() ? "" : fmt::format(" (kernel cache {})", options.cache_dir));
  return kExitOk;
}

}  // namespace

void register_build(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BuildOptions>();
  CLI::App* sub = app.add_subcommand("build", "Compile the kernels a model needs into a bundle (OUT.llmc)");
  sub->add_option("model", o->model, "GGUF file (a header-only skeleton is enough)");
  sub->add_option("--plan", o->plan, "Plan (llmc plan --json) whose devices and kernel tuning to use");
  sub->add_option("-t,--target", o->targets, "Chip to build for (repeatable): sm_61 ... sm_90, gfx906 ... gfx1100, x86-64");
  sub->add_option("--kernel", o->kernels, "Build this kernel instead of a model's: TYPE:ROWSxCOLS[:bBATCH] (repeatable)");
  sub->add_flag("--check-suite", o->check_suite, "Build the kernel-check suite: every type, several shapes");
  sub->add_flag("--perf-shapes", o->perf_shapes, "With --check-suite: add the benchmark shapes (4096x4096, 4096x14336, 14336x4096)");
  sub->add_flag("--more-shapes", o->more_shapes,
                "With --perf-shapes: also 5120x5120, 5120x17408, 17408x5120 (for tuning sweeps)");
  sub->add_option("--quant", o->quants, "With --check-suite: only these types (repeatable)");
  sub->add_option("-o,--output", o->output, "Bundle directory to write (OUT.llmc)");
  sub->add_option("--cache-dir", o->cache_dir, "Kernel cache (default $LLMC_CACHE_DIR, $XDG_CACHE_HOME/llmc or ~/.cache/llmc)");
  sub->add_flag("--no-cache", o->no_cache, "Compile every kernel; neither read nor fill the cache");
  sub->add_option("--batch", o->batch, "Vectors per product (decode batch)")->check(CLI::Range(1, 8))->capture_default_str();
  sub->add_option("-j,--jobs", o->jobs, "Compile threads (default: one per core)")->check(CLI::Range(0, 256));
  sub->add_flag("--asm", o->assembly, "Also write kernels/<chip>.s (assembly of every kernel)");
  sub->add_option("--tuning", o->tunings,
                  "ROWS_PER_BLOCK,WARPS,VECTOR_WIDTH,UNROLL[,GROUP_WARPS][,pPREFETCH][,sROW_STEPS][,mMIN_BLOCKS] instead of the chip default: once "
                  "with --kernel / --print-asm; "
                  "with --perf-shapes repeatable, each adds the benchmark shapes at that tuning");
  sub->add_option("--print-asm", o->print_assembly, "Print the assembly of one kernel TYPE:ROWSxCOLS for the one --target");
  sub->callback([o, &exit_code] { exit_code = run_build(*o); });
}

int build_check_suite(const std::string& chip, const std::vector<std::string>& quants, bool perf,
                      const std::string& output) {
  // A check compiles everything it runs: it tests the compiler, not the cache.
  BuildOptions o;
  o.no_cache = true;
  o.targets = {chip};
  o.check_suite = true;
  o.perf_shapes = perf;
  o.quants = quants;
  o.output = output;
  return run_build(o);
}

}  // namespace llmc::cli
