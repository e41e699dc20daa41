#include "llmc/planner/cost_model.h"

#include <algorithm>
#include <cmath>

namespace llmc::planner {

using targets::DeviceProfile;

QuantClass quant_class(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::F64: return QuantClass::Float;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0:
    case GgmlType::Q8_1:
    case GgmlType::IQ4_NL: return QuantClass::Legacy;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K: return QuantClass::KLow;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::Q8_K: return QuantClass::KQuant;
    case GgmlType::MXFP4:
    case GgmlType::NVFP4: return QuantClass::Fp4;
    default: return QuantClass::IQuant;
  }
}

namespace {

constexpr size_t kClasses = static_cast<size_t>(QuantClass::Count);

bool is_matrix(const GgufTensorInfo& t) { return t.n_dims >= 2; }

// ggml graph nodes per block in llama.cpp's decode graph; the kernel_us constant is fitted on
// these counts, so only their ratios between architectures matter.
uint32_t kernels_per_layer(const HParams& hp) {
  uint32_t k = 20;  // norm, q/k/v, 2x rope, 2x cache store, attention, o, add, norm, gate/up, glu, down, add
  if (hp.arch == "qwen2") k += 3;            // q/k/v bias
  if (hp.arch == "qwen3" || hp.arch == "qwen3moe") k += 2;  // q/k norm
  if (hp.arch == "gemma3") k += 4;           // q/k norm, post-attention and post-ffn norms
  if (hp.n_expert > 0) k += 8;               // router, top-k, softmax, three expert products, weighted sum
  return k;
}

uint64_t kv_row_bytes(GgmlType t, uint64_t elems) {
  const auto& tt = ggml_type_traits(t);
  return (elems + tt.block_size - 1) / tt.block_size * tt.type_size;
}

uint64_t pad_to(uint64_t v, uint64_t m) { return (v + m - 1) / m * m; }

}  // namespace

ModelCosts::ModelCosts(const ModelDesc& m) : hp_(m.hparams()), n_layer_(m.hparams().n_layer) {
  const uint32_t L = n_layer_;
  weights_.assign(L + 1, 0);
  for (auto& r : read_) r.assign(L + 1, 0);
  macs_.assign(L + 1, 0);
  swa_prefix_.assign(L + 1, 0);
  kv_elems_k_.assign(L + 1, 0);
  kv_elems_v_.assign(L + 1, 0);
  kv_elems_k_swa_.assign(L + 1, 0);
  kv_elems_v_swa_.assign(L + 1, 0);
  const double active = hp_.n_expert ? static_cast<double>(hp_.n_expert_used) / hp_.n_expert : 1.0;
  for (uint32_t l = 0; l < L; ++l) {
    const LayerDesc& layer = m.layers()[l];
    std::array<double, kClasses> read{};
    double macs = 0;
    for (const GgufTensorInfo* t : layer.tensors) {
      const bool expert = t->name.find("_exps") != std::string_view::npos;
      const double share = expert ? active : 1.0;
      read[static_cast<size_t>(quant_class(t->type))] += share * static_cast<double>(t->n_bytes);
      if (is_matrix(*t) && t->name.find("ffn_gate_inp") == std::string_view::npos) macs += share * static_cast<double>(t->n_elements);
    }
    weights_[l + 1] = weights_[l] + layer.bytes;
    for (size_t c = 0; c < kClasses; ++c) read_[c][l + 1] = read_[c][l] + static_cast<uint64_t>(read[c]);
    macs_[l + 1] = macs_[l] + macs;
    const bool swa = l < hp_.layer_is_swa.size() && hp_.layer_is_swa[l];
    swa_prefix_[l + 1] = swa_prefix_[l] + (swa ? 1 : 0);
    const uint64_t kv = l < hp_.n_head_kv.size() ? hp_.n_head_kv[l] : 0;
    kv_elems_k_[l + 1] = kv_elems_k_[l] + (swa ? 0 : kv * hp_.head_dim_k);
    kv_elems_v_[l + 1] = kv_elems_v_[l] + (swa ? 0 : kv * hp_.head_dim_v);
    kv_elems_k_swa_[l + 1] = kv_elems_k_swa_[l] + (swa ? kv * hp_.head_dim_k : 0);
    kv_elems_v_swa_[l + 1] = kv_elems_v_swa_[l] + (swa ? kv * hp_.head_dim_v : 0);
  }
  kernels_per_layer_ = kernels_per_layer(hp_);

  const GgufFile& f = m.file();
  const GgufTensorInfo* out = f.find_tensor("output.weight");
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  const GgufTensorInfo* norm = f.find_tensor("output_norm.weight");
  embedding_bytes_ = emb ? emb->n_bytes : 0;
  // With tied embeddings llama.cpp loads a second copy of the embedding matrix as the output.
  const GgufTensorInfo* head = out ? out : emb;
  if (head) {
    output_bytes_ = head->n_bytes;
    output_read_[static_cast<size_t>(quant_class(head->type))] += head->n_bytes;
    output_macs_ = static_cast<double>(head->n_elements);
  }
  if (norm) output_bytes_ += norm->n_bytes;
}

uint64_t ModelCosts::read_bytes(QuantClass c, uint32_t l0, uint32_t l1) const {
  const auto& r = read_[static_cast<size_t>(c)];
  return r[l1] - r[l0];
}

uint64_t ModelCosts::read_bytes(uint32_t l0, uint32_t l1) const {
  uint64_t s = 0;
  for (size_t c = 0; c < kClasses; ++c) s += read_[c][l1] - read_[c][l0];
  return s;
}

uint64_t ModelCosts::kv_bytes_per_cell(GgmlType k, GgmlType v, uint32_t l0, uint32_t l1, bool swa) const {
  // Rows are whole numbers of blocks because head dims are multiples of 32; sum elements first.
  const auto& ek = swa ? kv_elems_k_swa_ : kv_elems_k_;
  const auto& ev = swa ? kv_elems_v_swa_ : kv_elems_v_;
  return kv_row_bytes(k, ek[l1] - ek[l0]) + kv_row_bytes(v, ev[l1] - ev[l0]);
}

// ---------------------------------------------------------------------------------------------

MemoryModel::MemoryModel(const ModelCosts& costs, const RunSettings& run) : c_(costs), run_(run) {
  cells_full_ = cells_for(false);
  cells_swa_ = cells_for(true);
  kv_prefix_.assign(c_.n_layer() + 1, 0);
  for (uint32_t l = 0; l < c_.n_layer(); ++l)
    kv_prefix_[l + 1] = kv_prefix_[l] + cells_full_ * c_.kv_bytes_per_cell(run_.kv_k, run_.kv_v, l, l + 1, false) +
                        cells_swa_ * c_.kv_bytes_per_cell(run_.kv_k, run_.kv_v, l, l + 1, true);
}

uint64_t MemoryModel::kv_cells(bool swa) const { return swa ? cells_swa_ : cells_full_; }

uint64_t MemoryModel::cells_for(bool swa) const {
  const uint64_t cells = uint64_t{run_.ctx} * run_.parallel;
  // llama.cpp pads the cache to 256 cells; llmc keeps exactly what is asked (in 32-cell steps).
  const uint64_t pad = run_.engine == Engine::LlamaCpp ? 256 : 32;
  const uint64_t full = pad_to(cells, pad);
  if (!swa) return full;
  const uint64_t window = uint64_t{c_.swa_window()} * run_.parallel + run_.ubatch;
  return std::min(full, pad_to(window, pad));
}

uint64_t MemoryModel::kv_bytes(uint32_t l0, uint32_t l1) const { return kv_prefix_[l1] - kv_prefix_[l0]; }

uint64_t MemoryModel::compute_bytes(const DeviceProfile& d, uint32_t n_layers, bool holds_output) const {
  const HParams& hp = c_.hp();
  const uint64_t E = hp.n_embd;
  const uint64_t Hq = uint64_t{hp.max_head()} * hp.head_dim_k;
  const uint64_t Hkv = uint64_t{hp.max_head_kv()} * hp.head_dim_k;
  const uint64_t F = hp.n_expert ? uint64_t{hp.n_ff_expert} * hp.n_expert_used : hp.max_ff();
  // llama.cpp reserves its graph for a full micro-batch with logits for every token; llmc's runtime
  // prefills in 128-token chunks and computes logits for the last token only.
  const bool llama = run_.engine == Engine::LlamaCpp;
  const uint64_t ub = llama ? run_.ubatch : std::min<uint32_t>(run_.ubatch, 128);
  uint64_t layer_peak = 0;
  if (n_layers > 0) {
    layer_peak = 4 * ub * (3 * E + Hq + 2 * Hkv + 3 * F);
    if (llama && !run_.flash_attn)  // the f32 attention score matrix is materialized
      layer_peak += 4 * ub * hp.max_head() * kv_cells(false);
  }
  uint64_t output_peak = 0;
  if (holds_output) output_peak = 4 * (llama ? ub : run_.parallel) * (uint64_t{hp.n_vocab} + E);
  uint64_t peak = std::max(layer_peak, output_peak);
  if (d.is_cpu()) peak = std::max<uint64_t>(peak, 4 * ub * E * 2);  // embedding lookups land here
  return peak;
}

uint64_t MemoryModel::overhead_bytes(const DeviceProfile& d) const {
  constexpr uint64_t MiB = 1ull << 20;
  if (d.is_cpu()) return std::max<uint64_t>(d.vram_bytes / 10, 1024 * MiB);  // the OS and other programs
  // Driver context and library workspaces (llama.cpp: CUDA/HIP context plus cuBLAS/hipBLAS
  // handles and pools; llmc: the driver context only), plus a margin for fragmentation.
  uint64_t base = 0;
  if (run_.engine == Engine::LlamaCpp)
    base = d.vendor == targets::Vendor::Amd ? 400 * MiB : 300 * MiB;
  else
    base = d.vendor == targets::Vendor::Amd ? 250 * MiB : 150 * MiB;
  return base + std::max<uint64_t>(64 * MiB, d.vram_bytes / 100);
}

DeviceMemory MemoryModel::layer_range(size_t device, const DeviceProfile& d, uint32_t l0, uint32_t l1, bool holds_output,
                                      bool holds_embeddings) const {
  DeviceMemory m;
  m.device = device;
  m.capacity = d.vram_bytes;
  m.weights = c_.weight_bytes(l0, l1) + (holds_output ? c_.output_bytes() : 0) +
              (holds_embeddings ? c_.embedding_bytes() : 0);
  m.kv = kv_bytes(l0, l1);
  if (l1 > l0 || holds_output || holds_embeddings) {
    m.compute = compute_bytes(d, l1 - l0, holds_output);
    m.overhead = overhead_bytes(d);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------

double TimeModel::weights_seconds(const DeviceProfile& d, uint32_t l0, uint32_t l1, bool holds_output) const {
  const FamilyConstants& fc = family_constants(run_.engine, d.arch);
  const double bw = d.mem_bandwidth_gbps * 1e9;
  double s = 0;
  const auto out = c_.output_read();
  for (size_t c = 0; c < kClasses; ++c) {
    double bytes = static_cast<double>(c_.read_bytes(static_cast<QuantClass>(c), l0, l1));
    if (holds_output) bytes += static_cast<double>(out[c]);
    if (bytes > 0) s += bytes / (bw * fc.bw_eff[c]);
  }
  return s;
}

double TimeModel::launch_seconds(const DeviceProfile& d, uint32_t l0, uint32_t l1, bool holds_output) const {
  const FamilyConstants& fc = family_constants(run_.engine, d.arch);
  const uint32_t k = c_.kernels(l0, l1) + (holds_output ? c_.output_kernels() : 0);
  return k * fc.kernel_us * 1e-6;
}

double TimeModel::decode_seconds(const DeviceProfile& d, uint32_t l0, uint32_t l1, bool holds_output, uint32_t depth) const {
  if (l1 <= l0 && !holds_output) return 0;
  return weights_seconds(d, l0, l1, holds_output) + launch_seconds(d, l0, l1, holds_output) + kv_seconds(d, l0, l1, depth);
}

double TimeModel::kv_seconds(const DeviceProfile& d, uint32_t l0, uint32_t l1, uint32_t depth) const {
  if (depth == 0 || l1 <= l0) return 0;
  const FamilyConstants& fc = family_constants(run_.engine, d.arch);
  const double bw = d.mem_bandwidth_gbps * 1e9 * fc.bw_eff[static_cast<size_t>(QuantClass::Float)];
  const double full = static_cast<double>(depth) * c_.kv_bytes_per_cell(run_.kv_k, run_.kv_v, l0, l1, false);
  const double swa = static_cast<double>(std::min(depth, c_.swa_window() ? c_.swa_window() : depth)) *
                     c_.kv_bytes_per_cell(run_.kv_k, run_.kv_v, l0, l1, true);
  return (full + swa) / bw;
}

double TimeModel::prefill_peak_flops(const DeviceProfile& d) {
  double tflops = d.fp32_tflops;
  if (d.int8_dot_tops > 0) tflops = std::max(tflops, d.int8_dot_tops);
  if (d.matrix_fp16_tflops > 0) tflops = std::max(tflops, d.matrix_fp16_tflops);
  return tflops * 1e12;
}

double TimeModel::prefill_seconds(const DeviceProfile& d, uint32_t l0, uint32_t l1) const {
  if (l1 <= l0) return 0;
  const FamilyConstants& fc = family_constants(run_.engine, d.arch);
  const double flops = 2.0 * c_.macs(l0, l1);
  // Weights are streamed once per micro-batch, launches are amortized over it.
  const double stream = weights_seconds(d, l0, l1, false) / run_.ubatch;
  const double launch = launch_seconds(d, l0, l1, false) / run_.ubatch;
  return std::max(flops / (prefill_peak_flops(d) * fc.prefill_eff), stream) + launch;
}

double TimeModel::token_seconds(const DeviceProfile& d) const {
  return family_constants(run_.engine, d.arch).token_us * 1e-6;
}

double TimeModel::hop_seconds(const targets::DeviceInstance& from, const targets::DeviceInstance& to) const {
  const uint64_t bytes = hop_bytes();
  if (from.peer_link && to.peer_link) return from.peer_link->transfer_seconds(bytes);
  if (from.profile.is_cpu()) return to.host_link.transfer_seconds(bytes);
  if (to.profile.is_cpu()) return from.host_link.transfer_seconds(bytes);
  return targets::host_staged_copy_seconds(from.host_link, to.host_link, bytes);
}

}  // namespace llmc::planner
