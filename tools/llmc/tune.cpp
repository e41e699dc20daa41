// llmc tune: chooses a device's mat-vec tunings from measurements and writes them into chips.json.
//
// The measurements come from `llmc kernel-check BUNDLE --perf --results FILE` on the device, run on
// a check suite built with the candidate tunings (`llmc build --check-suite --perf-shapes --tuning
// R,W,V,U ...`). For each weight type, every tuning measured on all of its benchmark shapes is a
// candidate; the one with the best mean share of the copy bandwidth (product alone, CUDA graph) is
// the type's entry, and a shape class (tall, wide, square) whose own best beats that entry there by
// at least --margin points gets a by_shape entry. No entry may lose more than --max-loss points on
// any measured shape against what it replaces (the type's entry against the chip's, where that was
// measured; a class's entry against the type's): a mean can hide one shape where a tuning
// collapses. With --exact, a measured shape whose best tuning beats the entry it would take by
// --margin gets an entry for that shape alone (ROWSxCOLS), for the models whose matrices those are.
// A tuning with prefetch, row steps or a register cap wins any of these only by --margin points
// over the best tuning without them.
// A type whose best is the chip's own entry gets no device entry (an existing one is removed).
// Without --chips the entries are printed as JSON.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <compare>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_io.h"
#include "commands.h"
#include "llmc/ggml_types.h"
#include "llmc/targets/device_catalog.h"
#include "llmc/weight_layout.h"

namespace llmc::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct TuneOptions {
  std::vector<std::string> results;
  std::string device;
  std::string chips;  // chips.json to update in place; empty: print the entries
  double margin = 2.0;
  double max_loss = 10.0;
  bool exact = false;  // --exact: entries for single matrix shapes too
};

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// One measured mat-vec tuning; ordered, so that it can key the measurements.
struct Tuning {
  int rows_per_block = 0;
  int warps = 0;
  int vector_width = 0;
  int unroll = 0;
  int group_warps = 0;  // 0: the default grouping
  int prefetch = 0;
  int row_steps = 1;
  int min_blocks = 0;  // 0: no register cap
  auto operator<=>(const Tuning&) const = default;
};
using Shape = std::pair<int64_t, int64_t>;  // rows, cols

// As llmc build --tuning reads it: "2,1,8,1", "2,2,4,4,2", "2,2,4,4,p1,s4", "2,1,4,4,m32".
std::string tuning_text(const Tuning& t) {
  return fmt::format("{},{},{},{}", t.rows_per_block, t.warps, t.vector_width, t.unroll) +
         (t.group_warps > 0 ? fmt::format(",{}", t.group_warps) : "") +
         (t.prefetch > 0 ? fmt::format(",p{}", t.prefetch) : "") +
         (t.row_steps > 1 ? fmt::format(",s{}", t.row_steps) : "") +
         (t.min_blocks > 0 ? fmt::format(",m{}", t.min_blocks) : "");
}

struct Measurements {
  std::string device;                                                    // as the driver names it
  double copy_low = 0, copy_high = 0;                                    // the copies' range (GB/s)
  std::map<std::string, std::map<Shape, std::map<Tuning, double>>> pct;  // quant -> shape -> tuning -> %
};

// The records of `path` that speak for `chip` as a runtime would use it: its dot method, the
// layout GPUs take, one vector, kernels that passed their check.
void read_results(const std::string& path, const targets::ChipInfo& chip, Measurements& m) {
  std::ifstream in(path);
  if (!in) fail(fmt::format("{}: cannot open", path));
  json file;
  try {
    file = json::parse(in);
  } catch (const json::exception& e) {
    fail(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  if (file.value("schema", "") != "llmc.kernel-perf/1")
    fail(fmt::format("{}: schema: expected \"llmc.kernel-perf/1\" (llmc kernel-check --perf --results)", path));
  if (m.device.empty()) m.device = file.value("device", "");
  const json results = json_field<json>(file, "results", path);
  if (!results.is_array()) fail(fmt::format("{}: results: expected an array", path));
  const std::string method = chip.has_int8_dot ? "int8" : "f32";
  for (size_t i = 0; i < results.size(); ++i) {
    const json& r = results[i];
    const std::string at = fmt::format("{}: results[{}]", path, i);
    if (json_field<std::string>(r, "chip", at) != chip.arch || !json_field<bool>(r, "passed", at)) continue;
    if (json_field<int64_t>(r, "batch", at) != 1 || json_field<std::string>(r, "method", at) != method) continue;
    const std::string quant = json_field<std::string>(r, "quant", at);
    const auto type = ggml_type_from_name(quant);
    if (!type) fail(fmt::format("{}: quant '{}' is not a ggml type", at, quant));
    const std::string layout = row_planar_fields(*type).empty() ? "blocks" : "row_planar";
    if (json_field<std::string>(r, "layout", at) != layout) continue;
    const json t = json_field<json>(r, "tuning", at);
    auto optional = [&](const char* key, int absent) { return t.contains(key) ? json_field<int>(t, key, at) : absent; };
    const Tuning tuning{json_field<int>(t, "rows_per_block", at), json_field<int>(t, "warps", at),
                        json_field<int>(t, "vector_width", at), json_field<int>(t, "unroll", at),
                        optional("group_warps", 0), optional("prefetch", 0), optional("row_steps", 1),
                        optional("min_blocks", 0)};
    const Shape shape{json_field<int64_t>(r, "rows", at), json_field<int64_t>(r, "cols", at)};
    if (shape.first < 1 || shape.second < 1) fail(fmt::format("{}: rows and cols must be positive", at));
    const double pct = json_field<double>(r, "product_pct", at);
    if (!(pct > 0 && pct < 1000)) fail(fmt::format("{}: product_pct {} is not a share of the copy", at, pct));
    double& slot = m.pct[quant][shape][tuning];
    slot = std::max(slot, pct);  // a tuning measured twice (two runs): its better run
    const double copy = json_field<double>(r, "copy_gbps", at);
    m.copy_low = m.copy_low == 0 ? copy : std::min(m.copy_low, copy);
    m.copy_high = std::max(m.copy_high, copy);
  }
}

struct Choice {
  Tuning tuning;
  double mean = 0;
};

double mean_of(const std::map<Shape, std::map<Tuning, double>>& by_shape, const std::vector<Shape>& shapes,
               const Tuning& t) {
  double sum = 0;
  for (const Shape& s : shapes) sum += by_shape.at(s).at(t);
  return sum / static_cast<double>(shapes.size());
}

// Whether `t` adds a value beyond the launch geometry: prefetch, row steps or a register cap.
bool has_extras(const Tuning& t) { return t.prefetch > 0 || t.row_steps > 1 || t.min_blocks > 0; }

// The best of `candidates` by mean share over `shapes`, among those that lose at most `max_loss`
// points on every one of them against `baseline` (when given); one with extras (has_extras) only
// where it beats the best plain one by `margin`.
Choice best(const std::map<Shape, std::map<Tuning, double>>& by_shape, const std::vector<Shape>& shapes,
            const std::set<Tuning>& candidates, double margin, const std::optional<Tuning>& baseline = std::nullopt,
            double max_loss = 0) {
  Choice plain, extras;
  for (const Tuning& t : candidates) {
    bool safe = true;
    if (baseline)
      for (const Shape& s : shapes) safe = safe && by_shape.at(s).at(t) >= by_shape.at(s).at(*baseline) - max_loss;
    if (!safe) continue;
    const double mean = mean_of(by_shape, shapes, t);
    Choice& slot = has_extras(t) ? extras : plain;
    if (mean > slot.mean) slot = {t, mean};
  }
  // A register cap the kernel does not reach builds the same code under another name, and such
  // twins differ only by the noise of their runs.
  if (plain.mean > 0 && extras.mean - plain.mean < margin) return plain;
  return extras.mean > plain.mean ? extras : plain;
}

std::string shares(const std::map<Shape, std::map<Tuning, double>>& by_shape, const std::vector<Shape>& shapes,
                   const Tuning& t) {
  std::string text;
  for (const Shape& s : shapes) text += fmt::format("{}{:.1f}", text.empty() ? "" : " / ", by_shape.at(s).at(t));
  return text;
}

std::string shape_list(const std::vector<Shape>& shapes) {
  std::string text;
  for (const Shape& s : shapes) text += (text.empty() ? "" : ", ") + targets::matrix_shape_key(s.first, s.second);
  return text;
}

std::string today() {
  const auto now = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  const std::chrono::year_month_day date{now};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                     static_cast<unsigned>(date.day()));
}

json entry_json(const Tuning& t, const std::string& rationale) {
  json entry = {{"rows_per_block", t.rows_per_block},
                {"warps_per_block", t.warps},
                {"vector_width", t.vector_width},
                {"unroll", t.unroll}};
  if (t.group_warps > 0) entry["group_warps"] = t.group_warps;
  if (t.prefetch > 0) entry["prefetch"] = t.prefetch;
  if (t.row_steps > 1) entry["row_steps"] = t.row_steps;
  if (t.min_blocks > 0) entry["min_blocks"] = t.min_blocks;
  entry["rationale"] = rationale;
  return entry;
}

// The device's entries, by type: an entry, or null where the chip's own entry is the best.
json choose(const Measurements& m, const targets::ChipInfo& chip, const std::string& device, double margin,
            double max_loss, bool exact) {
  json entries = json::object();
  // Each share is of the copy measured in its own run; records from several runs name the range.
  const std::string copy = std::lround(m.copy_low) == std::lround(m.copy_high)
                               ? fmt::format("{:.0f}", m.copy_low)
                               : fmt::format("{:.0f}-{:.0f}", m.copy_low, m.copy_high);
  const std::string where = fmt::format("Measured by llmc tune on {} ({}, product alone in CUDA graph replay, % of a "
                                        "{} GB/s device-to-device copy's read + write rate)",
                                        m.device.empty() ? device : m.device, today(), copy);
  for (const auto& [quant, by_shape] : m.pct) {
    std::vector<Shape> shapes;
    for (const auto& [shape, tunings] : by_shape) shapes.push_back(shape);
    // Candidates: tunings measured on every shape of the type.
    std::set<Tuning> candidates;
    for (const auto& [t, pct] : by_shape.begin()->second) {
      bool everywhere = true;
      for (const auto& [shape, tunings] : by_shape) everywhere = everywhere && tunings.contains(t);
      if (everywhere) candidates.insert(t);
    }
    if (candidates.empty()) {
      fmt::print("{:<7} no tuning was measured on every shape ({}); skipped\n", quant, shape_list(shapes));
      continue;
    }
    const auto& own = chip.qmatvec_for(quant);
    const Tuning chip_tuning{own.rows_per_block, own.warps_per_block, own.vector_width, own.unroll, own.group_warps,
                             own.prefetch, own.row_steps, own.min_blocks};
    const bool chip_measured = candidates.contains(chip_tuning);
    const Choice overall = best(by_shape, shapes, candidates, margin,
                                chip_measured ? std::optional<Tuning>(chip_tuning) : std::nullopt, max_loss);
    std::string rationale = fmt::format("{}: {} of {} tunings, {} at {}", where, tuning_text(overall.tuning),
                                        candidates.size(), shares(by_shape, shapes, overall.tuning), shape_list(shapes));
    if (chip_measured && chip_tuning != overall.tuning)
      rationale += fmt::format(", against {} for the chip's {}", shares(by_shape, shapes, chip_tuning),
                               tuning_text(chip_tuning));
    rationale += ".";
    fmt::print("{:<7} {:<10} {:>6.1f}%  {}\n", quant, tuning_text(overall.tuning), overall.mean,
               shares(by_shape, shapes, overall.tuning));

    json by_class = json::object();
    std::map<std::string, Tuning> class_tuning;  // the classes given entries
    std::map<std::string, std::vector<Shape>> classes;
    for (const Shape& s : shapes) classes[std::string(targets::matrix_shape_class(s.first, s.second))].push_back(s);
    for (const auto& [name, members] : classes) {
      const Choice winner = best(by_shape, members, candidates, margin, overall.tuning, max_loss);
      const double base = mean_of(by_shape, members, overall.tuning);
      if (winner.tuning == overall.tuning || winner.mean - base < margin) continue;
      class_tuning[name] = winner.tuning;
      by_class[name] = entry_json(
          winner.tuning, fmt::format("{}: {} for {} matrices, {} at {}, against {} for {}.", where,
                                     tuning_text(winner.tuning), name, shares(by_shape, members, winner.tuning),
                                     shape_list(members), shares(by_shape, members, overall.tuning),
                                     tuning_text(overall.tuning)));
      fmt::print("  {:<6} {:<10} {:>6.1f}%  ({:.1f}% with {})\n", name, tuning_text(winner.tuning), winner.mean, base,
                 tuning_text(overall.tuning));
    }
    if (exact) {
      // A measured shape whose best tuning (any measured there) beats the entry it would take,
      // its class's or the type's, by --margin gets an entry of its own.
      for (const Shape& s : shapes) {
        const auto by = class_tuning.find(std::string(targets::matrix_shape_class(s.first, s.second)));
        const Tuning taken = by != class_tuning.end() ? by->second : overall.tuning;
        std::set<Tuning> measured;
        for (const auto& [t, pct] : by_shape.at(s)) measured.insert(t);
        const Choice top = best(by_shape, {s}, measured, margin);
        const double base = by_shape.at(s).at(taken);
        if (top.tuning == taken || top.mean - base < margin) continue;
        const std::string key = targets::matrix_shape_key(s.first, s.second);
        by_class[key] = entry_json(top.tuning, fmt::format("{}: {} for {} matrices, {:.1f} against {:.1f} for {}.", where,
                                                           tuning_text(top.tuning), key, top.mean, base,
                                                           tuning_text(taken)));
        fmt::print("  {:<11} {:<10} {:>6.1f}%  ({:.1f}% with {})\n", key, tuning_text(top.tuning), top.mean, base,
                   tuning_text(taken));
      }
    }
    if (overall.tuning == chip_tuning && by_class.empty()) {
      fmt::print("  the chip's own entry; no device entry\n");
      entries[quant] = nullptr;
      continue;
    }
    json entry = entry_json(overall.tuning, rationale);
    if (!by_class.empty()) entry["by_shape"] = by_class;
    entries[quant] = entry;
  }
  return entries;
}

// Puts `entries` into chips.json's by_device entry of `device`, checks the result loads, and
// replaces the file (whole, or not at all).
void update_chips(const std::string& path, const std::string& arch, const std::string& device, const json& entries) {
  std::ifstream in(path);
  if (!in) fail(fmt::format("{}: cannot open", path));
  std::stringstream text;
  text << in.rdbuf();
  json chips;
  try {
    chips = json::parse(text.str());
  } catch (const json::exception& e) {
    fail(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  json* qmatvec = nullptr;
  for (json& c : chips["chips"])
    if (c.value("arch", "") == arch) qmatvec = &c["qmatvec"];
  if (!qmatvec) fail(fmt::format("{}: no chip with arch {}", path, arch));
  json& mine = (*qmatvec)["by_device"][device];
  for (const auto& [quant, entry] : entries.items()) {
    if (entry.is_null()) {
      mine.erase(quant);
    } else {
      mine[quant] = entry;
    }
  }
  if (mine.empty()) (*qmatvec)["by_device"].erase(device);
  if ((*qmatvec)["by_device"].empty()) qmatvec->erase("by_device");
  const std::string updated = chips.dump(2) + "\n";
  targets::DeviceCatalog::with_chips({path, updated});  // throws TargetDataError naming the problem
  write_atomically(path, updated);
  fmt::print("updated {} (chips[{}].qmatvec.by_device.{})\n", path, arch, device);
}

int run_tune(const TuneOptions& o) {
  const auto& catalog = targets::DeviceCatalog::builtin();
  const targets::DeviceProfile* device = catalog.find_device(o.device);
  if (!device) {
    std::string hint;
    for (const std::string& name : catalog.similar_device_names(o.device)) hint += (hint.empty() ? " (did you mean " : ", ") + name;
    fail(fmt::format("--device: '{}' is not a device profile{}", o.device, hint.empty() ? "" : hint + "?)"));
  }
  const targets::ChipInfo* chip = catalog.find_chip(device->arch);
  if (!chip || device->is_cpu())
    fail(fmt::format("--device: {} has no GPU code generator to tune", o.device));
  Measurements m;
  for (const std::string& path : o.results) read_results(path, *chip, m);
  if (m.pct.empty())
    fail(fmt::format("no measurements of {} kernels ({} method, batch 1, GPU layout, passed) in the results",
                     chip->arch, chip->has_int8_dot ? "int8" : "f32"));
  const json entries = choose(m, *chip, o.device, o.margin, o.max_loss, o.exact);
  if (o.chips.empty()) {
    fmt::print("{}\n", json{{o.device, entries}}.dump(2));
  } else {
    update_chips(o.chips, chip->arch, o.device, entries);
  }
  return kExitOk;
}

}  // namespace

void register_tune(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TuneOptions>();
  CLI::App* sub = app.add_subcommand("tune", "Choose a device's mat-vec tunings from kernel-check measurements");
  sub->add_option("results", o->results, "Measurements: llmc kernel-check BUNDLE --perf --results FILE.json")
      ->required();
  sub->add_option("-d,--device", o->device, "The device profile they were measured on (h200, p104-100, ...)")
      ->required();
  sub->add_option("--chips", o->chips, "chips.json to update (its by_device entries); without it, print them");
  sub->add_option("--margin", o->margin, "Points a shape class's best must gain to get its own entry")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  sub->add_option("--max-loss", o->max_loss,
                  "Points an entry may lose on any measured shape against what it replaces")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  sub->add_flag("--exact", o->exact,
                "Also give a measured matrix shape (ROWSxCOLS) its own entry where its best tuning gains --margin points");
  sub->callback([o, &exit_code] { exit_code = run_tune(*o); });
}

}  // namespace llmc::cli
