// `llmc calibrate FILE [--fit]`: the planner's predictions next to measured speeds, and the
// fit of each GPU family's constants (docs/cost-model.md).
#include <cmath>
#include <memory>
#include <set>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "llmc/planner/calibration.h"

namespace llmc::cli {
namespace {

int run_calibrate(const std::string& path, bool fit) {
  const auto rows = planner::load_calibration(path);
  const auto results = planner::evaluate_calibration(rows);
  fmt::print("{:<28} {:<8} {:>9} {:>9} {:>7}   {:>9} {:>9} {:>7}\n", "row", "family", "decode", "predicted", "error",
             "prefill", "predicted", "error");
  double worst = 0, sum = 0;
  for (const auto& r : results) {
    const double e = r.decode_error();
    worst = std::max(worst, std::fabs(e));
    sum += std::fabs(e);
    std::string pre;
    if (r.row.prefill)
      pre = fmt::format("{:>9.0f} {:>9.0f} {:>+6.1f}%", *r.row.prefill, r.predicted_prefill,
                        100 * (r.predicted_prefill / *r.row.prefill - 1));
    fmt::print("{:<28} {:<8} {:>9.2f} {:>9.2f} {:>+6.1f}%   {}\n", r.row.name, r.family, r.row.decode, r.predicted_decode,
               100 * e, pre);
  }
  fmt::print("\n{} rows: mean |error| {:.1f}%, worst {:.1f}%\n", results.size(), 100 * sum / std::max<size_t>(results.size(), 1),
             100 * worst);
  if (fit) {
    std::set<std::string> families;
    for (const auto& r : results) families.insert(r.family);
    fmt::print("\nfitted constants, one step from those in use\n"
               "(bw_eff: float, legacy, k-quant, k-low, i-quant, fp4):\n");
    for (const auto& fam : families) {
      const auto* prior = &planner::family_constants(planner::Engine::LlamaCpp, fam == "pascal" ? "sm_61"
                                                                                 : fam == "hopper" ? "sm_90"
                                                                                 : fam == "ampere" ? "sm_86"
                                                                                 : fam == "ada"    ? "sm_89"
                                                                                 : fam == "volta"  ? "sm_70"
                                                                                 : fam == "rdna3"  ? "gfx1100"
                                                                                                   : "x86-64");
      const auto fit = planner::fit_family(results, *prior);
      const auto& f = fit.constants;
      std::string eff;
      for (double e : f.bw_eff) eff += fmt::format(" {:.2f}", e);
      fmt::print("  {:<8} bw_eff{}   kernel_us {:.1f}   token_us {:.0f}   {} rows: worst {:.1f}%, mean {:.1f}%\n",
                 f.family, eff, f.kernel_us, f.token_us, fit.rows, 100 * fit.worst_error, 100 * fit.mean_error);
      if (fit.ollama_fitted)
        fmt::print("  {:<8} ollama_kernel_us {:.1f} (fitted on its rows of both runners; in use: {:.1f})\n", "",
                   fit.ollama_kernel_us, planner::kKernelUsOllama);
    }
  }
  return worst <= 0.2 ? kExitOk : kExitError;
}

}  // namespace

void register_calibrate(CLI::App& app, int& exit_code) {
  auto path = std::make_shared<std::string>();
  auto fit = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("calibrate", "Compare the planner's predictions with measured speeds");
  sub->add_option("file", *path, "Measurements (llmc.calibration/1), e.g. planner/calibration/measurements.json")->required();
  sub->add_flag("--fit", *fit, "Also fit each family's efficiency constants to its rows");
  sub->callback([path, fit, &exit_code] { exit_code = run_calibrate(*path, *fit); });
}

}  // namespace llmc::cli
