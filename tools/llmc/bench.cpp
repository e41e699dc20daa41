// `llmc bench MODEL.gguf`: prompt processing (pp) and token generation (tg) speed on the CPU,
// printed as llama-bench prints it (markdown table or JSON), so results line up with llama.cpp's.
// Tokens are random ids, so models without a vocabulary (llmc synth) work. `--membw` adds the
// machine's memory bandwidth and how close generation comes to it.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "llmc/forward.h"
#include "llmc/gguf.h"
#include "llmc/model.h"
#include "llmc/thread_pool.h"

namespace llmc::cli {
namespace {

struct BenchOptions {
  std::string model;
  int n_prompt = 512;
  int n_gen = 128;
  int reps = 3;
  std::string output = "md";
  int threads = 0;
  std::string kv_type = "f16";
  bool membw = false;
};

struct BenchTest {
  int n_prompt = 0;
  int n_gen = 0;
  std::string test_time;
  std::vector<uint64_t> samples_ns;

  std::string name() const { return n_prompt > 0 ? fmt::format("pp{}", n_prompt) : fmt::format("tg{}", n_gen); }
  std::vector<double> samples_ts() const {
    std::vector<double> ts;
    for (uint64_t ns : samples_ns) ts.push_back(1e9 * (n_prompt + n_gen) / static_cast<double>(ns));
    return ts;
  }
};

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
// Sample standard deviation, as llama-bench computes it.
double stddev(const std::vector<double>& v) {
  if (v.size() <= 1) return 0.0;
  const double m = mean(v);
  double sq = 0.0;
  for (double x : v) sq += (x - m) * (x - m);
  return std::sqrt(sq / static_cast<double>(v.size() - 1));
}

// llama.cpp's names for general.file_type (llama_model_ftype_name).
std::string ftype_display_name(const GgufFile& file, const ModelDesc& desc) {
  static const std::pair<uint64_t, const char*> kNames[] = {
      {0, "all F32"},
      {1, "F16"},
      {2, "Q4_0"},
      {3, "Q4_1"},
      {7, "Q8_0"},
      {8, "Q5_0"},
      {9, "Q5_1"},
      {10, "Q2_K - Medium"},
      {11, "Q3_K - Small"},
      {12, "Q3_K - Medium"},
      {13, "Q3_K - Large"},
      {14, "Q4_K - Small"},
      {15, "Q4_K - Medium"},
      {16, "Q5_K - Small"},
      {17, "Q5_K - Medium"},
      {18, "Q6_K"},
      {19, "IQ2_XXS - 2.0625 bpw"},
      {20, "IQ2_XS - 2.3125 bpw"},
      {21, "Q2_K - Small"},
      {22, "IQ3_XS - 3.3 bpw"},
      {23, "IQ3_XXS - 3.0625 bpw"},
      {24, "IQ1_S - 1.5625 bpw"},
      {25, "IQ4_NL - 4.5 bpw"},
      {26, "IQ3_S - 3.4375 bpw"},
      {27, "IQ3_S mix - 3.66 bpw"},
      {28, "IQ2_S - 2.5 bpw"},
      {29, "IQ2_M - 2.7 bpw"},
      {30, "IQ4_XS - 4.25 bpw"},
      {31, "IQ1_M - 1.75 bpw"},
      {32, "BF16"},
      {36, "TQ1_0 - 1.69 bpw ternary"},
      {37, "TQ2_0 - 2.06 bpw ternary"},
      {38, "MXFP4 MoE"},
  };
  if (const GgufValue* v = file.find("general.file_type"); v && v->is_integer()) {
    const uint64_t id = v->as_u64("general.file_type");
    for (const auto& [known, name] : kNames)
      if (known == id) return name;
    return "unknown, may not work";
  }
  // Like llama.cpp, name the dominant tensor type and say it was guessed.
  std::string t(ggml_type_name(desc.main_type()));
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return t + " (guessed)";
}

// A size label from the parameter count ("0.5B", "1.5B", "7B", "14M", "0.4M"). llama.cpp looks the
// size up in per-architecture tables instead, so its label can differ for some models.
std::string size_label(uint64_t n_params) {
  const double b = static_cast<double>(n_params) / 1e9;
  const double m = static_cast<double>(n_params) / 1e6;
  if (m < 1.0) return fmt::format("{:.1f}M", m);
  if (b < 0.05) return fmt::format("{:.0f}M", m);
  if (b < 1.0) return fmt::format("{:.1f}B", b);
  if (b < 10.0) return std::fabs(b - std::round(b)) <= 0.3 ? fmt::format("{:.0f}B", b) : fmt::format("{:.1f}B", b);
  return fmt::format("{:.0f}B", b);
}

// llama-bench's size and params columns.
std::string size_column(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  return bytes < (1ull << 30) ? fmt::format("{:.2f} MiB", b / 1024.0 / 1024.0)
                              : fmt::format("{:.2f} GiB", b / 1024.0 / 1024.0 / 1024.0);
}
std::string params_column(uint64_t n) {
  return n < 1000000000ull ? fmt::format("{:.2f} M", static_cast<double>(n) / 1e6)
                           : fmt::format("{:.2f} B", static_cast<double>(n) / 1e9);
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Runs one test as llama-bench does: a short warm-up, then `reps` timed runs from an empty cache.
void run_test(CpuDecoder& decoder, BenchTest& test, int reps, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(decoder.n_vocab()) - 1);
  auto random_tokens = [&](int n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int32_t& id : ids) id = token(rng);
    return ids;
  };
  decoder.reset();
  decoder.eval(random_tokens(std::min(2, std::max(test.n_prompt, 1))));
  test.test_time = utc_now();
  for (int r = 0; r < reps; ++r) {
    decoder.reset();
    const std::vector<int32_t> ids = random_tokens(std::max(test.n_prompt, test.n_gen));
    const auto start = std::chrono::steady_clock::now();
    if (test.n_prompt > 0) {
      decoder.eval(ids);
    } else {
      for (int i = 0; i < test.n_gen; ++i) decoder.eval(std::span<const int32_t>(&ids[static_cast<size_t>(i)], 1));
    }
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    test.samples_ns.push_back(static_cast<uint64_t>(std::max<int64_t>(ns, 1)));
  }
}

struct MemoryBandwidth {
  double copy_gbps;  // bytes read plus bytes written per second, as STREAM counts a copy
  double read_gbps;
};

// Best of several passes over two 256 MiB buffers, far larger than any cache, split over the
// threads the benchmark uses. The read pass prefetches as the decoder does, so that the two are
// compared on equal terms.
MemoryBandwidth measure_memory_bandwidth(int threads) {
  constexpr size_t kBytes = 256u << 20;
  constexpr size_t kChunk = 1u << 20;
  constexpr int kPasses = 5;
  std::vector<uint64_t> src(kBytes / 8), dst(kBytes / 8);
  for (size_t i = 0; i < src.size(); ++i) src[i] = i;
  std::fill(dst.begin(), dst.end(), 0);
  ThreadPool pool(threads);
  const int64_t chunks = static_cast<int64_t>(kBytes / kChunk);
  const size_t words = kChunk / 8;
  MemoryBandwidth best{0.0, 0.0};
  std::vector<uint64_t> sums(static_cast<size_t>(chunks));
  for (int pass = 0; pass < kPasses; ++pass) {
    auto start = std::chrono::steady_clock::now();
    pool.parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
      std::memcpy(dst.data() + begin * words, src.data() + begin * words, static_cast<size_t>(end - begin) * kChunk);
    });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best.copy_gbps = std::max(best.copy_gbps, 2.0 * kBytes / s / 1e9);

    start = std::chrono::steady_clock::now();
    pool.parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const uint64_t* p = dst.data() + c * words;
        uint64_t a = 0, b = 0, d = 0, e = 0;
        for (size_t i = 0; i < words; i += 4) {
          // A page ahead, as the decoder's matmul prefetches its weights.
          if (i % 8 == 0) __builtin_prefetch(p + i + 512);
          a += p[i];
          b += p[i + 1];
          d += p[i + 2];
          e += p[i + 3];
        }
        sums[static_cast<size_t>(c)] = a + b + d + e;
      }
    });
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best.read_gbps = std::max(best.read_gbps, kBytes / s / 1e9);
  }
  // The sums are checked so that the reads cannot be optimized away.
  const uint64_t expected = (src.size() - 1) * src.size() / 2;
  if (std::accumulate(sums.begin(), sums.end(), uint64_t{0}) != expected)
    throw std::logic_error("bench: memory read check failed");
  return best;
}

int bench(const BenchOptions& o) {
  if (o.output != "md" && o.output != "json")
    throw CLI::ValidationError(fmt::format("-o: '{}' is not md or json", o.output));
  if (o.n_prompt == 0 && o.n_gen == 0) throw CLI::ValidationError("-p and -n are both 0: nothing to measure");
  const auto kv_type = kv_cache_type_from_name(o.kv_type);
  if (!kv_type) throw CLI::ValidationError(fmt::format("--kv-type: '{}' is not f16 or f32", o.kv_type));

  const GgufFile file = GgufFile::open(o.model);
  const uint32_t n_ctx = static_cast<uint32_t>(std::max({o.n_prompt, o.n_gen, 2}));
  CpuDecoder decoder(file, {n_ctx, o.threads, *kv_type});
  const ModelDesc desc = ModelDesc::from_gguf(file);
  const std::string model_type =
      fmt::format("{} {} {}", desc.hparams().arch, size_label(desc.n_params()), ftype_display_name(file, desc));

  std::vector<BenchTest> tests;
  if (o.n_prompt > 0) tests.push_back({o.n_prompt, 0, {}, {}});
  if (o.n_gen > 0) tests.push_back({0, o.n_gen, {}, {}});

  const bool md = o.output == "md";
  // llama-bench's columns: width, negative for left-aligned text.
  const std::pair<const char*, int> columns[] = {{"model", -30}, {"size", 10}, {"params", 10}, {"backend", -10},
                                                 {"threads", 7}, {"test", 15}, {"t/s", 20}};
  if (md) {
    std::string header = "|", rule = "|";
    for (const auto& [name, width] : columns) {
      header += width < 0 ? fmt::format(" {:<{}} |", name, -width) : fmt::format(" {:>{}} |", name, width);
      rule += fmt::format(" {}{} |", std::string(static_cast<size_t>(std::abs(width) - 1), '-'), width > 0 ? ":" : "-");
    }
    fmt::print("{}\n{}\n", header, rule);
    std::fflush(stdout);
  }

  std::mt19937 rng(1234);
  nlohmann::json results = nlohmann::json::array();
  std::optional<MemoryBandwidth> bandwidth;
  if (o.membw) bandwidth = measure_memory_bandwidth(decoder.threads());
  const uint64_t weight_bytes = decoder.weight_bytes_per_token();
  for (BenchTest& test : tests) {
    run_test(decoder, test, o.reps, rng);
    const std::vector<double> ts = test.samples_ts();
    std::vector<double> ns(test.samples_ns.begin(), test.samples_ns.end());
    if (md) {
      // The "±" takes two bytes, hence the wider field (as in llama-bench).
      fmt::print("| {:<30} | {:>10} | {:>10} | {:<10} | {:>7} | {:>15} | {:>21} |\n", model_type,
                 size_column(desc.data_bytes()), params_column(desc.n_params()), "CPU", decoder.threads(), test.name(),
                 fmt::format("{:.2f} ± {:.2f}", mean(ts), stddev(ts)));
      std::fflush(stdout);
    }
    nlohmann::json j;
    j["model_filename"] = o.model;
    j["model_type"] = model_type;
    j["model_size"] = desc.data_bytes();
    j["model_n_params"] = desc.n_params();
    j["backends"] = "CPU";
    j["n_threads"] = decoder.threads();
    j["type_k"] = kv_cache_type_name(decoder.kv_type());
    j["type_v"] = kv_cache_type_name(decoder.kv_type());
    j["n_prompt"] = test.n_prompt;
    j["n_gen"] = test.n_gen;
    j["test_time"] = test.test_time;
    j["avg_ns"] = static_cast<uint64_t>(mean(ns));
    j["stddev_ns"] = static_cast<uint64_t>(stddev(ns));
    j["avg_ts"] = mean(ts);
    j["stddev_ts"] = stddev(ts);
    j["samples_ns"] = test.samples_ns;
    j["samples_ts"] = ts;
    if (test.n_gen > 0) {
      j["weight_bytes_per_token"] = weight_bytes;
      j["weight_gbps"] = mean(ts) * static_cast<double>(weight_bytes) / 1e9;
      if (bandwidth) {
        j["mem_copy_gbps"] = bandwidth->copy_gbps;
        j["mem_read_gbps"] = bandwidth->read_gbps;
        j["roofline_copy"] = mean(ts) * static_cast<double>(weight_bytes) / 1e9 / bandwidth->copy_gbps;
      }
    }
    results.push_back(j);
  }

  if (!md) {
    fmt::print("{}\n", results.dump(2));
    return kExitOk;
  }
  if (bandwidth) {
    fmt::print("\nmemory bandwidth ({} threads): copy {:.2f} GB/s (bytes read + written), read {:.2f} GB/s\n",
               decoder.threads(), bandwidth->copy_gbps, bandwidth->read_gbps);
    for (const BenchTest& test : tests) {
      if (test.n_gen == 0) continue;
      const double gbps = mean(test.samples_ts()) * static_cast<double>(weight_bytes) / 1e9;
      fmt::print(
          "{}: {:.1f} MiB of weights per token, {:.2f} GB/s = {:.0f}% of copy bandwidth, {:.0f}% of read bandwidth\n",
          test.name(), static_cast<double>(weight_bytes) / (1 << 20), gbps, 100.0 * gbps / bandwidth->copy_gbps,
          100.0 * gbps / bandwidth->read_gbps);
    }
  }
  fmt::print("\nbuild: llmc 0.1.0\n");
  return kExitOk;
}

}  // namespace

void register_bench(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* s = app.add_subcommand("bench", "Measure prompt and generation speed on the CPU (llama-bench's output)");
  s->add_option("model", o->model, "GGUF model file")->required();
  s->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens of the pp test (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  s->add_option("-n,--n-gen", o->n_gen, "Generated tokens of the tg test (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  s->add_option("-r,--repetitions", o->reps, "Timed runs per test")->capture_default_str()->check(CLI::Range(1, 1000));
  s->add_option("-o,--output", o->output, "Output format: md or json")->capture_default_str();
  s->add_option("-t,--threads", o->threads, "Threads (default: all)")->check(CLI::Range(1, 1024));
  s->add_option("--kv-type", o->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  s->add_flag("--membw", o->membw, "Also measure memory bandwidth and report generation against it");
  s->callback([o, &exit_code] { exit_code = bench(*o); });
}

}  // namespace llmc::cli
