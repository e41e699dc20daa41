// The planner's memory and time models. Both are per device and per contiguous layer range, and
// cost O(1) per query (prefix sums over layers), because the placement search asks millions of
// times.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "llmc/model.h"
#include "llmc/planner/plan.h"
#include "llmc/targets/device_profile.h"
#include "llmc/targets/link_profile.h"

namespace llmc::planner {

// Weight formats whose decode kernels reach different fractions of memory bandwidth. KLow (q2_K,
// q3_K) is apart from KQuant (q4_K..q6_K) because its unpacking costs more integer work per byte:
// on chips with little integer throughput per byte of bandwidth (Pascal's dp4a) it is ALU-bound.
enum class QuantClass { Float, Legacy, KQuant, KLow, IQuant, Fp4, Count };
QuantClass quant_class(GgmlType t);

// Fitted efficiency constants of one GPU family under one engine (docs/cost-model.md has the fit).
struct FamilyConstants {
  std::string family;                 // "pascal", "hopper", ...
  std::array<double, static_cast<size_t>(QuantClass::Count)> bw_eff{};  // fraction of memory bandwidth
  double kernel_us = 0;               // per kernel launch, including the gap to the next one
  double token_us = 0;                // per decoded token: synchronisation, sampling, host work
  double prefill_eff = 0;             // fraction of the chip's matrix/int8 peak in prompt processing
  bool calibrated = false;            // false: extrapolated from a neighbouring family
  std::string basis;                  // what it was fitted on
};

// Family of a chip arch ("sm_61" -> "pascal", "gfx906" -> "gcn5", "x86-64" -> "cpu").
std::string family_of_arch(std::string_view arch);
const FamilyConstants& family_constants(Engine engine, std::string_view arch);

// Runtime settings a plan is evaluated at.
struct RunSettings {
  Engine engine = Engine::LlamaCpp;
  uint32_t ctx = 4096;        // per sequence
  uint32_t parallel = 1;
  GgmlType kv_k = GgmlType::F16;
  GgmlType kv_v = GgmlType::F16;
  bool flash_attn = true;
  uint32_t ubatch = 512;
  uint32_t depth = 0;         // context filled when decode speed is predicted
};

// Per-layer facts of a model, precomputed once.
class ModelCosts {
 public:
  explicit ModelCosts(const ModelDesc& m);

  uint32_t n_layer() const { return n_layer_; }
  // Bytes of weights stored for layers [l0, l1).
  uint64_t weight_bytes(uint32_t l0, uint32_t l1) const { return weights_[l1] - weights_[l0]; }
  // Bytes read per decoded token for layers [l0, l1) in one quant class (MoE: active experts only).
  uint64_t read_bytes(QuantClass c, uint32_t l0, uint32_t l1) const;
  uint64_t read_bytes(uint32_t l0, uint32_t l1) const;
  // Multiply-accumulates per token for layers [l0, l1) (active parameters).
  double macs(uint32_t l0, uint32_t l1) const { return macs_[l1] - macs_[l0]; }
  // KV-cache bytes per cell (one token of one sequence) for layers [l0, l1), and how many of those
  // layers use the sliding window.
  uint64_t kv_bytes_per_cell(GgmlType k, GgmlType v, uint32_t l0, uint32_t l1, bool swa) const;
  uint32_t kernels(uint32_t l0, uint32_t l1) const { return kernels_per_layer_ * (l1 - l0); }

  uint64_t output_bytes() const { return output_bytes_; }     // output.weight (+norm); the embedding copy when tied
  std::array<uint64_t, static_cast<size_t>(QuantClass::Count)> output_read() const { return output_read_; }
  uint64_t embedding_bytes() const { return embedding_bytes_; }
  double output_macs() const { return output_macs_; }
  uint32_t output_kernels() const { return 3; }  // norm, matmul, copy of logits

  const HParams& hp() const { return hp_; }
  uint32_t swa_window() const { return hp_.sliding_window; }

 private:
  HParams hp_;
  uint32_t n_layer_ = 0;
  std::vector<uint64_t> weights_;  // prefix sums
  std::array<std::vector<uint64_t>, static_cast<size_t>(QuantClass::Count)> read_;  // prefix sums
  std::vector<double> macs_;
  std::vector<uint32_t> swa_prefix_;
  std::vector<uint64_t> kv_elems_k_, kv_elems_v_;  // prefix sums of K/V elements per cell, all layers
  std::vector<uint64_t> kv_elems_k_swa_, kv_elems_v_swa_;
  uint32_t kernels_per_layer_ = 0;
  uint64_t output_bytes_ = 0;
  std::array<uint64_t, static_cast<size_t>(QuantClass::Count)> output_read_{};
  uint64_t embedding_bytes_ = 0;
  double output_macs_ = 0;
};

// Memory of one device holding a layer range (or a row share) under an engine's rules.
class MemoryModel {
 public:
  MemoryModel(const ModelCosts& costs, const RunSettings& run);

  // KV cells a layer keeps: the padded context for full-attention layers, the window (plus one
  // micro-batch) for sliding-window layers.
  uint64_t kv_cells(bool swa) const;
  uint64_t kv_bytes(uint32_t l0, uint32_t l1) const;
  // Activation/compute buffers of a device running `n_layers` layers (and the output if it holds it).
  uint64_t compute_bytes(const targets::DeviceProfile& d, uint32_t n_layers, bool holds_output) const;
  uint64_t overhead_bytes(const targets::DeviceProfile& d) const;

  DeviceMemory layer_range(size_t device, const targets::DeviceProfile& d, uint32_t l0, uint32_t l1,
                           bool holds_output, bool holds_embeddings) const;

 private:
  uint64_t cells_for(bool swa) const;
  const ModelCosts& c_;
  RunSettings run_;
  uint64_t cells_full_ = 0, cells_swa_ = 0;
  std::vector<uint64_t> kv_prefix_;  // KV bytes of layers [0, l)
};

// Decode and prefill time of a device holding a layer range.
class TimeModel {
 public:
  TimeModel(const ModelCosts& costs, const RunSettings& run) : c_(costs), run_(run) {}

  // Seconds per decoded token spent on layers [l0, l1) (plus the output layer if held).
  double decode_seconds(const targets::DeviceProfile& d, uint32_t l0, uint32_t l1, bool holds_output,
                        uint32_t depth) const;
  // Reading the KV cache filled to `depth` tokens for layers [l0, l1).
  double kv_seconds(const targets::DeviceProfile& d, uint32_t l0, uint32_t l1, uint32_t depth) const;
  // The weights part alone and the launch part alone (for the breakdown).
  double weights_seconds(const targets::DeviceProfile& d, uint32_t l0, uint32_t l1, bool holds_output) const;
  double launch_seconds(const targets::DeviceProfile& d, uint32_t l0, uint32_t l1, bool holds_output) const;
  // Seconds per prompt token on layers [l0, l1).
  double prefill_seconds(const targets::DeviceProfile& d, uint32_t l0, uint32_t l1) const;
  // Per-token fixed cost of the device that drives the loop.
  double token_seconds(const targets::DeviceProfile& d) const;
  // Activations handed from one pipeline stage to the next (f32 hidden state), bytes.
  uint64_t hop_bytes() const { return uint64_t{c_.hp().n_embd} * 4; }
  uint64_t logits_bytes() const { return uint64_t{c_.hp().n_vocab} * 4; }
  // One hop between two devices: host-staged through pinned memory unless they share NVLink.
  double hop_seconds(const targets::DeviceInstance& from, const targets::DeviceInstance& to) const;
  // Peak rate (FLOP/s) a device reaches on quantized matrix products in prefill.
  static double prefill_peak_flops(const targets::DeviceProfile& d);

 private:
  const ModelCosts& c_;
  RunSettings run_;
};

}  // namespace llmc::planner
