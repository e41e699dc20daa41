// SentencePiece and byte-level BPE on small vocabularies written by the tests: merge order, byte
// fallback, special tokens, BOS/EOS and decoding.
#include <algorithm>
#include <chrono>
#include <iostream>

#include <gtest/gtest.h>

#include "tokenizer_test_util.h"
#include "vocab.h"

namespace llmc {
namespace {

using test::ScratchDir;
using Ids = std::vector<int32_t>;

const std::string kSp = "\xE2\x96\x81";  // U+2581

TEST(SpmTokenizer, MergesTheHighestScoringPairFirst) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens();
  const Tokenizer tok = test::load(dir, test::spm_writer(t));
  EXPECT_EQ(tok.kind(), TokenizerKind::Spm);
  EXPECT_EQ(tok.pre_tokenizer(), "");
  // "▁abc": bc (-1) first, then abc (-0.5); a longest-match tokenizer would take ▁ab.
  EXPECT_EQ(tok.encode("abc", false, false), (Ids{t.id(kSp), t.id("abc")}));
  // "▁ab": ▁a (-3) loses to ab (-2), then ▁ab (-1.5) wins.
  EXPECT_EQ(tok.encode("ab", false, false), (Ids{t.id(kSp + "ab")}));
  // Spaces become ▁ and the text gets one in front.
  EXPECT_EQ(tok.encode("a d", false, false), (Ids{t.id(kSp + "a"), t.id(kSp + "d")}));
  EXPECT_EQ(tok.encode(" d", false, false), (Ids{t.id(kSp + kSp), t.id("d")}));
  EXPECT_EQ(tok.encode("", false, false), Ids{});
}

TEST(SpmTokenizer, WithoutSpacePrefix) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens();
  GgufWriter w = test::spm_writer(t);
  w.set_bool("tokenizer.ggml.add_space_prefix", false);
  const Tokenizer tok = test::load(dir, w);
  EXPECT_EQ(tok.encode("abc", false, false), (Ids{t.id("abc")}));
  EXPECT_EQ(tok.decode(tok.encode(" abc", false, false)), " abc");
}

TEST(SpmTokenizer, FallsBackToBytes) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens();
  const Tokenizer tok = test::load(dir, test::spm_writer(t));
  // "é" is no token: its two UTF-8 bytes are.
  const Ids ids = tok.encode("é", false, false);
  EXPECT_EQ(ids, (Ids{t.id(kSp), t.id("<0xC3>"), t.id("<0xA9>")}));
  EXPECT_EQ(tok.decode(ids), "é");
  EXPECT_EQ(tok.token_to_piece(t.id("<0xC3>")), "\xC3");
  EXPECT_EQ(tok.token_type(t.id("<0xC3>")), TokenType::Byte);
  // A newline and a tab too.
  EXPECT_EQ(tok.encode("a\n", false, false), (Ids{t.id(kSp + "a"), t.id("<0x0A>")}));
  EXPECT_EQ(tok.decode(tok.encode("\ta\n\nb\t", false, false)), "\ta\n\nb\t");
}

TEST(SpmTokenizer, UnknownTokenWhenThereAreNoByteTokens) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens(false);
  const Tokenizer tok = test::load(dir, test::spm_writer(t));
  EXPECT_EQ(tok.encode("aé", false, false), (Ids{t.id(kSp + "a"), 0, 0}));
}

TEST(SpmTokenizer, BosEosAndTheLeadingSpace) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens();
  GgufWriter w = test::spm_writer(t);
  w.set_bool("tokenizer.ggml.add_eos_token", true);
  const Tokenizer tok = test::load(dir, w);
  EXPECT_TRUE(tok.add_bos());  // SentencePiece default
  EXPECT_TRUE(tok.add_eos());
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_EQ(tok.unk(), 0);
  const Ids ids = tok.encode("a d", true, false);
  EXPECT_EQ(ids, (Ids{1, t.id(kSp + "a"), t.id(kSp + "d"), 2}));
  EXPECT_EQ(tok.encode("", true, false), (Ids{1, 2}));
  // The space encode() added after BOS goes away again; control tokens render only on request.
  EXPECT_EQ(tok.decode(ids), "a d");
  EXPECT_EQ(tok.decode(ids, true), "<s>a d</s>");
  EXPECT_EQ(tok.decode(Ids{t.id(kSp + "a"), t.id(kSp + "d")}), "a d");
  // Only one space goes, and only at the start.
  EXPECT_EQ(tok.decode(Ids{t.id(kSp + kSp), t.id("d")}), " d");
  EXPECT_EQ(tok.token_to_piece(t.id(kSp + "a")), " a");
  EXPECT_EQ(tok.token_to_piece(1), "<s>");
}

TEST(SpmTokenizer, AddBosCanBeTurnedOff) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens();
  GgufWriter w = test::spm_writer(t);
  w.set_bool("tokenizer.ggml.add_bos_token", false);
  const Tokenizer tok = test::load(dir, w);
  EXPECT_FALSE(tok.add_bos());
  EXPECT_EQ(tok.encode("a", true, false), (Ids{t.id(kSp + "a")}));
}

TEST(SpmTokenizer, SpecialTokens) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens();
  const Tokenizer tok = test::load(dir, test::spm_writer(t));
  const int32_t im_end = t.id("<|im_end|>");
  const int32_t tool = t.id("<tool>");

  // Parsed: the control token is one id, and the text after it starts with a space again.
  EXPECT_EQ(tok.encode("a<|im_end|>d", false, true), (Ids{t.id(kSp + "a"), im_end, t.id(kSp + "d")}));
  EXPECT_EQ(tok.encode("<|im_end|><|im_end|>", false, true), (Ids{im_end, im_end}));
  // Not parsed: it is plain text, spelled in bytes.
  const Ids plain = tok.encode("a<|im_end|>d", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_end), 0);
  EXPECT_EQ(tok.decode(plain), "a<|im_end|>d");
  // User-defined tokens are split out either way and always rendered.
  const Ids with_tool = {t.id(kSp + "a"), tool, t.id(kSp + "d")};
  EXPECT_EQ(tok.encode("a<tool>d", false, false), with_tool);
  EXPECT_EQ(tok.encode("a<tool>d", false, true), with_tool);
  EXPECT_EQ(tok.decode(Ids{tool}), "<tool>");
  // Control tokens render only on request.
  EXPECT_EQ(tok.decode(Ids{t.id(kSp + "a"), im_end}), "a");
  EXPECT_EQ(tok.decode(Ids{t.id(kSp + "a"), im_end}, true), "a<|im_end|>");
  EXPECT_EQ(tok.token_to_piece(im_end), "<|im_end|>");

  EXPECT_TRUE(tok.is_eog(2));       // eos
  EXPECT_TRUE(tok.is_eog(im_end));  // by its text
  EXPECT_EQ(tok.eot(), im_end);
  EXPECT_FALSE(tok.is_eog(1));
  EXPECT_FALSE(tok.is_eog(tool));
  EXPECT_FALSE(tok.is_eog(-1));
  EXPECT_FALSE(tok.is_eog(tok.n_vocab()));
  EXPECT_EQ(tok.find_token("<tool>"), tool);
  EXPECT_EQ(tok.find_token("<nope>"), std::nullopt);
  EXPECT_EQ(tok.token_text(im_end), "<|im_end|>");
}

// Tokens that llama.cpp treats as control and end-of-generation by their text alone.
TEST(SpmTokenizer, RecognizesEndOfGenerationTexts) {
  ScratchDir dir;
  test::TokenList t = test::spm_tokens();
  const int32_t file_sep = t.add("<|file_sep|>");
  const int32_t eot_id = t.add("<|eot_id|>");
  const int32_t plain = t.add("<|plain|>", 0, TokenType::Control);
  const Tokenizer tok = test::load(dir, test::spm_writer(t));
  EXPECT_TRUE(tok.is_eog(file_sep));
  EXPECT_TRUE(tok.is_eog(eot_id));
  EXPECT_FALSE(tok.is_eog(plain));
  EXPECT_EQ(tok.eot(), eot_id);
  // Now control tokens: text unless special tokens are parsed, and not rendered unless asked.
  EXPECT_EQ(tok.encode("<|file_sep|>", false, true), (Ids{file_sep}));
  const Ids as_text = tok.encode("<|file_sep|>", false, false);
  EXPECT_EQ(std::count(as_text.begin(), as_text.end(), file_sep), 0);
  EXPECT_EQ(tok.decode(Ids{file_sep}), "");
  EXPECT_EQ(tok.token_type(file_sep), TokenType::Normal);
}

TEST(SpmTokenizer, RejectsIdsOutsideTheVocabulary) {
  ScratchDir dir;
  const Tokenizer tok = test::load(dir, test::spm_writer(test::spm_tokens()));
  EXPECT_THROW(tok.decode(Ids{tok.n_vocab()}), std::out_of_range);
  EXPECT_THROW(tok.decode(Ids{-1}), std::out_of_range);
  EXPECT_THROW(tok.token_to_piece(tok.n_vocab()), std::out_of_range);
}

// Phi-3's chat markers eat the whitespace after them; llama.cpp recognizes Phi-3 by its name.
TEST(SpmTokenizer, Phi3MarkersStripTheSpaceAfterThem) {
  ScratchDir dir;
  const test::TokenList t = test::spm_tokens();
  GgufWriter named = test::spm_writer(t);
  named.set_string("general.name", "Phi3");
  const Tokenizer phi3 = test::load(dir, named, "phi3.gguf");
  const Tokenizer other = test::load(dir, test::spm_writer(t), "other.gguf");
  const int32_t im_end = t.id("<|im_end|>");
  EXPECT_EQ(phi3.encode("<|im_end|>\n d", false, true), (Ids{im_end, t.id(kSp + "d")}));
  EXPECT_EQ(other.encode("<|im_end|> d", false, true), (Ids{im_end, t.id(kSp + kSp), t.id("d")}));
}

test::TokenList gpt2_like(std::vector<std::string>& merges) {
  merges.clear();
  return test::bpe_tokens({{"b", "c"}, {"a", "b"}, {"a", "bc"}, {" ", "w"}, {"o", "r"}, {" w", "or"}, {"l", "d"},
                           {" wor", "ld"}, {"x", "y"}, {"xy", "z"}, {" ", "?"}},
                          merges);
}

TEST(BpeTokenizer, MergesByRank) {
  ScratchDir dir;
  std::vector<std::string> merges;
  const test::TokenList t = gpt2_like(merges);
  const Tokenizer tok = test::load(dir, test::bpe_writer(t, merges, "gpt-2"));
  EXPECT_EQ(tok.kind(), TokenizerKind::Bpe);
  EXPECT_EQ(tok.pre_tokenizer(), "gpt-2");
  const auto id = [&](const std::string& raw) { return t.id(test::byte_spelling(raw)); };
  // "b c" outranks "a b": abc = a + bc, then "a bc".
  EXPECT_EQ(tok.encode("abc", false, false), (Ids{id("abc")}));
  EXPECT_EQ(tok.encode("ab", false, false), (Ids{id("ab")}));
  EXPECT_EQ(tok.encode("abd", false, false), (Ids{id("ab"), id("d")}));
  // Words are merged separately: " world" is one token, "world" is not.
  EXPECT_EQ(tok.encode("world world", false, false), (Ids{id("w"), id("or"), id("ld"), id(" world")}));
  // Every byte has a token, so anything round-trips.
  for (const std::string s : {"abc world", "\xF0\x9F\xA6\x99 \n\n\tx", "  ", "a\r\nb", "\x80\xFF"}) {
    const Ids ids = tok.encode(s, false, false);
    EXPECT_EQ(tok.decode(ids), s == "\x80\xFF" ? "\xEF\xBF\xBD\xEF\xBF\xBD" : s) << s;
  }
  EXPECT_FALSE(tok.add_bos());
}

TEST(BpeTokenizer, EndOfTextIsControlAndEndOfGeneration) {
  ScratchDir dir;
  std::vector<std::string> merges;
  const test::TokenList t = gpt2_like(merges);
  const Tokenizer tok = test::load(dir, test::bpe_writer(t, merges, "gpt-2"));
  const int32_t eot = t.id("<|endoftext|>");
  EXPECT_EQ(tok.eos(), eot);
  EXPECT_TRUE(tok.is_eog(eot));
  EXPECT_EQ(tok.encode("ab<|endoftext|>", false, true), (Ids{t.id("ab"), eot}));
  EXPECT_NE(tok.encode("ab<|endoftext|>", false, false).back(), eot);
  EXPECT_EQ(tok.decode(Ids{t.id("ab"), eot}), "ab");
  EXPECT_EQ(tok.decode(Ids{t.id("ab"), eot}, true), "ab<|endoftext|>");
}

TEST(BpeTokenizer, AddBosFromMetadata) {
  ScratchDir dir;
  std::vector<std::string> merges;
  const test::TokenList t = gpt2_like(merges);
  GgufWriter w = test::bpe_writer(t, merges, "gpt-2");
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  const Tokenizer tok = test::load(dir, w);
  const int32_t eot = t.id("<|endoftext|>");
  EXPECT_EQ(tok.encode("ab", true, false), (Ids{eot, t.id("ab")}));
  EXPECT_EQ(tok.encode("ab", false, false), (Ids{t.id("ab")}));
}

// llama.cpp cleans up spaces before punctuation for most byte-level vocabularies, not for
// deepseek's or qwen2's.
TEST(BpeTokenizer, DecodeCleansUpSpacesWhereLlamaCppDoes) {
  ScratchDir dir;
  std::vector<std::string> merges;
  const test::TokenList t = gpt2_like(merges);
  const Tokenizer gpt2 = test::load(dir, test::bpe_writer(t, merges, "gpt-2"), "gpt2.gguf");
  const Tokenizer coder = test::load(dir, test::bpe_writer(t, merges, "deepseek-coder"), "coder.gguf");
  const std::string s = "ab ? ab , ab 's ab ' ab";
  EXPECT_EQ(gpt2.decode(gpt2.encode(s, false, false)), "ab? ab, ab's ab'ab");
  EXPECT_EQ(coder.decode(coder.encode(s, false, false)), s);
}

TEST(BpeTokenizer, CleanUpSpaces) {
  EXPECT_EQ(text::clean_up_spaces("a , b . c ! d ? e"), "a, b. c! d? e");
  EXPECT_EQ(text::clean_up_spaces(" ."), ".");
  EXPECT_EQ(text::clean_up_spaces("it ' s"), "it's");
  // The space after a removed " ' " cannot start another one.
  EXPECT_EQ(text::clean_up_spaces("a ' ' b"), "a'' b");
  EXPECT_EQ(text::clean_up_spaces("I 'm we 're they 've he 's"), "I'm we're they've he's");
  EXPECT_EQ(text::clean_up_spaces("don 't I 'd you 'll"), "don 't I 'd you 'll");
  EXPECT_EQ(text::clean_up_spaces("x '"), "x '");
  EXPECT_EQ(text::clean_up_spaces(""), "");
}

// Llama 3 emits a word that is a token as a whole even when no merges lead to it.
TEST(BpeTokenizer, Llama3IgnoresMergesForWholeWordTokens) {
  ScratchDir dir;
  std::vector<std::string> merges;
  test::TokenList t = gpt2_like(merges);
  t.add(test::byte_spelling("qq"));
  const Tokenizer llama3 = test::load(dir, test::bpe_writer(t, merges, "llama-bpe"), "llama3.gguf");
  const Tokenizer gpt2 = test::load(dir, test::bpe_writer(t, merges, "gpt-2"), "gpt2.gguf");
  const int32_t qq = t.id(test::byte_spelling("qq"));
  EXPECT_EQ(llama3.encode("qq", false, false), (Ids{qq}));
  EXPECT_EQ(gpt2.encode("qq", false, false), (Ids{t.id("q"), t.id("q")}));
  EXPECT_TRUE(llama3.add_bos());  // llama 3's default
  EXPECT_FALSE(gpt2.add_bos());
}

// A 150k-token vocabulary with as many merges, the size of Llama 3's or Qwen2's.
TEST(BpeTokenizer, LoadsALargeVocabularyQuickly) {
  ScratchDir dir;
  test::TokenList t;
  std::vector<std::string> merges;
  std::vector<std::string> raw;
  for (int b = 0; b < 256; ++b) {
    raw.push_back(std::string(1, static_cast<char>(b)));
    t.add(test::byte_spelling(raw.back()));
  }
  // Every pair of bytes, then two-byte tokens followed by a byte: all distinct.
  for (size_t i = 0; t.texts.size() < 150000; ++i) {
    const std::string left = i < 65536 ? raw[i / 256] : raw[256 + (i - 65536) / 256];
    const std::string right = raw[i % 256];
    const std::string merged = left + right;
    merges.push_back(test::byte_spelling(left) + " " + test::byte_spelling(right));
    t.add(test::byte_spelling(merged));
    raw.push_back(merged);
  }
  GgufWriter w;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "qwen2");
  w.set_array_strings("tokenizer.ggml.tokens", t.texts);
  w.set_array_i32("tokenizer.ggml.token_type", t.types);
  w.set_array_strings("tokenizer.ggml.merges", merges);
  w.write(dir.file("big.gguf"), GgufWriter::Fill::None);
  const GgufFile file = GgufFile::open(dir.file("big.gguf"));

  double best_ms = 1e9;
  for (int run = 0; run < 3; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    const Tokenizer tok = Tokenizer::from_gguf(file);
    best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    EXPECT_EQ(tok.n_vocab(), 150000);
  }
  std::cout << "[ timing   ] 150000 tokens, " << merges.size() << " merges: " << best_ms << " ms\n";
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(best_ms, 100.0);
#endif
}

}  // namespace
}  // namespace llmc
