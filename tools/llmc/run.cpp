// `llmc run MODEL.gguf -p TEXT`: generate text on the CPU, streaming it to stdout; timings go to
// stderr. `--prompt-tokens` feeds ids as given, `--json` prints a summary instead of the text and
// `--logits-out` keeps the logits each generated token was chosen from.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "llmc/forward.h"
#include "llmc/gguf.h"
#include "llmc/npy.h"
#include "llmc/sampler.h"
#include "llmc/tokenizer.h"

namespace llmc::cli {
namespace {

struct RunOptions {
  std::string model;
  std::string prompt;
  std::vector<int32_t> prompt_tokens;
  int n_predict = 128;
  uint32_t ctx = 0;
  int threads = 0;
  std::string kv_type = "f16";
  float temperature = 0.8f;
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int32_t repeat_last_n = 64;
  std::optional<uint64_t> seed;
  bool json = false;
  std::string logits_out;
};

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}
double per_second(size_t count, double ms) { return ms > 0.0 ? 1000.0 * static_cast<double>(count) / ms : 0.0; }

// Bytes at the end of `s` that start a UTF-8 character not complete yet.
size_t incomplete_utf8_tail(const std::string& s) {
  for (size_t back = 1; back <= std::min<size_t>(3, s.size()); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

// Generated text as it grows, printed to stdout when `echo`. The text of prompt + generated ids is
// decoded again each step, so that detokenizer rules that look at neighbours (SentencePiece's
// leading space, spaces before punctuation) come out as in a one-shot decode; only the new bytes
// are printed, less an unfinished UTF-8 character until it completes or generation ends. Ids past
// the tokenizer's vocabulary (models whose output matrix has padding rows) have no text.
class TextStream {
 public:
  TextStream(const Tokenizer& tokenizer, const std::vector<int32_t>& prompt, bool echo)
      : tokenizer_(tokenizer),
        ids_(with_text(tokenizer, prompt)),
        prompt_bytes_(tokenizer_.decode(ids_).size()),
        printed_(prompt_bytes_),
        echo_(echo) {}

  void add(int32_t id) {
    if (id >= tokenizer_.n_vocab()) return;
    ids_.push_back(id);
    text_ = tokenizer_.decode(ids_);
    print_up_to(text_.size() - incomplete_utf8_tail(text_));
  }

  // Prints what was held back at the very end.
  void finish() { print_up_to(text_.size()); }

  // Generated text so far: everything after the prompt's text.
  std::string generated() const { return text_.size() > prompt_bytes_ ? text_.substr(prompt_bytes_) : ""; }

 private:
  static std::vector<int32_t> with_text(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
    std::vector<int32_t> kept;
    for (int32_t id : ids)
      if (id < tokenizer.n_vocab()) kept.push_back(id);
    return kept;
  }

  void print_up_to(size_t end) {
    if (end <= printed_) return;
    if (echo_) {
      std::fwrite(text_.data() + printed_, 1, end - printed_, stdout);
      std::fflush(stdout);
    }
    printed_ = end;
  }

  const Tokenizer& tokenizer_;
  std::vector<int32_t> ids_;
  size_t prompt_bytes_;
  size_t printed_;
  bool echo_;
  std::string text_;
};

int run(const RunOptions& o) {
  if (o.prompt.empty() == o.prompt_tokens.empty())
    throw CLI::ValidationError("give exactly one of -p/--prompt and --prompt-tokens");
  const auto kv_type = kv_cache_type_from_name(o.kv_type);
  if (!kv_type) throw CLI::ValidationError(fmt::format("--kv-type: '{}' is not f16 or f32", o.kv_type));

  const auto load_start = Clock::now();
  const GgufFile file = GgufFile::open(o.model);
  std::optional<Tokenizer> tokenizer;
  if (file.find("tokenizer.ggml.tokens")) {
    tokenizer.emplace(Tokenizer::from_gguf(file));
  } else if (!o.prompt.empty()) {
    throw GgufError(
        GgufErrorKind::MissingKey,
        fmt::format("{}: no vocabulary (metadata key 'tokenizer.ggml.tokens' is absent); give the prompt as "
                    "--prompt-tokens",
                    o.model));
  }
  CpuDecoder decoder(file, {o.ctx, o.threads, *kv_type});
  const double load_ms = ms_since(load_start);

  const std::vector<int32_t> prompt = o.prompt.empty() ? o.prompt_tokens : tokenizer->encode(o.prompt, true, true);
  if (prompt.empty()) throw CLI::ValidationError("-p: the prompt encodes to no tokens");
  for (int32_t id : prompt)
    if (id < 0 || static_cast<uint32_t>(id) >= decoder.n_vocab())
      throw CLI::ValidationError(fmt::format("{}: token {} is outside the vocabulary [0, {})",
                                             o.prompt.empty() ? "--prompt-tokens" : "-p", id, decoder.n_vocab()));
  if (prompt.size() > decoder.n_ctx())
    throw CLI::ValidationError(
        fmt::format("the prompt has {} tokens but the context holds {} (--ctx)", prompt.size(), decoder.n_ctx()));

  SamplerOptions so;
  so.temperature = o.temperature;
  so.top_k = o.top_k;
  so.top_p = o.top_p;
  so.min_p = o.min_p;
  so.repeat_penalty = o.repeat_penalty;
  so.repeat_last_n = o.repeat_last_n;
  so.seed = o.seed ? *o.seed : std::random_device{}();
  Sampler sampler(so);
  for (int32_t id : prompt) sampler.accept(id);

  std::optional<NpyRowWriter> logits_file;
  if (!o.logits_out.empty()) logits_file.emplace(o.logits_out, decoder.n_vocab());
  std::optional<TextStream> stream;
  if (tokenizer) stream.emplace(*tokenizer, prompt, !o.json);

  const auto prompt_start = Clock::now();
  std::span<const float> logits = decoder.eval(prompt);
  const double prompt_ms = ms_since(prompt_start);

  std::vector<int32_t> generated;
  std::string stop = "length";
  const auto gen_start = Clock::now();
  for (int i = 0; i < o.n_predict; ++i) {
    if (logits_file) logits_file->append_row(logits);
    const int32_t id = sampler.sample(logits);
    sampler.accept(id);
    generated.push_back(id);
    if (stream) {
      stream->add(id);
    } else if (!o.json) {
      fmt::print("{}{}", generated.size() > 1 ? " " : "", id);
      std::fflush(stdout);
    }
    if (tokenizer && id < tokenizer->n_vocab() && tokenizer->is_eog(id)) {
      stop = "eog";
      break;
    }
    if (i + 1 == o.n_predict) break;
    if (decoder.n_past() == decoder.n_ctx()) {
      stop = "context";
      break;
    }
    logits = decoder.eval(std::span<const int32_t>(&generated.back(), 1));
  }
  const double gen_ms = ms_since(gen_start);
  if (stream) stream->finish();
  if (logits_file) logits_file->commit();
  if (!o.json) {
    fmt::print("\n");
    std::fflush(stdout);
  }

  fmt::print(stderr, "llmc: {}: {} layers, ctx {}, kv {}, {} threads, seed {}\n", o.model, decoder.hparams().n_layer,
             decoder.n_ctx(), kv_cache_type_name(decoder.kv_type()), decoder.threads(), so.seed);
  fmt::print(stderr, "llmc: load {:.1f} ms\n", load_ms);
  fmt::print(stderr, "llmc: prompt {} tokens in {:.1f} ms ({:.2f} t/s)\n", prompt.size(), prompt_ms,
             per_second(prompt.size(), prompt_ms));
  fmt::print(stderr, "llmc: generation {} tokens in {:.1f} ms ({:.2f} t/s), stop: {}\n", generated.size(), gen_ms,
             per_second(generated.size(), gen_ms), stop);

  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["arch"] = decoder.hparams().arch;
    j["n_ctx"] = decoder.n_ctx();
    j["threads"] = decoder.threads();
    j["kv_type"] = kv_cache_type_name(decoder.kv_type());
    j["seed"] = so.seed;
    j["prompt_tokens"] = prompt;
    j["tokens"] = generated;
    if (stream) j["text"] = stream->generated();
    j["stop"] = stop;
    j["timings"] = {{"load_ms", load_ms},
                    {"prompt_ms", prompt_ms},
                    {"prompt_tps", per_second(prompt.size(), prompt_ms)},
                    {"gen_ms", gen_ms},
                    {"gen_tps", per_second(generated.size(), gen_ms)}};
    fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return kExitOk;
}

}  // namespace

void register_run(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* s = app.add_subcommand("run", "Generate text with a model on the CPU");
  s->add_option("model", o->model, "GGUF model file")->required();
  s->add_option("-p,--prompt", o->prompt, "Prompt text (tokenized with BOS as the model asks)");
  s->add_option("--prompt-tokens", o->prompt_tokens, "Prompt as token ids, used as given (no BOS): 1,2,3")
      ->delimiter(',');
  s->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 24));
  s->add_option("--ctx", o->ctx, "Context length (default: training context, at most 4096)")
      ->check(CLI::Range(1u, 1u << 24));
  s->add_option("-t,--threads", o->threads, "Threads (default: all)")->check(CLI::Range(1, 1024));
  s->add_option("--kv-type", o->kv_type, "KV cache type: f16 or f32")->capture_default_str();
  s->add_option("--temp", o->temperature, "Temperature; 0 is greedy")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 100.0f));
  s->add_option("--top-k", o->top_k, "Top-k cut; 0 is off")->capture_default_str()->check(CLI::Range(0, 1 << 30));
  s->add_option("--top-p", o->top_p, "Top-p cut; 1 is off")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  s->add_option("--min-p", o->min_p, "Min-p cut; 0 is off")->capture_default_str()->check(CLI::Range(0.0f, 1.0f));
  s->add_option("--repeat-penalty", o->repeat_penalty, "Repetition penalty; 1 is off")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 100.0f));
  s->add_option("--repeat-last-n", o->repeat_last_n, "Tokens the penalty looks back at; -1 is all")
      ->capture_default_str()
      ->check(CLI::Range(-1, 1 << 30));
  s->add_option("--seed", o->seed, "Random seed (default: a random one, printed on stderr)");
  s->add_flag("--json", o->json, "Print a JSON summary (prompt_tokens, tokens, text, timings) instead of the text");
  s->add_option("--logits-out", o->logits_out,
                "Write the logits of each generated step as float32 [steps, n_vocab] .npy");
  s->callback([o, &exit_code] { exit_code = run(*o); });
}

}  // namespace llmc::cli
