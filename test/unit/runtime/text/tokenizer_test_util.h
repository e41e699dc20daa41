// Small tokenizer GGUFs for the tests: a SentencePiece vocabulary with byte tokens and a few
// special tokens, and a GPT-2 style byte-level one, each written to a scratch file.
#pragma once

#include <string>
#include <vector>

#include "../gguf_test_util.h"
#include "llmc/gguf.h"
#include "llmc/gguf_writer.h"
#include "llmc/tokenizer.h"
#include "unicode_text.h"

namespace llmc::test {

struct TokenList {
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<int32_t> types;

  int32_t add(const std::string& text, float score = 0.0f, TokenType type = TokenType::Normal) {
    texts.push_back(text);
    scores.push_back(score);
    types.push_back(static_cast<int32_t>(type));
    return static_cast<int32_t>(texts.size() - 1);
  }
  int32_t id(const std::string& text) const {
    for (size_t i = 0; i < texts.size(); ++i)
      if (texts[i] == text) return static_cast<int32_t>(i);
    ADD_FAILURE() << "no token '" << text << "'";
    return -1;
  }
};

// <unk> <s> </s>, the 256 <0xXX> byte tokens (unless `bytes` is false), then words whose scores
// make merge order matter, and a control and a user-defined token.
inline TokenList spm_tokens(bool bytes = true) {
  TokenList t;
  t.add("<unk>", 0, TokenType::Unknown);
  t.add("<s>", 0, TokenType::Control);
  t.add("</s>", 0, TokenType::Control);
  if (bytes) {
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) t.add(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">", 0, TokenType::Byte);
  }
  const std::string sp = "\xE2\x96\x81";  // U+2581
  t.add(sp, -5);
  for (const char* c : {"a", "b", "c", "d", "x"}) t.add(c, -6);
  t.add(sp + "a", -3);
  t.add("ab", -2);
  t.add("bc", -1);
  t.add("abc", -0.5f);
  t.add(sp + "ab", -1.5f);
  t.add(sp + "d", -4);
  t.add(sp + sp, -4);
  t.add("<|im_end|>", 0, TokenType::Control);
  t.add("<tool>", 0, TokenType::UserDefined);
  return t;
}

inline void set_tokens(GgufWriter& w, const TokenList& t) {
  w.set_array_strings("tokenizer.ggml.tokens", t.texts);
  w.set_array_f32("tokenizer.ggml.scores", t.scores);
  w.set_array_i32("tokenizer.ggml.token_type", t.types);
}

inline GgufWriter spm_writer(const TokenList& t) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.ggml.model", "llama");
  set_tokens(w, t);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);
  w.set_u32("tokenizer.ggml.unknown_token_id", 0);
  return w;
}

// GPT-2's spelling of a byte string: one printable character per byte.
inline std::string byte_spelling(const std::string& bytes) {
  std::string out;
  for (char c : bytes) text::append_utf8(out, text::byte_to_char(static_cast<uint8_t>(c)));
  return out;
}

// All 256 byte characters, merged words built from `merges` ("left right" in raw bytes, in rank
// order), then <|endoftext|> as a control token.
inline TokenList bpe_tokens(const std::vector<std::pair<std::string, std::string>>& merges,
                            std::vector<std::string>& merge_entries) {
  TokenList t;
  for (int b = 0; b < 256; ++b) t.add(byte_spelling(std::string(1, static_cast<char>(b))));
  for (const auto& [left, right] : merges) {
    merge_entries.push_back(byte_spelling(left) + " " + byte_spelling(right));
    t.add(byte_spelling(left + right));
  }
  t.add("<|endoftext|>", 0, TokenType::Control);
  return t;
}

inline GgufWriter bpe_writer(const TokenList& t, const std::vector<std::string>& merges, const std::string& pre) {
  GgufWriter w;
  w.set_string("general.architecture", "gpt2");
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_array_strings("tokenizer.ggml.tokens", t.texts);
  w.set_array_i32("tokenizer.ggml.token_type", t.types);
  w.set_array_strings("tokenizer.ggml.merges", merges);
  const auto eot = static_cast<uint32_t>(t.texts.size() - 1);
  w.set_u32("tokenizer.ggml.bos_token_id", eot);
  w.set_u32("tokenizer.ggml.eos_token_id", eot);
  return w;
}

inline Tokenizer load(const ScratchDir& dir, const GgufWriter& w, const std::string& name = "vocab.gguf") {
  w.write(dir.file(name), GgufWriter::Fill::None);
  return Tokenizer::from_gguf(GgufFile::open(dir.file(name)));
}

}  // namespace llmc::test
