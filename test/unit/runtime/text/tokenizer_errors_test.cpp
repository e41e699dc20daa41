// Tokenizer metadata that llmc refuses: each error has its kind and names the file, the key and
// what is wrong with it.
#include <functional>

#include <gtest/gtest.h>

#include "tokenizer_test_util.h"

namespace llmc {
namespace {

using test::ScratchDir;

// Loads the tokenizer of `w` and expects a GgufError of `kind` whose message holds the file
// name and every one of `parts`.
void expect_error(const GgufWriter& w, GgufErrorKind kind, std::initializer_list<std::string> parts) {
  ScratchDir dir;
  const std::string path = dir.file("bad.gguf");
  w.write(path, GgufWriter::Fill::None);
  const GgufFile file = GgufFile::open(path);
  try {
    Tokenizer::from_gguf(file);
    ADD_FAILURE() << "loaded without an error";
  } catch (const GgufError& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

GgufWriter spm_with(const std::function<void(GgufWriter&)>& edit, const test::TokenList& t = test::spm_tokens()) {
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "llama");
  edit(w);
  test::set_tokens(w, t);
  return w;
}

TEST(TokenizerErrors, UnsupportedTokenizerModels) {
  for (const char* model : {"bert", "t5", "rwkv", "none", "no_vocab", "plamo2", "sentencepiece"}) {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", model);
    test::set_tokens(w, test::spm_tokens());
    expect_error(w, GgufErrorKind::Unsupported, {"tokenizer.ggml.model", std::string("'") + model + "'"});
  }
  GgufWriter bert;
  bert.set_string("tokenizer.ggml.model", "bert");
  test::set_tokens(bert, test::spm_tokens());
  expect_error(bert, GgufErrorKind::Unsupported, {"WordPiece"});
}

TEST(TokenizerErrors, MissingKeys) {
  GgufWriter no_model;
  test::set_tokens(no_model, test::spm_tokens());
  expect_error(no_model, GgufErrorKind::MissingKey, {"tokenizer.ggml.model"});

  GgufWriter no_tokens;
  no_tokens.set_string("tokenizer.ggml.model", "llama");
  expect_error(no_tokens, GgufErrorKind::MissingKey, {"tokenizer.ggml.tokens"});

  std::vector<std::string> merges;
  const test::TokenList t = test::bpe_tokens({{"a", "b"}}, merges);
  GgufWriter no_merges;
  no_merges.set_string("tokenizer.ggml.model", "gpt2");
  no_merges.set_array_strings("tokenizer.ggml.tokens", t.texts);
  expect_error(no_merges, GgufErrorKind::MissingKey, {"tokenizer.ggml.merges"});
}

TEST(TokenizerErrors, WrongTypes) {
  GgufWriter model_not_string;
  model_not_string.set_u32("tokenizer.ggml.model", 1);
  expect_error(model_not_string, GgufErrorKind::BadKeyType, {"tokenizer.ggml.model"});

  GgufWriter tokens_not_strings;
  tokens_not_strings.set_string("tokenizer.ggml.model", "llama");
  tokens_not_strings.set_array_i32("tokenizer.ggml.tokens", {1, 2, 3});
  expect_error(tokens_not_strings, GgufErrorKind::BadKeyType, {"tokenizer.ggml.tokens", "strings"});

  const test::TokenList t = test::spm_tokens();
  GgufWriter scores_not_numbers;
  scores_not_numbers.set_string("tokenizer.ggml.model", "llama");
  scores_not_numbers.set_array_strings("tokenizer.ggml.tokens", t.texts);
  scores_not_numbers.set_array_strings("tokenizer.ggml.scores", t.texts);
  expect_error(scores_not_numbers, GgufErrorKind::BadKeyType, {"tokenizer.ggml.scores", "numbers"});
  expect_error(spm_with([](GgufWriter& w) { w.set_string("tokenizer.ggml.add_bos_token", "yes"); }),
               GgufErrorKind::BadKeyType, {"tokenizer.ggml.add_bos_token"});
  expect_error(spm_with([](GgufWriter& w) { w.set_string("tokenizer.ggml.bos_token_id", "1"); }),
               GgufErrorKind::BadKeyType, {"tokenizer.ggml.bos_token_id"});
}

TEST(TokenizerErrors, ArrayLengthsMustMatchTheTokenList) {
  const test::TokenList t = test::spm_tokens();
  std::vector<float> short_scores(t.scores.begin(), t.scores.end() - 1);
  GgufWriter scores;
  scores.set_string("tokenizer.ggml.model", "llama");
  scores.set_array_strings("tokenizer.ggml.tokens", t.texts);
  scores.set_array_f32("tokenizer.ggml.scores", short_scores);
  expect_error(scores, GgufErrorKind::BadKeyType,
               {"tokenizer.ggml.scores", std::to_string(short_scores.size()), std::to_string(t.texts.size())});

  std::vector<int32_t> long_types = t.types;
  long_types.push_back(1);
  GgufWriter types;
  types.set_string("tokenizer.ggml.model", "llama");
  types.set_array_strings("tokenizer.ggml.tokens", t.texts);
  types.set_array_i32("tokenizer.ggml.token_type", long_types);
  expect_error(types, GgufErrorKind::BadKeyType, {"tokenizer.ggml.token_type", std::to_string(long_types.size())});
}

TEST(TokenizerErrors, SpecialTokenIdsOutsideTheVocabulary) {
  const auto n = static_cast<uint32_t>(test::spm_tokens().texts.size());
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                          "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
                          "tokenizer.ggml.eot_token_id", "tokenizer.ggml.seperator_token_id"}) {
    expect_error(spm_with([&](GgufWriter& w) { w.set_u32(key, n); }), GgufErrorKind::LimitExceeded,
                 {key, std::to_string(n)});
  }
  expect_error(spm_with([](GgufWriter& w) { w.set_i32("tokenizer.ggml.eos_token_id", -2); }),
               GgufErrorKind::BadKeyType, {"tokenizer.ggml.eos_token_id"});
}

// Converters write -1 for a token the model does not have; that means "none", not an error.
TEST(TokenizerErrors, MinusOneMeansNoSuchToken) {
  ScratchDir dir;
  const Tokenizer tok = test::load(dir, spm_with([](GgufWriter& w) { w.set_i32("tokenizer.ggml.padding_token_id", -1); }));
  EXPECT_EQ(tok.pad(), kNoToken);
}

TEST(TokenizerErrors, AddBosWithoutBos) {
  std::vector<std::string> merges;
  const test::TokenList t = test::bpe_tokens({{"a", "b"}}, merges);
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_array_strings("tokenizer.ggml.tokens", t.texts);
  w.set_array_strings("tokenizer.ggml.merges", merges);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  expect_error(w, GgufErrorKind::MissingKey, {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id"});
}

TEST(TokenizerErrors, BadTokenLists) {
  GgufWriter empty;
  empty.set_string("tokenizer.ggml.model", "llama");
  empty.set_array_strings("tokenizer.ggml.tokens", {});
  expect_error(empty, GgufErrorKind::LimitExceeded, {"tokenizer.ggml.tokens", "empty"});

  test::TokenList dup = test::spm_tokens();
  dup.add("abc");
  expect_error(spm_with([](GgufWriter&) {}, dup), GgufErrorKind::BadKeyType,
               {"tokenizer.ggml.tokens", "'abc'", std::to_string(dup.texts.size() - 1)});
}

TEST(TokenizerErrors, BadMerges) {
  std::vector<std::string> merges;
  const test::TokenList t = test::bpe_tokens({{"a", "b"}, {"ab", "c"}}, merges);
  const auto with_merges = [&](std::vector<std::string> m) {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_array_strings("tokenizer.ggml.tokens", t.texts);
    w.set_array_strings("tokenizer.ggml.merges", m);
    return w;
  };
  // The second merge names a token that does not exist.
  expect_error(with_merges({merges[0], "ab zz", merges[1]}), GgufErrorKind::BadKeyType,
               {"tokenizer.ggml.merges[1]", "'zz'"});
  expect_error(with_merges({merges[0], "abc"}), GgufErrorKind::BadKeyType, {"tokenizer.ggml.merges[1]", "'abc'"});
  expect_error(with_merges({"a "}), GgufErrorKind::BadKeyType, {"tokenizer.ggml.merges[0]"});

  GgufWriter not_strings;
  not_strings.set_string("tokenizer.ggml.model", "gpt2");
  not_strings.set_array_strings("tokenizer.ggml.tokens", t.texts);
  not_strings.set_array_i32("tokenizer.ggml.merges", {1});
  expect_error(not_strings, GgufErrorKind::BadKeyType, {"tokenizer.ggml.merges"});
}

TEST(TokenizerErrors, UnknownPreTokenizer) {
  std::vector<std::string> merges;
  const test::TokenList t = test::bpe_tokens({{"a", "b"}}, merges);
  expect_error(test::bpe_writer(t, merges, "no-such-pre"), GgufErrorKind::Unsupported,
               {"tokenizer.ggml.pre", "'no-such-pre'", "llama-bpe"});
}

// The absent pre-tokenizer key means llama.cpp's "default".
TEST(TokenizerErrors, MissingPreTokenizerMeansDefault) {
  ScratchDir dir;
  std::vector<std::string> merges;
  const test::TokenList t = test::bpe_tokens({{"a", "b"}}, merges);
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_array_strings("tokenizer.ggml.tokens", t.texts);
  w.set_array_strings("tokenizer.ggml.merges", merges);
  const Tokenizer tok = test::load(dir, w);
  EXPECT_EQ(tok.pre_tokenizer(), "default");
  EXPECT_EQ(tok.bos(), kNoToken);
  EXPECT_EQ(tok.encode("ab", true, false), (std::vector<int32_t>{t.id(test::byte_spelling("ab"))}));
}

}  // namespace
}  // namespace llmc
