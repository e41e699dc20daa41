// The pattern matcher and the pre-tokenizers built on it: hand-picked splits, and random text
// split by the GPT-2 and Llama 3 patterns compared with hand-written splitters for the same rules.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pretokenizer.h"
#include "split_pattern.h"
#include "unicode_text.h"

namespace llmc::text {
namespace {

using Words = std::vector<std::string>;

Words split(std::string_view pre, std::string_view s) {
  const PreTokenizer* p = PreTokenizer::find(pre);
  EXPECT_NE(p, nullptr) << pre;
  return p ? p->split(s) : Words{};
}

Words split_pattern(std::string_view pattern, std::string_view s) {
  const SplitPattern p(pattern);
  const CodepointText text(s);
  std::vector<size_t> ends;
  p.split(text, 0, text.size(), ends);
  Words out;
  size_t begin = 0;
  for (size_t end : ends) {
    out.push_back(text.utf8(begin, end));
    begin = end;
  }
  return out;
}

TEST(SplitPattern, MatchesLikeECMAScript) {
  // Alternatives in order, not the longest; gaps between matches are pieces too.
  EXPECT_EQ(split_pattern("a|ab", "abab"), (Words{"a", "b", "a", "b"}));
  EXPECT_EQ(split_pattern("ab|a", "abab"), (Words{"ab", "ab"}));
  // Greedy quantifiers give back what the rest needs.
  EXPECT_EQ(split_pattern(R"(\s+(?!\S))", "a   b"), (Words{"a", "  ", " b"}));
  EXPECT_EQ(split_pattern(R"(\s*[\r\n]+)", " \n \n  x"), (Words{" \n \n", "  x"}));
  EXPECT_EQ(split_pattern(R"(\p{N}{1,3})", "1234567"), (Words{"123", "456", "7"}));
  EXPECT_EQ(split_pattern(R"(x{2})", "xxxxx"), (Words{"xx", "xx", "x"}));
  EXPECT_EQ(split_pattern(R"(x{2,})", "xxxxx"), (Words{"xxxxx"}));
  EXPECT_EQ(split_pattern(R"(\s+$)", "a  b  "), (Words{"a  b", "  "}));
  EXPECT_EQ(split_pattern(R"(^a)", "aaa"), (Words{"a", "aa"}));
  EXPECT_EQ(split_pattern(R"(((?=[\p{L}])[^a-z])+)", "abCDé1"), (Words{"ab", "CDé", "1"}));
  EXPECT_EQ(split_pattern(R"([^\s\p{L}\p{N}]+)", "a!?b 😀😀"), (Words{"a", "!?", "b ", "😀😀"}));
  EXPECT_EQ(split_pattern(R"([\p{P}\$\+<=>\^~\|`]+)", "a+b~c€d"), (Words{"a", "+", "b", "~", "c€d"}));
  EXPECT_EQ(split_pattern(R"(.+)", "ab\ncd"), (Words{"ab", "\n", "cd"}));
  EXPECT_EQ(split_pattern(R"((?:ab)+|\d)", "ababx12"), (Words{"abab", "x", "1", "2"}));
}

TEST(SplitPattern, UsesLlamaCppCharacterClasses) {
  // Non-ASCII whitespace is \s and nothing else: no literal or range matches it.
  EXPECT_EQ(split_pattern("[\u3000-\u3002]+", "a\u3000\u3001b"), (Words{"a\u3000", "\u3001", "b"}));
  EXPECT_EQ(split_pattern(R"(\s+)", "a\u00A0\u2028b"), (Words{"a", "\u00A0\u2028", "b"}));
  // '~' is no \p{S}, as in llama.cpp; other symbols are.
  EXPECT_EQ(split_pattern(R"(\p{S}+)", "~+€"), (Words{"~", "+€"}));
  EXPECT_EQ(char_classes('~'), 0);
  EXPECT_EQ(char_classes(0x0301), kMark);
  EXPECT_EQ(char_classes(0x00BD), kNumber);  // ½
  EXPECT_EQ(char_classes(0x4E2D), kLetter);  // 中
  EXPECT_EQ(char_classes(0x0085), kWhitespace);
  EXPECT_EQ(char_classes(0x200B), 0);        // zero width space: format, not White_Space
}

TEST(SplitPattern, RejectsWhatItCannotMatchFaithfully) {
  for (const char* bad : {"(?i:a)", "a*?", R"(\p{Lu})", R"(\bword)", "[a", "(a", "a)", "x{3,2}", "a*|b", "(a*)*b",
                          R"(\x41)", "*a", R"([\S])"}) {
    EXPECT_THROW(SplitPattern{bad}, std::invalid_argument) << bad;
  }
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(split("gpt-2", "  Hello"), (Words{" ", " Hello"}));
  EXPECT_EQ(split("gpt-2", "Hello   "), (Words{"Hello", "   "}));
  EXPECT_EQ(split("gpt-2", "\n\n"), (Words{"\n\n"}));
  EXPECT_EQ(split("gpt-2", "it's I'M"), (Words{"it", "'s", " I", "'", "M"}));
  EXPECT_EQ(split("gpt-2", "3333 x"), (Words{"3333", " x"}));
  EXPECT_EQ(split("gpt-2", " 🦙.cpp"), (Words{" 🦙.", "cpp"}));
  EXPECT_EQ(split("gpt-2", "a\tb"), (Words{"a", "\t", "b"}));
  EXPECT_EQ(split("mpt", "a\tb"), split("gpt-2", "a\tb"));
}

TEST(PreTokenizer, Llama3) {
  EXPECT_EQ(split("llama-bpe", "3333333"), (Words{"333", "333", "3"}));
  EXPECT_EQ(split("llama3", "Hello\n\nworld"), (Words{"Hello", "\n\n", "world"}));
  EXPECT_EQ(split("llama3", "I'M fine"), (Words{"I", "'M", " fine"}));
  EXPECT_EQ(split("llama3", "  Hello"), (Words{" ", " Hello"}));
  EXPECT_EQ(split("llama3", "Hello  \n"), (Words{"Hello", "  \n"}));
  EXPECT_EQ(split("llama3", "x   y"), (Words{"x", "  ", " y"}));
  EXPECT_EQ(split("llama3", "我想在apple工作"), (Words{"我想在apple工作"}));
  EXPECT_EQ(split("llama3", "(hello)...\n"), (Words{"(hello", ")...\n"}));
  EXPECT_EQ(split("llama3", "😀😀 hi  "), (Words{"😀😀", " hi", "  "}));
  EXPECT_EQ(split("llama3", "\t\n"), (Words{"\t\n"}));
}

TEST(PreTokenizer, Qwen2SplitsDigitsOneByOne) {
  EXPECT_EQ(split("qwen2", "abc1234"), (Words{"abc", "1", "2", "3", "4"}));
  EXPECT_EQ(split("deepseek-r1-qwen", "I'm 42"), (Words{"I", "'m", " ", "4", "2"}));
}

TEST(PreTokenizer, Deepseek) {
  EXPECT_EQ(split("deepseek-coder", "Hello, world!\n123"), (Words{"Hello", ",", " world", "!", "\n", "1", "2", "3"}));
  EXPECT_EQ(split("deepseek-llm", "Hi 你好 123!"), (Words{"Hi", " ", "你好", " ", "123", "!"}));
  // Greek, the Kelvin sign, a Deseret letter and "ﬁ" are cased letters; but the later patterns
  // cut again: everything from U+0800 up to the CJK ideographs, and ASCII ':' to '~' (letters too).
  EXPECT_EQ(split("deepseek-llm", "\u1F04\u03BB\u03C6\u03B1 \u212A \U00010400 \uFB01x"),
            (Words{"\u1F04", "\u03BB\u03C6\u03B1", " ", "\u212A", " \U00010400", " \uFB01", "x"}));
  EXPECT_EQ(split("deepseek-v3", "Hello 世界 12345"), (Words{"Hello", " ", "世界", " ", "123", "45"}));
}

TEST(PreTokenizer, FalconAndStarcoder) {
  EXPECT_EQ(split("falcon", "1234567 Hello, world!"), (Words{"123", "456", "7", " Hello", ",", " world", "!"}));
  EXPECT_EQ(split("starcoder", "x = 42;"), (Words{"x", " =", " ", "4", "2", ";"}));
  EXPECT_EQ(split("refact", "x = 42;"), split("starcoder", "x = 42;"));
  EXPECT_EQ(split("default", "a+=12345"), (Words{"a", "+=", "123", "45"}));
}

TEST(PreTokenizer, Gpt4oAndTekkenKeepCaseRuns) {
  EXPECT_EQ(split("gpt-4o", "HELLOworld helloWorld don't I'M"),
            (Words{"HELLOworld", " hello", "World", " don't", " I'M"}));
  EXPECT_EQ(split("gpt-4o", "123456"), (Words{"123", "456"}));
  EXPECT_EQ(split("tekken", "helloWorld don't 12"), (Words{"hello", "World", " don", "'t", " ", "1", "2"}));
}

TEST(PreTokenizer, EveryNameSplitsLosslessly) {
  const std::string text =
      "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～ \t\n\n  3.14 ---===  Ὅμηρος \u00A0x\u0301 "
      "\u2028 end  ";
  ASSERT_GT(PreTokenizer::names().size(), 30u);
  for (std::string_view name : PreTokenizer::names()) {
    const PreTokenizer* p = PreTokenizer::find(name);
    ASSERT_NE(p, nullptr) << name;
    std::string joined;
    for (const std::string& w : p->split(text)) {
      EXPECT_FALSE(w.empty()) << name;
      joined += w;
    }
    EXPECT_EQ(joined, text) << name;
  }
  EXPECT_EQ(PreTokenizer::find("no-such-pre"), nullptr);
}

// Hand-written splitters for the GPT-2 and Llama 3 rules, one character class test at a time,
// to check the pattern matcher against on random text.
struct Cursor {
  const CodepointText& t;
  size_t end;
  bool in(size_t i) const { return i < end; }
  uint32_t cp(size_t i) const { return in(i) ? t.cps[i] : 0xFFFFFFFF; }
  bool is(size_t i, uint8_t cls) const { return in(i) && (t.classes[i] & cls); }
  bool other(size_t i) const { return in(i) && !(t.classes[i] & (kWhitespace | kLetter | kNumber)); }
  size_t run(size_t i, uint8_t cls) const {
    while (is(i, cls)) ++i;
    return i;
  }
  size_t run_other(size_t i) const {
    while (other(i)) ++i;
    return i;
  }
  // 's 't 'm 'd 're 've 'll, optionally in either case; returns the end or 0.
  size_t contraction(size_t i, bool any_case) const {
    if (cp(i) != '\'') return 0;
    auto lower = [&](size_t k) { return any_case && cp(k) >= 'A' && cp(k) <= 'Z' ? cp(k) + 32 : cp(k); };
    const uint32_t a = lower(i + 1);
    const uint32_t b = lower(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return 0;
  }
  // \s+(?!\S) then \s+, from a whitespace character at i.
  size_t spaces(size_t i) const {
    const size_t e = run(i, kWhitespace);
    return e - i > 1 && in(e) ? e - 1 : e;
  }
};

size_t gpt2_word_end(const Cursor& c, size_t i) {
  if (size_t e = c.contraction(i, false)) return e;
  const size_t s = i + (c.cp(i) == ' ' ? 1 : 0);
  if (c.is(s, kLetter)) return c.run(s, kLetter);
  if (c.is(s, kNumber)) return c.run(s, kNumber);
  if (c.other(s)) return c.run_other(s);
  return c.spaces(i);
}

size_t llama3_word_end(const Cursor& c, size_t i) {
  if (size_t e = c.contraction(i, true)) return e;
  const uint32_t ch = c.cp(i);
  if (c.is(i, kLetter)) return c.run(i, kLetter);
  if (ch != '\r' && ch != '\n' && !c.is(i, kNumber) && c.is(i + 1, kLetter)) return c.run(i + 1, kLetter);
  if (c.is(i, kNumber)) return std::min(c.run(i, kNumber), i + 3);
  const size_t s = i + (ch == ' ' && c.other(i + 1) ? 1 : 0);
  if (c.other(s)) {
    size_t e = c.run_other(s);
    while (c.cp(e) == '\r' || c.cp(e) == '\n') ++e;
    return e;
  }
  size_t last_newline = 0;
  const size_t e = c.run(i, kWhitespace);
  for (size_t k = i; k < e; ++k)
    if (c.cp(k) == '\r' || c.cp(k) == '\n') last_newline = k + 1;
  if (last_newline) return last_newline;
  return c.spaces(i);
}

Words reference_split(std::string_view s, size_t (*word_end)(const Cursor&, size_t)) {
  const CodepointText t(s);
  const Cursor c{t, t.size()};
  Words out;
  for (size_t i = 0; i < t.size();) {
    const size_t e = word_end(c, i);
    out.push_back(t.utf8(i, e));
    i = e;
  }
  return out;
}

TEST(PreTokenizer, RandomTextMatchesHandWrittenSplitters) {
  const std::vector<std::string> alphabet = {
      "a", "Z", "s", "t", "M", "L", "e", "é", "中", "\u0301", "3", "٣", "½", " ", " ", " ", "\t", "\n",
      "\r", "'", "'", "!", ".", "😀", "\u00A0", "\u2028", "~", "$", "\xFF"};
  std::mt19937 rng(1234);
  const PreTokenizer* gpt2 = PreTokenizer::find("gpt-2");
  const PreTokenizer* llama3 = PreTokenizer::find("llama3");
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s;
    const size_t len = rng() % 24;
    for (size_t k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    ASSERT_EQ(gpt2->split(s), reference_split(s, gpt2_word_end)) << "'" << s << "'";
    ASSERT_EQ(llama3->split(s), reference_split(s, llama3_word_end)) << "'" << s << "'";
  }
}

}  // namespace
}  // namespace llmc::text
