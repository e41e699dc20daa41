// Predictions against every measured row (planner/calibration/measurements.json), and the fit of a
// family's constants.
#include <cmath>

#include <gtest/gtest.h>

#include "llmc/planner/calibration.h"

namespace llmc::planner {
namespace {

constexpr size_t kClasses = static_cast<size_t>(QuantClass::Count);

TEST(Calibration, DecodePredictionsTrackMeasurements) {
  const auto results = evaluate_calibration(load_calibration(LLMC_CALIBRATION_FILE));
  ASSERT_GE(results.size(), 38u);
  double sum = 0;
  for (const auto& r : results) {
    const double e = r.decode_error();
    // docs/cost-model.md: every row within +-20% with one set of constants per family.
    EXPECT_LE(std::fabs(e), 0.20) << r.row.name << ": predicted " << r.predicted_decode << ", measured " << r.row.decode;
    sum += std::fabs(e);
    if (r.row.prefill) {
      EXPECT_LT(std::fabs(r.predicted_prefill / *r.row.prefill - 1), 0.20) << r.row.name << " prefill";
    }
  }
  EXPECT_LT(sum / static_cast<double>(results.size()), 0.10);
}

TEST(Calibration, LowBitKQuantsHaveTheirOwnClass) {
  EXPECT_EQ(quant_class(GgmlType::Q2_K), QuantClass::KLow);
  EXPECT_EQ(quant_class(GgmlType::Q3_K), QuantClass::KLow);
  EXPECT_EQ(quant_class(GgmlType::Q4_K), QuantClass::KQuant);
  EXPECT_EQ(quant_class(GgmlType::Q5_K), QuantClass::KQuant);
  EXPECT_EQ(quant_class(GgmlType::Q6_K), QuantClass::KQuant);
  EXPECT_EQ(quant_class(GgmlType::Q4_0), QuantClass::Legacy);
  // The P40 rows (llama.cpp PR #4766): q3_K reads far slower per byte than q4_K on Pascal.
  const auto& pascal = family_constants(Engine::LlamaCpp, "sm_61");
  EXPECT_LT(pascal.bw_eff[static_cast<size_t>(QuantClass::KLow)],
            0.7 * pascal.bw_eff[static_cast<size_t>(QuantClass::KQuant)]);
  for (const char* arch :
       {"sm_61", "sm_70", "sm_75", "sm_86", "sm_89", "sm_90", "gfx906", "gfx90a", "gfx1030", "gfx1100", "x86-64"}) {
    const auto& f = family_constants(Engine::LlamaCpp, arch);
    for (double e : f.bw_eff) {
      EXPECT_GT(e, 0.05) << arch;
      EXPECT_LE(e, 0.9) << arch;
    }
    EXPECT_GE(f.kernel_us, 0) << arch;
    EXPECT_GE(f.token_us, 0) << arch;
  }
}

// Rows built from known constants: seconds per token = sum_c class_seconds_c / eff_c + kernels x
// kernel_us + token_us + link (+ kernels x Ollama's offset for Ollama rows).
CalibrationResult synthetic_row(const FamilyConstants& truth, std::array<double, kClasses> class_seconds, double kernels,
                                bool ollama, double ollama_us) {
  CalibrationResult r;
  r.family = truth.family;
  r.row.name = "synthetic";
  r.row.ollama = ollama;
  r.class_seconds = class_seconds;
  r.kernels = kernels;
  r.link_seconds = 1e-4;
  if (ollama) {
    r.ollama_seconds = kernels * kKernelUsOllama * 1e-6;  // what evaluate_calibration adds
    r.link_seconds += r.ollama_seconds;
  }
  double t = r.link_seconds - r.ollama_seconds + kernels * truth.kernel_us * 1e-6 + truth.token_us * 1e-6 +
             (ollama ? kernels * ollama_us * 1e-6 : 0);
  for (size_t c = 0; c < kClasses; ++c) t += class_seconds[c] / truth.bw_eff[c];
  r.row.decode = 1.0 / t;
  return r;
}

TEST(Calibration, FitRecoversConstantsAndLeavesUnexercisedClassesAlone) {
  FamilyConstants truth;
  truth.family = "pascal";
  truth.bw_eff = {0.8, 0.7, 0.6, 0.35, 0.45, 0.25};
  truth.kernel_us = 5;
  truth.token_us = 300;
  FamilyConstants prior = truth;
  prior.bw_eff = {0.75, 0.8, 0.5, 0.5, 0.45, 0.25};
  prior.kernel_us = 7;
  prior.token_us = 400;
  std::vector<CalibrationResult> rows;
  // Float, legacy, k-quant and k-low exercised in different mixes and sizes; i-quant and fp4 never.
  for (int i = 0; i < 12; ++i) {
    const double s = 1e-3 * (1 + i);
    std::array<double, kClasses> cs{};
    cs[0] = 0.2 * s * (i % 4 == 0);
    cs[1 + i % 3] = s;
    cs[1 + (i + 1) % 3] = 0.3 * s * (i % 2);
    rows.push_back(synthetic_row(truth, cs, 400 + 97 * ((5 * i) % 12), false, 0));
  }
  // The prior is 10-40% off: the rows miss by up to 25% at it.
  const FamilyFit fit = fit_family(rows, prior);
  EXPECT_EQ(fit.rows, rows.size());
  EXPECT_FALSE(fit.ollama_fitted);
  // The ridge towards the prior keeps a bias; the data pull every exercised constant towards the
  // truth (float, in a third of the rows only, least).
  EXPECT_LT(fit.worst_error, 0.06);
  EXPECT_LT(fit.mean_error, 0.03);
  for (size_t c = 0; c < 4; ++c) {
    const double before = std::fabs(prior.bw_eff[c] - truth.bw_eff[c]);
    EXPECT_LT(std::fabs(fit.constants.bw_eff[c] - truth.bw_eff[c]), (c == 0 ? 0.9 : 0.6) * before) << c;
  }
  EXPECT_LT(std::fabs(fit.constants.kernel_us - truth.kernel_us), 0.5 * std::fabs(prior.kernel_us - truth.kernel_us));
  EXPECT_NEAR(fit.constants.bw_eff[static_cast<size_t>(QuantClass::IQuant)], prior.bw_eff[4], 1e-12);
  EXPECT_NEAR(fit.constants.bw_eff[static_cast<size_t>(QuantClass::Fp4)], prior.bw_eff[5], 1e-12);
  // Rows of another family do not enter.
  auto other = rows;
  for (auto& r : other) r.family = "volta";
  const FamilyFit none = fit_family(other, prior);
  EXPECT_EQ(none.rows, 0u);
  for (size_t c = 0; c < kClasses; ++c) EXPECT_NEAR(none.constants.bw_eff[c], prior.bw_eff[c], 1e-12);
}

TEST(Calibration, FitFreesOllamasOffsetOnlyWithRowsOfBothRunners) {
  FamilyConstants truth;
  truth.family = "pascal";
  truth.bw_eff = {0.8, 0.7, 0.6, 0.35, 0.45, 0.25};
  truth.kernel_us = 5;
  truth.token_us = 300;
  std::vector<CalibrationResult> rows;
  for (int i = 0; i < 8; ++i) {
    std::array<double, kClasses> cs{};
    cs[0] = 1e-4;
    cs[2] = 1e-3 * (2 + 3 * i);
    rows.push_back(synthetic_row(truth, cs, 450 + 90 * i, i % 2 == 0, kKernelUsOllama + 4));
  }
  const FamilyFit both = fit_family(rows, truth);
  EXPECT_TRUE(both.ollama_fitted);
  EXPECT_GT(both.ollama_kernel_us, kKernelUsOllama + 2);  // the truth is 4 us above it
  EXPECT_LT(both.worst_error, 0.06);
  rows.resize(5);  // 3 Ollama rows, 2 llama.cpp rows: the offset stays as it is
  const FamilyFit few = fit_family(rows, truth);
  EXPECT_FALSE(few.ollama_fitted);
  EXPECT_DOUBLE_EQ(few.ollama_kernel_us, kKernelUsOllama);
}

TEST(Calibration, FitKeepsEveryMeasuredRowWithinTheBand) {
  const auto results = evaluate_calibration(load_calibration(LLMC_CALIBRATION_FILE));
  for (const char* arch : {"sm_61", "sm_86", "sm_90"}) {
    const auto& prior = family_constants(Engine::LlamaCpp, arch);
    const FamilyFit fit = fit_family(results, prior);
    EXPECT_GT(fit.rows, 0u) << arch;
    EXPECT_LE(fit.worst_error, 0.20) << arch;
    for (double e : fit.constants.bw_eff) {
      EXPECT_GE(e, 0.05) << arch;
      EXPECT_LE(e, 0.9 + 1e-12) << arch;
    }
    EXPECT_GE(fit.constants.kernel_us, 0) << arch;
    EXPECT_GE(fit.constants.token_us, 0) << arch;
  }
}

TEST(Calibration, BadFilesAreNamed) {
  EXPECT_THROW(load_calibration("/nonexistent/measurements.json"), std::runtime_error);
}

}  // namespace
}  // namespace llmc::planner
