// Hardware facts for one device model (targets/devices/*.json) and one chip architecture
// (targets/chips.json). Every number keeps the source it came from in `sources`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace llmc::targets {

enum class Vendor { Nvidia, Amd, Cpu };

// "nvidia", "amd", "cpu" — the spelling used in the JSON files.
std::string_view vendor_name(Vendor vendor);
std::optional<Vendor> parse_vendor(std::string_view name);

// A PCIe link by generation and lane count. {0, 0} means no link: the host itself.
struct PcieLinkSpec {
  int gen = 0;
  int width = 0;
  bool operator==(const PcieLinkSpec&) const = default;
};

// The NVLink a card carries (bridge connectors or SXM fabric).
struct NvLinkSpec {
  int version = 0;
  int links = 0;
  double gbps_per_dir = 0;  // all links together, one direction, GB/s (1e9 bytes/s)
};

struct DeviceProfile {
  std::string name;          // profile id, e.g. "p104-100"
  std::string display_name;  // e.g. "NVIDIA P104-100 (GP104 mining card, 8 GB)"
  Vendor vendor = Vendor::Nvidia;
  std::string arch;          // key into chips.json: "sm_61", "gfx906", "x86-64"
  std::string memory_type;   // "GDDR5X", "HBM2", ...
  uint64_t vram_bytes = 0;
  double mem_bandwidth_gbps = 0;   // GB/s, 1e9 bytes/s
  double fp32_tflops = 0;
  double fp16_tflops = 0;          // vector (non-matrix) rate
  double int8_dot_tops = 0;        // dp4a / v_dot4 rate; 0 when the chip has no int8 dot
  std::string matrix_units;        // "none", "tensor-core-v1".."v4", "mfma", "wmma"
  double matrix_fp16_tflops = 0;   // dense FP16 matrix rate; 0 when matrix_units is "none"
  int sm_count = 0;                // SMs (NVIDIA), CUs (AMD), cores (CPU)
  int warp_size = 0;               // 32 or 64 lanes; 1 for the CPU
  uint64_t shared_mem_per_block_bytes = 0;  // 0 for the CPU
  PcieLinkSpec pcie;               // native host link; {0, 0} for the CPU
  std::optional<NvLinkSpec> nvlink;
  std::optional<double> tdp_w;
  int cpu_cores = 0;               // CPU profiles only
  int cpu_threads = 0;             // CPU profiles only
  std::string notes;
  std::map<std::string, std::string> sources;  // field name -> where its value comes from

  bool is_cpu() const { return vendor == Vendor::Cpu; }
};

// Default launch geometry of the quantized matrix-vector (decode) kernel on one chip. The tuner
// refines it per (device, quant type); these are the starting points.
struct QMatVecConfig {
  int rows_per_block = 1;   // output rows computed by one block (one CPU task)
  int warps_per_block = 1;  // warps (NVIDIA, RDNA wave32) or waves (GCN/CDNA wave64) per block
  int vector_width = 1;     // 32-bit words each lane loads per step
  int unroll = 1;           // loop trips per iteration
  // When positive (GPUs, one row per block): warps are fitted to each matrix instead, so that
  // every lane of the row's warps gets exactly this many lane steps, if that takes 1 to 16 warps.
  int slices_per_lane = 0;
  // When positive (GPUs): warps per row group, instead of gcd(rows_per_block, warps_per_block)
  // groups; it divides warps_per_block, and the group count divides rows_per_block.
  int group_warps = 0;
  // 1 (NVIDIA): each workgroup asks for its weight rows in L2 before loading them; 0: none.
  int prefetch = 0;
  // GPUs: blocks of rows_per_block rows each block of threads computes in turn (1..kMaxRowSteps).
  int row_steps = 1;
  // GPUs: > 0 keeps at least this many blocks resident per multiprocessor, capping registers per
  // lane to what they leave (0..kMaxMinBlocks); 0: registers as the code generator likes.
  int min_blocks = 0;
  std::string rationale;    // where the numbers come from
};

// The shape class of a rows x cols weight matrix, which mat-vec tunings may be keyed by: "tall"
// (rows >= 2 x cols: many short rows, such as a feed-forward up projection or the output matrix),
// "wide" (cols >= 2 x rows: few long rows, such as a feed-forward down projection), else "square".
inline std::string_view matrix_shape_class(int64_t rows, int64_t cols) {
  if (rows >= 2 * cols) return "tall";
  if (cols >= 2 * rows) return "wide";
  return "square";
}

// The vector width (32-bit words a lane loads per step) a GPU qmatvec kernel of ggml type `quant`
// is built with when `requested` is asked for: the largest power of two up to 16 that is no more,
// and no wider than a lane step of the type's blocks can use (a wider one cuts the rows the same
// way, so the compiler builds the narrower kernel): 4 for q4_0, q4_1, q5_0, q5_1, iq4_nl, mxfp4,
// q2_K, q3_K, q6_K and iq4_xs, 8 for q8_0, q4_K and q5_K, 16 for f16, bf16 and f32. The compiler's
// tests check that its kernels agree.
inline int qmatvec_vector_width(std::string_view quant, int requested) {
  int width = 1;
  while (width * 2 <= requested && width < 16) width *= 2;
  int widest = 16;
  if (quant == "q8_0" || quant == "q4_K" || quant == "q5_K")
    widest = 8;
  else if (quant != "f16" && quant != "bf16" && quant != "f32")
    widest = 4;
  return width < widest ? width : widest;
}

// The most blocks of rows one qmatvec workgroup computes in turn (the row_steps tuning value).
inline constexpr int kMaxRowSteps = 64;

// The most blocks a qmatvec tuning may ask to keep resident per multiprocessor (min_blocks), and
// the threads those blocks hold together at most (a larger request is cut to it): 2048, what the
// multiprocessors of NVIDIA sm_61, sm_70, sm_80 and sm_90 run. Chips that run fewer (sm_75 1024,
// sm_86 and sm_89 1536) ignore a request past their own limit.
inline constexpr int kMaxMinBlocks = 32;
inline constexpr int kMaxResidentThreads = 2048;

// Whether `group_warps` warps per row group divide `warps` warps into a number of groups that
// divides `rows` rows (the rule for qmatvec's group_warps tuning).
inline bool group_warps_fit(int64_t rows, int64_t warps, int64_t group_warps) {
  return group_warps > 0 && warps % group_warps == 0 && rows % (warps / group_warps) == 0;
}

// The key of one exact matrix shape, by which mat-vec tunings may be keyed too: "4096x14336".
inline std::string matrix_shape_key(int64_t rows, int64_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

// True for "tall", "wide" and "square", the names matrix_shape_class gives.
inline bool is_matrix_shape_class(std::string_view key) { return key == "tall" || key == "wide" || key == "square"; }

// True for the keys a type's by_shape entry may have: a shape class ("tall", "wide", "square") or
// an exact shape ROWSxCOLS (positive decimal numbers without leading zeros).
bool is_matrix_shape_key(std::string_view key);

struct ChipInfo {
  std::string arch;
  Vendor vendor = Vendor::Nvidia;
  std::string family;                 // "Pascal GP10x", "GCN5 Vega 20", ...
  int warp_size = 0;
  bool has_int8_dot = false;
  std::string int8_dot_instruction;   // ISA spelling: "dp4a", "v_dot4_i32_i8"; empty when absent
  std::string int8_dot_intrinsic;     // LLVM intrinsic the compiler emits for it
  bool fast_fp16 = false;             // false where FP16 arithmetic is a slow path (sm_61: 1/64)
  uint64_t max_shared_mem_per_block_bytes = 0;
  int max_registers_per_thread = 0;
  std::string reference_device;       // profile whose rates a custom ARCH:VRAM:BANDWIDTH device inherits
  QMatVecConfig qmatvec;
  // Measured exceptions to `qmatvec` for one weight type (ggml type name, e.g. "q6_K"), and for one
  // shape class of that type ("q6_K@wide": an entry's by_shape in chips.json).
  // Device entries (below) may also key one exact shape ("q4_0@4096x14336").
  std::map<std::string, QMatVecConfig, std::less<>> qmatvec_by_quant;
  // Measured exceptions for one device profile of this chip (e.g. "h200": devices of one
  // architecture with other memory want other geometry), by device name, then ggml type name.
  std::map<std::string, std::map<std::string, QMatVecConfig, std::less<>>, std::less<>> qmatvec_by_device;
  std::map<std::string, std::string> sources;

  // The default mat-vec tuning for weights of `quant` (a ggml type name) on this chip.
  const QMatVecConfig& qmatvec_for(std::string_view quant) const {
    auto it = qmatvec_by_quant.find(quant);
    return it == qmatvec_by_quant.end() ? qmatvec : it->second;
  }
  // The tuning for `quant` on device profile `device`: its by_device entry, else qmatvec_for.
  const QMatVecConfig& qmatvec_for(std::string_view quant, std::string_view device) const {
    if (auto d = qmatvec_by_device.find(device); d != qmatvec_by_device.end())
      if (auto q = d->second.find(quant); q != d->second.end()) return q->second;
    return qmatvec_for(quant);
  }
  // The same for matrices of shape class `shape` (matrix_shape_class): the device's entry for the
  // type and shape, the device's for the type, the type's for the shape, the type's, the chip's.
  const QMatVecConfig& qmatvec_for(std::string_view quant, std::string_view device, std::string_view shape) const {
    const std::string keyed = std::string(quant) + "@" + std::string(shape);
    if (auto d = qmatvec_by_device.find(device); d != qmatvec_by_device.end()) {
      if (auto q = d->second.find(keyed); q != d->second.end()) return q->second;
      if (auto q = d->second.find(quant); q != d->second.end()) return q->second;
    }
    if (auto q = qmatvec_by_quant.find(keyed); q != qmatvec_by_quant.end()) return q->second;
    return qmatvec_for(quant);
  }
  // The tuning for one rows x cols matrix of `quant` on `device`: the device's entry for the type
  // and that exact shape, then as for its shape class (above). The chip's own type entries have no
  // exact shapes: those are measured on a device.
  const QMatVecConfig& qmatvec_for_matrix(std::string_view quant, std::string_view device, int64_t rows,
                                          int64_t cols) const {
    if (auto d = qmatvec_by_device.find(device); d != qmatvec_by_device.end())
      if (auto q = d->second.find(std::string(quant) + "@" + matrix_shape_key(rows, cols)); q != d->second.end())
        return q->second;
    return qmatvec_for(quant, device, matrix_shape_class(rows, cols));
  }
};

}  // namespace llmc::targets
