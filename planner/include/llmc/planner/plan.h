// What the planner is asked (PlanRequest) and what it answers (Plan): placement of layers or row
// shares on devices, context and KV-cache type, memory per device, predicted speed, the kernel
// configurations per device, and the alternatives it rejected with the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmc/ggml_types.h"
#include "llmc/targets/device_spec.h"

namespace llmc::planner {

// Whose memory and speed the plan models: llama.cpp running with the emitted arguments, or llmc's
// own runtime.
enum class Engine { LlamaCpp, Llmc };
std::string_view engine_name(Engine e);

enum class SplitMode {
  None,    // one device (plus the CPU for token embeddings with llama.cpp)
  Layer,   // pipeline: contiguous layer ranges on devices in order
  Row,     // tensor parallel: every matrix split by rows across devices
  Hybrid,  // tensor-parallel groups of identical cards inside a layer pipeline
};
std::string_view split_mode_name(SplitMode m);
std::optional<SplitMode> parse_split_mode(std::string_view s);

enum class Objective { Decode, Prefill, Ctx };
std::optional<Objective> parse_objective(std::string_view s);

struct PlanRequest {
  Engine engine = Engine::LlamaCpp;
  Objective objective = Objective::Decode;
  // Pins: when set, the search keeps them and optimizes only the rest.
  std::optional<SplitMode> split;
  std::optional<uint32_t> ctx;       // exact context
  bool ctx_max = false;              // largest context that fits
  std::optional<GgmlType> kv_type;   // K and V cache type (f16, q8_0, q4_0)
  std::optional<bool> flash_attn;
  std::optional<std::vector<uint32_t>> layers;  // layers per device, in device order
  uint32_t parallel = 1;             // concurrent sequences (llama-server --parallel)
  uint32_t min_ctx = 0;              // 0: 4096 or the training context if smaller
  uint32_t ubatch = 512;             // llama.cpp -ub
  uint32_t depth = 0;                // context depth at which decode speed is predicted
};

struct DevicePlacement {
  size_t device = 0;                           // index into the rig
  std::optional<std::pair<uint32_t, uint32_t>> layers;  // [first, last], inclusive
  std::optional<double> row_fraction;          // row / hybrid splits
  bool holds_output = false;                   // output layer and logits live here
  bool holds_embeddings = false;               // token embedding table lives here
  int tp_group = -1;                           // hybrid: index of the tensor-parallel group
};

struct DeviceMemory {
  size_t device = 0;
  uint64_t weights = 0;
  uint64_t kv = 0;
  uint64_t compute = 0;
  uint64_t overhead = 0;   // driver context, library workspaces, safety margin
  uint64_t total() const { return weights + kv + compute + overhead; }
  uint64_t capacity = 0;
};

struct Prediction {
  double decode_tps = 0;             // batch-1 decode at the request's depth
  double decode_tps_at_ctx = 0;      // batch-1 decode with the whole context filled
  double prefill_tps = 0;            // prompt processing, 512-token batches
  uint64_t link_bytes_per_token = 0; // activations crossing links per decoded token
  double load_seconds = 0;           // moving the weights onto the devices over their links
  // Where decode time goes, per token, seconds.
  double weights_seconds = 0;
  double launch_seconds = 0;
  double link_seconds = 0;
  double fixed_seconds = 0;
};

struct KernelConfig {
  size_t device = 0;
  std::string chip;
  std::string op;          // "qmatvec"
  std::string quant;       // ggml type name
  std::string shape;       // "tall", "wide" or "square" when the entry holds for that shape class only
  int rows_per_block = 0;
  int warps = 0;
  int vector_width = 0;
  int unroll = 0;
  int slices_per_lane = 0;  // > 0: warps are fitted to each matrix (see targets' QMatVecConfig)
  int group_warps = 0;      // > 0: warps per row group (see targets' QMatVecConfig)
  int prefetch = 0;         // 1: workgroups ask for their rows in L2 first (see targets' QMatVecConfig)
  int row_steps = 1;        // blocks of rows per workgroup (see targets' QMatVecConfig)
  int min_blocks = 0;       // > 0: workgroups kept resident per multiprocessor (see targets' QMatVecConfig)
  std::string source;      // "chip default" or a tuning DB entry
};

struct Alternative {
  SplitMode split = SplitMode::Layer;
  uint32_t ctx = 0;
  GgmlType kv_type = GgmlType::F16;
  bool flash_attn = false;
  bool fits = false;
  double decode_tps = 0;
  std::string reason;      // why it lost, in words
};

struct Plan {
  // Inputs as resolved.
  std::string model_path;
  std::string model_name;
  std::string arch;
  uint32_t n_layer = 0;
  uint64_t n_params = 0;
  uint64_t data_bytes = 0;
  Engine engine = Engine::LlamaCpp;
  targets::RigSpec rig;

  // Decisions.
  SplitMode split = SplitMode::Layer;
  uint32_t ctx = 0;
  GgmlType kv_k = GgmlType::F16;
  GgmlType kv_v = GgmlType::F16;
  bool flash_attn = false;
  uint32_t parallel = 1;
  uint32_t ubatch = 512;
  std::vector<size_t> device_order;   // devices in pipeline order (indices into rig)
  std::vector<DevicePlacement> placement;
  std::vector<DeviceMemory> memory;
  bool fits = false;
  Prediction predicted;
  std::vector<KernelConfig> kernels;
  std::vector<Alternative> alternatives;
  // Pareto front: for each KV type, decode speed at increasing context.
  struct FrontPoint {
    GgmlType kv_type;
    uint32_t ctx;
    double decode_tps;
    double decode_tps_at_ctx;
  };
  std::vector<FrontPoint> front;
  // When nothing fits: what the model needs at the requested context, and the smallest changes
  // that would fit.
  uint64_t needed_weights = 0;
  uint64_t needed_kv = 0;
  std::vector<std::string> suggestions;
  double planning_seconds = 0;
};

}  // namespace llmc::planner
