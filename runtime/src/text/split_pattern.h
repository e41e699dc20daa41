// A small backtracking matcher for the subset of regular expressions that llama.cpp's
// pre-tokenizer patterns are written in, evaluated over code points with the character classes
// of unicode_text.h. Matching follows ECMAScript (std::regex) semantics: the leftmost match wins,
// alternatives are tried in order and quantifiers are greedy.
//
// Supported: literals and escaped punctuation, \r \n \t \f \v, '.', '^', '$', character classes
// with ranges and negation, \s \S \d \D \w \W, \p{L} \p{N} \p{P} \p{S} \p{M} (and \P{..} outside
// classes), groups (...) and (?:...) (neither captures), lookaheads (?=...) and (?!...), and the
// quantifiers * + ? {n} {n,} {n,m}. Anything else is rejected when the pattern is built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmc::text {

// Text prepared for matching: its code points, their classes and the code points patterns see.
struct CodepointText {
  explicit CodepointText(std::string_view utf8);
  size_t size() const { return cps.size(); }
  // UTF-8 of code points [begin, end), re-encoded (malformed input bytes come out as U+FFFD).
  std::string utf8(size_t begin, size_t end) const;

  std::vector<uint32_t> cps;
  std::vector<uint32_t> view;
  std::vector<uint8_t> classes;
};

class SplitPattern {
 public:
  // Throws std::invalid_argument naming the pattern and the offending position for syntax outside
  // the subset, and for patterns that could match the empty string.
  explicit SplitPattern(std::string_view pattern);

  // Cuts code points [begin, end) of `text` into successive leftmost matches and the unmatched
  // stretches between them, each its own piece, as llama.cpp does with std::regex_iterator; appends
  // the end of every piece to `ends`. Matches never look outside [begin, end).
  void split(const CodepointText& text, size_t begin, size_t end, std::vector<size_t>& ends) const;

  // End of the match that starts exactly at `pos` within [begin, end), or `pos` when none does.
  size_t match_at(const CodepointText& text, size_t begin, size_t end, size_t pos) const;

  const std::string& source() const { return source_; }

 private:
  struct CharSet {
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive, on pattern views
    uint8_t classes = 0;                                 // any of these class bits
    bool negated = false;
    bool contains(uint32_t view, uint8_t cls) const;
  };
  enum class Op : uint8_t { Char, Set, Any, AssertBegin, AssertEnd, Split, Jump, Look, Match };
  struct Inst {
    Op op;
    bool negate = false;  // Look: negative lookahead
    uint32_t a = 0;       // Char: code point; Set: index; Split/Jump: target
    uint32_t b = 0;       // Split: second target; Look: where to continue after the lookahead
  };
  struct Node;
  class Parser;

  void compile(const Node& node);
  uint32_t emit(Inst inst);
  bool run(uint32_t pc, const CodepointText& text, size_t begin, size_t end, size_t pos, size_t& match_end,
           std::vector<std::pair<uint32_t, size_t>>& pending) const;

  std::string source_;
  std::vector<CharSet> sets_;
  std::vector<Inst> program_;
};

}  // namespace llmc::text
