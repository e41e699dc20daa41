// Code point helpers shared by the tokenizers: UTF-8 decoding that tolerates malformed input the
// way llama.cpp does, the character classes the pre-tokenizer patterns test, and GPT-2's table of
// printable characters standing for bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmc::text {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Bytes in the UTF-8 sequence that `lead` starts, judged from its high bits alone (1 for a stray
// continuation byte). SentencePiece and byte-level BPE cut text into symbols this way, so a
// truncated sequence at the end of the text is one short symbol rather than an error.
inline size_t utf8_sequence_length(uint8_t lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Decodes the code point at `offset` and advances past it. A malformed or truncated sequence
// yields U+FFFD and advances one byte. Overlong forms and surrogates are decoded as written.
uint32_t decode_utf8(std::string_view text, size_t& offset);
void append_utf8(std::string& out, uint32_t cp);

// Character classes, as bits. They follow llama.cpp's pre-tokenizer, which matches patterns
// against a "collapsed" text: a code point above ASCII that is White_Space counts as whitespace
// only, otherwise as its general category; ASCII keeps its own classes, except that '~' is no
// symbol there (llama.cpp leaves it out of \p{S}, and the expected token ids depend on that).
enum CharClass : uint8_t {
  kLetter = 1 << 0,       // \p{L}
  kNumber = 1 << 1,       // \p{N}
  kPunctuation = 1 << 2,  // \p{P}
  kSymbol = 1 << 3,       // \p{S}
  kMark = 1 << 4,         // \p{M}
  kWhitespace = 1 << 5,   // \s (White_Space)
};
uint8_t char_classes(uint32_t cp);

// The code point a pattern compares with literals: non-ASCII whitespace reads as U+000B, as in
// llama.cpp, so that a literal such as U+3000 in a pattern never matches it but \s does.
inline uint32_t pattern_view(uint32_t cp, uint8_t classes) {
  return cp > 0x7F && (classes & kWhitespace) ? 0x0B : cp;
}

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for U+0100 onwards.
uint32_t byte_to_char(uint8_t byte);
// The byte a character stands for, or -1 when it stands for none.
int byte_from_char(uint32_t cp);

}  // namespace llmc::text
