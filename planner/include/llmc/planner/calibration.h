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
// Extra cost per kernel of Ollama's runner over llama.cpp's (fitted on the P104-100 rows against the
// P40 row; both Pascal, both without CUDA graphs).
inline constexpr double kKernelUsOllama = 8.0;

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
  double link_seconds = 0;
};

// Plans every row (engine llama.cpp, the row's depth) on a skeleton built from its preset.
std::vector<CalibrationResult> evaluate_calibration(const std::vector<CalibrationRow>& rows);

// Weighted least squares (relative error) of one family's constants on its rows, pulled towards
// `prior` for classes the rows do not exercise.
FamilyConstants fit_family(const std::vector<CalibrationResult>& results, const FamilyConstants& prior);

}  // namespace llmc::planner
