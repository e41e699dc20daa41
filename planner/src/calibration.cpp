#include "llmc/planner/calibration.h"

#include <cmath>
#include <fstream>
#include <stdexcept>

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
      r.predicted_decode = 1.0 / (1.0 / r.predicted_decode + extra);
    }
    out.push_back(std::move(r));
  }
  return out;
}

FamilyConstants fit_family(const std::vector<CalibrationResult>& results, const FamilyConstants& prior) {
  constexpr size_t C = static_cast<size_t>(QuantClass::Count);
  constexpr size_t N = C + 2;  // 1/eff per class, kernel seconds, token seconds
  std::array<double, N> p{};
  for (size_t c = 0; c < C; ++c) p[c] = 1.0 / prior.bw_eff[c];
  p[C] = prior.kernel_us * 1e-6;
  p[C + 1] = prior.token_us * 1e-6;
  // Normal equations of: sum_i ((a_i . x + link_i - t_i) / t_i)^2 + lambda * sum_j ((x_j - p_j) / p_j)^2.
  constexpr double lambda = 0.02;
  std::array<std::array<double, N + 1>, N> m{};
  for (const auto& r : results) {
    if (r.family != prior.family) continue;
    const double t = 1.0 / r.row.decode;
    std::array<double, N> a{};
    for (size_t c = 0; c < C; ++c) a[c] = r.class_seconds[c] / t;
    a[C] = r.kernels / t;
    a[C + 1] = 1.0 / t;
    const double rhs = (t - r.link_seconds) / t;
    for (size_t i = 0; i < N; ++i) {
      for (size_t j = 0; j < N; ++j) m[i][j] += a[i] * a[j];
      m[i][N] += a[i] * rhs;
    }
  }
  for (size_t j = 0; j < N; ++j) {
    m[j][j] += lambda / (p[j] * p[j]);
    m[j][N] += lambda / p[j];
  }
  // Gaussian elimination with partial pivoting.
  for (size_t col = 0; col < N; ++col) {
    size_t piv = col;
    for (size_t r = col + 1; r < N; ++r)
      if (std::fabs(m[r][col]) > std::fabs(m[piv][col])) piv = r;
    std::swap(m[col], m[piv]);
    for (size_t r = 0; r < N; ++r) {
      if (r == col || m[col][col] == 0) continue;
      const double f = m[r][col] / m[col][col];
      for (size_t k = col; k <= N; ++k) m[r][k] -= f * m[col][k];
    }
  }
  FamilyConstants out = prior;
  for (size_t c = 0; c < C; ++c) {
    const double x = m[c][N] / m[c][c];
    out.bw_eff[c] = std::clamp(1.0 / std::max(x, 1.0), 0.05, 0.9);
  }
  out.kernel_us = std::max(0.0, m[C][N] / m[C][C] * 1e6);
  out.token_us = std::max(0.0, m[C + 1][N] / m[C + 1][C + 1] * 1e6);
  return out;
}

}  // namespace llmc::planner
