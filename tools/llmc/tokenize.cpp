// `llmc tokenize MODEL.gguf -p TEXT`: the token ids of a text, separated by spaces. Needs only the
// tokenizer metadata, so vocabulary-only GGUFs work.
#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "llmc/gguf.h"
#include "llmc/tokenizer.h"

namespace llmc::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string prompt;
  bool no_bos = false;
};

int tokenize(const TokenizeOptions& o) {
  const GgufFile file = GgufFile::open(o.model);
  const Tokenizer tokenizer = Tokenizer::from_gguf(file);
  // As llama.cpp's tokenizer tool: special tokens are parsed, and --no-bos turns off the BOS (and
  // EOS) the vocabulary asks for.
  const std::vector<int32_t> ids = tokenizer.encode(o.prompt, !o.no_bos, true);
  fmt::print("{}\n", fmt::join(ids, " "));
  return kExitOk;
}

}  // namespace

void register_tokenize(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* s = app.add_subcommand("tokenize", "Print the token ids of a text");
  s->add_option("model", o->model, "GGUF file with a vocabulary (tokenizer.ggml.*)")->required();
  s->add_option("-p,--prompt", o->prompt, "Text to tokenize")->required();
  s->add_flag("--no-bos", o->no_bos, "Do not add the BOS (or EOS) token the vocabulary asks for");
  s->callback([o, &exit_code] { exit_code = tokenize(*o); });
}

}  // namespace llmc::cli
