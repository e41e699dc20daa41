// Calibration: measured speeds (planner/calibration/measurements.json), the planner's predictions
// for the same model, devices and settings, and a least-squares fit of a family's constants.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmc/planner/cost_model.h"

namespace llmc::planner {

struct CalibrationRow {
  std::string name;
  std::string devices;     // a --devices spec
  std::string preset;      // a model preset (llmc skeleton --list-presets)
  std::string type;        // llama.cpp file type
  uint32_t depth = 0;      // average context filled while decoding
  double decode = 0;       // measured t/s
  std::optional<double> prefill;
  bool before_cuda_graphs = false;  // measured with a llama.cpp build that launched kernels one by one
  bool ollama = false;              // measured through Ollama rather than llama.cpp itself
  std::string source;
};

// Extra cost per kernel launch, in microseconds, of llama.cpp builds from before CUDA graphs on the
// GPUs that now use them (Ampere and newer): fitted on the H100 PCIe and H200 rows.
inline constexpr double kKernelUsWithoutCudaGraphs = 4.0;
// Extra cost per kernel of Ollama's runner over llama.cpp's: fitted with the Pascal constants, the one
// family with at least 3 rows of each runner (15 P104-100 rows through Ollama, 6 P40 rows through
// llama.cpp; neither with CUDA graphs), which is where fit_family frees it.
inline constexpr double kKernelUsOllama = 12.1;

// Reads a llmc.calibration/1 file; throws std::runtime_error naming the file and field.
std::vector<CalibrationRow> load_calibration(const std::string& path);

struct CalibrationResult {
  CalibrationRow row;
  std::string family;
  double predicted_decode = 0;
  double predicted_prefill = 0;
  double decode_error() const { return predicted_decode / row.decode - 1; }
  // Decode seconds split into what each constant multiplies (for the fit): bytes over bandwidth per
  // quant class (seconds at 100% efficiency), kernel launches, and the fixed link time.
  std::array<double, static_cast<size_t>(QuantClass::Count)> class_seconds{};
  double kernels = 0;
  double link_seconds = 0;  // links, plus the known per-kernel offsets below
  double ollama_seconds = 0;  // the part of link_seconds that is kernels x kKernelUsOllama
};

// Plans every row (engine llama.cpp, the row's depth) on a skeleton built from its preset.
std::vector<CalibrationResult> evaluate_calibration(const std::vector<CalibrationRow>& rows);

// A family's constants fitted to its rows, and how well they fit.
struct FamilyFit {
  FamilyConstants constants;
  double ollama_kernel_us = kKernelUsOllama;  // fitted too where the family has >= 3 rows of each runner
  bool ollama_fitted = false;
  size_t rows = 0;
  double worst_error = 0;  // largest |predicted / measured - 1| of decode t/s over the family's rows
  double mean_error = 0;
};

// Fits one family's constants to its rows: least squares of the relative decode error, reweighted
// (Lawson) towards the smallest worst-case error, with a ridge towards `prior` so that constants the
// rows do not pin down (an unexercised quant class, kernel vs token cost) stay put. Bandwidth
// efficiencies are kept within [0.05, 0.9], kernel and token costs at or above zero.
FamilyFit fit_family(const std::vector<CalibrationResult>& results, const FamilyConstants& prior);

}  // namespace llmc::planner
