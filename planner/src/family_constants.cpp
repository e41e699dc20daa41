// Efficiency constants per GPU family, fitted to measured decode and prefill speeds
// (docs/cost-model.md lists every calibration row with its prediction and error). A family without
// measurements borrows from its nearest measured neighbour and says so (calibrated = false).
#include <algorithm>
#include <map>
#include <string>

#include "llmc/planner/cost_model.h"

namespace llmc::planner {
namespace {

// Order of bw_eff: Float, Legacy (q4_0, q8_0, ...), KQuant (q4_K..q6_K), KLow (q2_K, q3_K), IQuant, Fp4 (mxfp4).
// KLow is measured on Pascal (P40 Q3_K_S and Q2_K: 0.57 of k-quant per byte) and Volta (the V100
// row, 2/3 of whose bytes are q3_K: 0.72 with k-quant at 0.95 of legacy as on the P40); families
// without q2_K/q3_K measurements take 0.65 of their k-quant value, between the two.
const std::vector<FamilyConstants>& table() {
  static const std::vector<FamilyConstants> t = {
      {"pascal", {0.80, 0.72, 0.58, 0.33, 0.45, 0.23}, 5.5, 335.0, 0.30, true,
       "6 P40 LLaMA 7B rows (llama.cpp: Q4_0, Q4_1, Q5_0, Q4_K_S, Q3_K_S, Q2_K) and 15 P104-100 rows (Ollama)"},
      {"volta", {0.80, 0.80, 0.76, 0.55, 0.50, 0.55}, 7.9, 500.0, 0.25, true,
       "V100-SXM2 27B Q3_K_M (k-quant assumed 0.95 of legacy, as on the P40; k-low from the row)"},
      {"turing", {0.80, 0.80, 0.60, 0.39, 0.50, 0.55}, 5.0, 400.0, 0.25, false, "no measurements: between volta and ampere"},
      {"ampere", {0.80, 0.90, 0.90, 0.59, 0.52, 0.58}, 2.3, 314.0, 0.20, true,
       "CMP 90HX, A100 80 GB (llama.cpp and Ollama), RTX 3090 (older build)"},
      {"ada", {0.80, 0.90, 0.85, 0.55, 0.52, 0.58}, 1.9, 300.0, 0.20, true, "RTX 4090 (older build) rows; otherwise as ampere"},
      {"hopper", {0.80, 0.70, 0.45, 0.29, 0.45, 0.55}, 2.1, 280.0, 0.13, true, "H200 llama.cpp rows (6 models), H100 PCIe (older build)"},
      {"gcn5", {0.70, 0.65, 0.45, 0.29, 0.40, 0.45}, 10.0, 500.0, 0.25, false, "no measurements: assumed from rdna3 and pascal"},
      {"cdna", {0.70, 0.70, 0.50, 0.33, 0.45, 0.50}, 6.0, 400.0, 0.20, false, "no measurements: assumed"},
      {"rdna2", {0.75, 0.90, 0.56, 0.36, 0.50, 0.50}, 4.4, 380.0, 0.25, false, "no measurements: as rdna3"},
      {"rdna3", {0.75, 0.90, 0.56, 0.36, 0.50, 0.50}, 4.4, 380.0, 0.25, true, "RX 7900 XTX LLaMA 7B Q4_0 (ROCm)"},
      {"cpu", {0.60, 0.55, 0.50, 0.33, 0.45, 0.45}, 2.0, 200.0, 0.50, false, "assumed: threaded kernels at ~55% of copy bandwidth"},
  };
  return t;
}

}  // namespace

std::string family_of_arch(std::string_view arch) {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"sm_60", "pascal"}, {"sm_61", "pascal"}, {"sm_70", "volta"},  {"sm_75", "turing"},  {"sm_80", "ampere"},
      {"sm_86", "ampere"}, {"sm_89", "ada"},    {"sm_90", "hopper"}, {"gfx900", "gcn5"},   {"gfx906", "gcn5"},
      {"gfx908", "cdna"},  {"gfx90a", "cdna"},  {"gfx1030", "rdna2"}, {"gfx1100", "rdna3"}, {"x86-64", "cpu"},
  };
  auto it = m.find(arch);
  if (it != m.end()) return it->second;
  if (arch.starts_with("sm_")) return "ampere";
  if (arch.starts_with("gfx")) return "rdna3";
  return "cpu";
}

const FamilyConstants& family_constants(Engine, std::string_view arch) {
  const std::string fam = family_of_arch(arch);
  for (const auto& f : table())
    if (f.family == fam) return f;
  return table().back();
}

}  // namespace llmc::planner
