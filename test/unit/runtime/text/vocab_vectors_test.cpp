// llama.cpp's tokenizer test vectors (test/data/vocab): every .inp string must encode to exactly
// the ids of its .out line, with no BOS and special tokens not parsed, as llama.cpp's
// test-tokenizer-0 checks.
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmc/gguf.h"
#include "llmc/tokenizer.h"

namespace llmc {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string vocab_path(const std::string& name) { return std::string(LLMC_VOCAB_DIR) + "/ggml-vocab-" + name + ".gguf"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The strings of a .inp file: the text between "\n__ggml_vocab_test__\n" separators (the first
// string starts the file; the file ends with a separator).
std::vector<std::string> read_inputs(const std::string& path) {
  const std::string raw = read_file(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  for (size_t pos = 0; pos < raw.size();) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      out.push_back(raw.substr(pos));
      break;
    }
    out.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return out;
}

// One line of space-separated ids per string.
std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<std::vector<int32_t>> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ids(line);
    out.emplace_back();
    for (int32_t id; ids >> id;) out.back().push_back(id);
  }
  return out;
}

std::string ids_text(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  for (size_t i = 0; i < ids.size(); ++i) s << (i ? " " : "") << ids[i];
  return s.str();
}

// Byte-level vocabularies that llama.cpp cleans up on decoding cannot give back a space before
// these; the round trip is only promised for strings without them.
bool cleanup_may_change(const std::string& s) {
  for (const char* seq : {" ?", " !", " .", " ,", " '"})
    if (s.find(seq) != std::string::npos) return true;
  return false;
}

struct VocabCase {
  const char* name;
  TokenizerKind kind;
  const char* pre;
};

class VocabVectors : public ::testing::TestWithParam<VocabCase> {};

TEST_P(VocabVectors, EncodeMatchesLlamaCpp) {
  const VocabCase& c = GetParam();
  const auto t0 = Clock::now();
  const GgufFile file = GgufFile::open(vocab_path(c.name));
  const double open_ms = ms_since(t0);
  const auto t1 = Clock::now();
  const Tokenizer tok = Tokenizer::from_gguf(file);
  const double load_ms = ms_since(t1);
  EXPECT_EQ(tok.kind(), c.kind);
  EXPECT_EQ(tok.pre_tokenizer(), c.pre);

  const std::vector<std::string> inputs = read_inputs(vocab_path(c.name) + ".inp");
  const std::vector<std::vector<int32_t>> expected = read_outputs(vocab_path(c.name) + ".out");
  ASSERT_EQ(inputs.size(), expected.size());
  ASSERT_GT(inputs.size(), 40u);

  const auto t2 = Clock::now();
  std::vector<std::vector<int32_t>> got;
  for (const std::string& s : inputs) got.push_back(tok.encode(s, false, false));
  const double encode_ms = ms_since(t2);

  size_t passed = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(ids_text(got[i]), ids_text(expected[i])) << "string " << i << ": '" << inputs[i] << "'";
    passed += got[i] == expected[i];
  }
  std::cout << "[ vectors  ] " << c.name << ": " << passed << "/" << inputs.size() << " strings; open " << open_ms
            << " ms, tokenizer " << load_ms << " ms (" << tok.n_vocab() << " tokens), encode all " << encode_ms
            << " ms\n";
  EXPECT_LT(encode_ms, 1000.0);
}

TEST_P(VocabVectors, DecodeGivesTheTextBack) {
  const VocabCase& c = GetParam();
  const GgufFile file = GgufFile::open(vocab_path(c.name));
  const Tokenizer tok = Tokenizer::from_gguf(file);
  const bool cleans_up = c.kind == TokenizerKind::Bpe && std::string(c.pre) != "deepseek-llm" &&
                         std::string(c.pre) != "deepseek-coder";
  size_t checked = 0;
  for (const std::string& s : read_inputs(vocab_path(c.name) + ".inp")) {
    if (cleans_up && cleanup_may_change(s)) continue;
    EXPECT_EQ(tok.decode(tok.encode(s, false, false)), s);
    EXPECT_EQ(tok.decode(tok.encode(s, true, false)), s);
    ++checked;
  }
  EXPECT_GT(checked, 30u);
}

// Arbitrary bytes, and text full of special-token fragments, never break encoding.
TEST_P(VocabVectors, EncodesAnyBytes) {
  const GgufFile file = GgufFile::open(vocab_path(GetParam().name));
  const Tokenizer tok = Tokenizer::from_gguf(file);
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"<s>", "</s>", "<|endoftext|>", "<unk>", "<|", "|>", "\xE2\x96\x81", " ", "\n"};
  for (int iter = 0; iter < 300; ++iter) {
    std::string s;
    const size_t n = rng() % 48;
    for (size_t k = 0; k < n; ++k) {
      if (rng() % 3 == 0) {
        s += pieces[rng() % pieces.size()];
      } else {
        s += static_cast<char>(rng() % 256);
      }
    }
    for (const bool parse_special : {false, true}) {
      const std::vector<int32_t> ids = tok.encode(s, true, parse_special);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.n_vocab()) << id;
      EXPECT_NO_THROW(tok.decode(ids, parse_special));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, VocabVectors,
                         ::testing::Values(VocabCase{"llama-spm", TokenizerKind::Spm, ""},
                                           VocabCase{"phi-3", TokenizerKind::Spm, ""},
                                           VocabCase{"gpt-2", TokenizerKind::Bpe, "gpt-2"},
                                           VocabCase{"deepseek-llm", TokenizerKind::Bpe, "deepseek-llm"},
                                           VocabCase{"deepseek-coder", TokenizerKind::Bpe, "deepseek-coder"},
                                           VocabCase{"falcon", TokenizerKind::Bpe, "falcon"},
                                           VocabCase{"mpt", TokenizerKind::Bpe, "mpt"},
                                           VocabCase{"refact", TokenizerKind::Bpe, "refact"}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

// Baichuan ships no test vectors; it must load and give llama-spm's strings back.
TEST(VocabVectors, BaichuanLoadsAndRoundTrips) {
  const GgufFile file = GgufFile::open(vocab_path("baichuan"));
  const Tokenizer tok = Tokenizer::from_gguf(file);
  EXPECT_EQ(tok.kind(), TokenizerKind::Spm);
  EXPECT_EQ(tok.n_vocab(), 64000);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_TRUE(tok.is_eog(2));
  for (const std::string& s : read_inputs(vocab_path("llama-spm") + ".inp")) {
    const std::vector<int32_t> ids = tok.encode(s, true, false);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids[0], 1);
    EXPECT_EQ(tok.decode(ids), s);
  }
}

}  // namespace
}  // namespace llmc
