#include "llmc/planner/calibration.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "llmc/gguf_writer.h"
#include "llmc/model_layout.h"
#include "llmc/model_presets.h"
#include "llmc/planner/placement_search.h"

namespace llmc::planner {

std::vector<CalibrationRow> load_calibration(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  if (j.value("schema", "") != "llmc.calibration/1")
    throw std::runtime_error(fmt::format("{}: schema must be \"llmc.calibration/1\"", path));
  std::vector<CalibrationRow> rows;
  const auto& arr = j.at("rows");
  for (size_t i = 0; i < arr.size(); ++i) {
    const auto& r = arr[i];
    auto field = [&](const char* k) -> const nlohmann::json& {
      if (!r.contains(k)) throw std::runtime_error(fmt::format("{}: rows[{}]: missing field '{}'", path, i, k));
      return r.at(k);
    };
    try {
      CalibrationRow row;
      row.name = field("name").get<std::string>();
      row.devices = field("devices").get<std::string>();
      row.preset = field("preset").get<std::string>();
      row.type = field("type").get<std::string>();
      row.depth = r.value("depth", 0u);
      row.decode = field("decode").get<double>();
      if (r.contains("prefill")) row.prefill = r.at("prefill").get<double>();
      row.before_cuda_graphs = r.value("before_cuda_graphs", false);
      const std::string runner = r.value("runner", "llama.cpp");
      if (runner != "llama.cpp" && runner != "ollama")
        throw std::runtime_error(fmt::format("{}: rows[{}]: runner '{}'; expected llama.cpp or ollama", path, i, runner));
      row.ollama = runner == "ollama";
      row.source = r.value("source", "");
      rows.push_back(std::move(row));
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(fmt::format("{}: rows[{}]: {}", path, i, e.what()));
    }
  }
  return rows;
}

std::vector<CalibrationResult> evaluate_calibration(const std::vector<CalibrationRow>& rows) {
  std::vector<CalibrationResult> out;
  for (const auto& row : rows) {
    const ModelPreset* preset = find_model_preset(row.preset);
    if (!preset) throw std::runtime_error(fmt::format("calibration row '{}': unknown preset '{}'", row.name, row.preset));
    const auto ft = file_type_from_name(row.type);
    if (!ft) throw std::runtime_error(fmt::format("calibration row '{}': unknown file type '{}'", row.name, row.type));
    GgufWriter w;
    write_model_metadata(w, preset->hp, *ft, preset->display_name);
    for (const auto& t : tensor_layout(preset->hp, *ft)) w.add_tensor(t.name, t.ne, t.type);
    const std::vector<uint8_t> header = w.header();
    const GgufFile file = GgufFile::parse(header, row.preset);
    const ModelDesc model = ModelDesc::from_gguf(file);
    PlanRequest req;
    req.engine = Engine::LlamaCpp;
    req.depth = row.depth;
    req.ctx = 4096;
    const Plan plan = PlacementSearch(model, targets::parse_device_spec(row.devices), req).run();
    if (!plan.fits) throw std::runtime_error(fmt::format("calibration row '{}': the model does not fit on {}", row.name, row.devices));

    CalibrationResult r;
    r.row = row;
    r.predicted_decode = plan.predicted.decode_tps;
    r.predicted_prefill = plan.predicted.prefill_tps;
    r.link_seconds = plan.predicted.link_seconds;
    const ModelCosts costs(model);
    for (const auto& pl : plan.placement) {
      const auto& d = plan.rig.devices[pl.device];
      if (!pl.layers && !pl.holds_output) continue;
      if (r.family.empty() || !d.profile.is_cpu()) r.family = family_of_arch(d.profile.arch);
      const double bw = d.profile.mem_bandwidth_gbps * 1e9;
      const uint32_t a = pl.layers ? pl.layers->first : 0, b = pl.layers ? pl.layers->second + 1 : 0;
      for (size_t c = 0; c < r.class_seconds.size(); ++c) {
        double bytes = static_cast<double>(costs.read_bytes(static_cast<QuantClass>(c), a, b));
        if (pl.holds_output) bytes += static_cast<double>(costs.output_read()[c]);
        r.class_seconds[c] += bytes / bw;
      }
      const uint32_t window = costs.swa_window() ? std::min(row.depth, costs.swa_window()) : row.depth;
      r.class_seconds[static_cast<size_t>(QuantClass::Float)] +=
          (static_cast<double>(row.depth) * costs.kv_bytes_per_cell(plan.kv_k, plan.kv_v, a, b, false) +
           static_cast<double>(window) * costs.kv_bytes_per_cell(plan.kv_k, plan.kv_v, a, b, true)) / bw;
      r.kernels += costs.kernels(a, b) + (pl.holds_output ? costs.output_kernels() : 0);
    }
    // Old builds paid a full launch per kernel on the families that now capture CUDA graphs, and
    // Ollama's runner launches more kernels than llama.cpp.
    double extra_us = row.ollama ? kKernelUsOllama : 0;
    if (row.before_cuda_graphs && (r.family == "ampere" || r.family == "ada" || r.family == "hopper"))
      extra_us += kKernelUsWithoutCudaGraphs;
    if (extra_us > 0) {
      const double extra = r.kernels * extra_us * 1e-6;
      r.link_seconds += extra;
      if (row.ollama) r.ollama_seconds = r.kernels * kKernelUsOllama * 1e-6;
      r.predicted_decode = 1.0 / (1.0 / r.predicted_decode + extra);
    }
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// Minimises sum_i w_i (a_i . x - b_i)^2 + lambda sum_j ((x_j - p_j) / p_j)^2 with lo <= x <= hi:
// normal equations over the free variables, clamping any that leave their bounds and solving again.
template <size_t N>
std::array<double, N> solve_bounded_ridge(const std::vector<std::array<double, N>>& a, const std::vector<double>& b,
                                          const std::vector<double>& w, const std::array<double, N>& p, double lambda,
                                          const std::array<double, N>& lo, const std::array<double, N>& hi) {
  std::array<double, N> x{};
  std::array<bool, N> fixed{};
  for (size_t round = 0; round <= N; ++round) {
    std::vector<size_t> free;
    for (size_t j = 0; j < N; ++j)
      if (!fixed[j]) free.push_back(j);
    const size_t F = free.size();
    std::vector<std::vector<double>> m(F, std::vector<double>(F + 1, 0.0));
    for (size_t i = 0; i < a.size(); ++i) {
      double rhs = b[i];
      for (size_t j = 0; j < N; ++j)
        if (fixed[j]) rhs -= a[i][j] * x[j];
      for (size_t u = 0; u < F; ++u) {
        for (size_t v = 0; v < F; ++v) m[u][v] += w[i] * a[i][free[u]] * a[i][free[v]];
        m[u][F] += w[i] * a[i][free[u]] * rhs;
      }
    }
    for (size_t u = 0; u < F; ++u) {
      const double pj = p[free[u]];
      m[u][u] += lambda / (pj * pj);
      m[u][F] += lambda / pj;
    }
    // Gauss-Jordan elimination with partial pivoting (the ridge keeps the matrix positive definite).
    for (size_t col = 0; col < F; ++col) {
      size_t piv = col;
      for (size_t r = col + 1; r < F; ++r)
        if (std::fabs(m[r][col]) > std::fabs(m[piv][col])) piv = r;
      std::swap(m[col], m[piv]);
      for (size_t r = 0; r < F; ++r) {
        if (r == col || m[col][col] == 0) continue;
        const double f = m[r][col] / m[col][col];
        for (size_t k = col; k <= F; ++k) m[r][k] -= f * m[col][k];
      }
    }
    bool clamped = false;
    for (size_t u = 0; u < F; ++u) {
      const size_t j = free[u];
      x[j] = m[u][u] != 0 ? m[u][F] / m[u][u] : p[j];
      if (x[j] < lo[j] || x[j] > hi[j]) {
        x[j] = std::clamp(x[j], lo[j], hi[j]);
        fixed[j] = clamped = true;
      }
    }
    if (!clamped) break;
  }
  return x;
}

}  // namespace

FamilyFit fit_family(const std::vector<CalibrationResult>& results, const FamilyConstants& prior) {
  constexpr size_t C = static_cast<size_t>(QuantClass::Count);
  // Unknowns: 1 / bw_eff per class, seconds per kernel, seconds per token, Ollama's extra seconds per kernel.
  constexpr size_t N = C + 3;
  constexpr size_t kKernel = C, kToken = C + 1, kOllama = C + 2;
  std::vector<const CalibrationResult*> rows;
  size_t n_ollama = 0;
  for (const auto& r : results)
    if (r.family == prior.family) {
      rows.push_back(&r);
      n_ollama += r.row.ollama;
    }
  FamilyFit fit;
  fit.constants = prior;
  fit.rows = rows.size();
  // The runner offset is only separable from kernel_us with several rows of each runner.
  fit.ollama_fitted = n_ollama >= 3 && rows.size() - n_ollama >= 3;

  std::array<double, N> p{}, lo{}, hi{};
  for (size_t c = 0; c < C; ++c) {
    p[c] = 1.0 / prior.bw_eff[c];
    lo[c] = 1.0 / 0.9;
    hi[c] = 1.0 / 0.05;
  }
  p[kKernel] = std::max(prior.kernel_us, 0.1) * 1e-6;
  p[kToken] = std::max(prior.token_us, 10.0) * 1e-6;
  p[kOllama] = kKernelUsOllama * 1e-6;
  for (size_t j = C; j < N; ++j) hi[j] = 1.0;  // seconds: no upper bound in practice
  if (!fit.ollama_fitted) lo[kOllama] = hi[kOllama] = p[kOllama];

  // Predicted seconds per token = a . x + b0 (b0: links, and the known offset of builds without CUDA graphs).
  std::vector<std::array<double, N>> a(rows.size());
  std::vector<double> b0(rows.size()), t(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = *rows[i];
    for (size_t c = 0; c < C; ++c) a[i][c] = r.class_seconds[c];
    a[i][kKernel] = r.kernels;
    a[i][kToken] = 1.0;
    a[i][kOllama] = r.row.ollama ? r.kernels : 0.0;
    b0[i] = r.link_seconds - r.ollama_seconds;
    t[i] = 1.0 / r.row.decode;
  }

  // Least squares of the relative errors, plus a steep quadratic penalty on the part of any error
  // beyond kBand: the requirement is a bound on every row, and inside it the usual least squares
  // keeps the mean error low. Semismooth Newton: the rows outside the band get a penalty row aimed
  // at the band's edge, and the set is updated until it settles. Each residual is scaled by the row's
  // current predicted time, so at convergence it is the error of the predicted t/s.
  // kBand is the +-20% requirement less a margin for rounding the constants to two digits.
  constexpr double lambda = 0.2;
  constexpr double kBand = 0.19;
  constexpr double kPenalty = 1e4;
  constexpr int kIterations = 100;
  const size_t n = rows.size();
  std::vector<double> scale = t;
  std::array<double, N> x = p, best = p;
  double best_objective = std::numeric_limits<double>::infinity();
  auto predict = [&](const std::array<double, N>& v, size_t i) {
    double pred = b0[i];
    for (size_t j = 0; j < N; ++j) pred += a[i][j] * v[j];
    return pred;
  };
  for (int it = 0; it < kIterations && n > 0; ++it) {
    std::vector<std::array<double, N>> as;
    std::vector<double> bs, ws;
    for (size_t i = 0; i < n; ++i) {
      std::array<double, N> ai{};
      for (size_t j = 0; j < N; ++j) ai[j] = a[i][j] / scale[i];
      const double bi = (t[i] - b0[i]) / scale[i];
      as.push_back(ai);
      bs.push_back(bi);
      ws.push_back(1.0);
      const double r = (predict(x, i) - t[i]) / scale[i];
      if (it > 0 && std::fabs(r) > kBand) {  // a penalty row aimed at the band's edge
        as.push_back(ai);
        bs.push_back(bi + std::copysign(kBand, r));
        ws.push_back(kPenalty);
      }
    }
    x = solve_bounded_ridge<N>(as, bs, ws, p, lambda, lo, hi);
    double objective = 0;
    for (size_t j = 0; j < N; ++j) objective += lambda * std::pow((x[j] - p[j]) / p[j], 2);
    for (size_t i = 0; i < n; ++i) {
      scale[i] = predict(x, i);
      const double r = (scale[i] - t[i]) / scale[i];
      objective += r * r + kPenalty * std::pow(std::max(0.0, std::fabs(r) - kBand), 2);
    }
    if (objective < best_objective) {
      best_objective = objective;
      best = x;
    }
  }
  x = best;

  for (size_t c = 0; c < C; ++c) fit.constants.bw_eff[c] = 1.0 / x[c];
  fit.constants.kernel_us = x[kKernel] * 1e6;
  fit.constants.token_us = x[kToken] * 1e6;
  fit.ollama_kernel_us = x[kOllama] * 1e6;
  for (size_t i = 0; i < n; ++i) {
    const double e = std::fabs(t[i] / predict(x, i) - 1);
    fit.worst_error = std::max(fit.worst_error, e);
    fit.mean_error += e / static_cast<double>(n);
  }
  return fit;
}

}  // namespace llmc::planner
