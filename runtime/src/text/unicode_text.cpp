#include "unicode_text.h"

#include <array>

#include <unicode/uchar.h>

namespace llmc::text {
namespace {

bool is_continuation(std::string_view text, size_t i) {
  return i < text.size() && (static_cast<uint8_t>(text[i]) & 0xC0) == 0x80;
}

uint8_t classes_from_icu(uint32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  if (u_hasBinaryProperty(c, UCHAR_WHITE_SPACE)) return kWhitespace;
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER: return kLetter;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER: return kNumber;
    case U_CONNECTOR_PUNCTUATION:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION: return kPunctuation;
    case U_MATH_SYMBOL:
    case U_CURRENCY_SYMBOL:
    case U_MODIFIER_SYMBOL:
    case U_OTHER_SYMBOL: return kSymbol;
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK: return kMark;
    default: return 0;
  }
}

std::array<uint8_t, 128> ascii_classes() {
  std::array<uint8_t, 128> table{};
  for (uint32_t c = 0; c < 128; ++c) table[c] = classes_from_icu(c);
  table['~'] &= static_cast<uint8_t>(~kSymbol);
  return table;
}

bool is_printable_byte(uint32_t b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct ByteCharTables {
  std::array<uint32_t, 256> char_of_byte{};
  std::array<int16_t, 256 + 68> byte_of_char{};  // indexed by code point; 68 bytes are not printable
  ByteCharTables() {
    byte_of_char.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      char_of_byte[b] = is_printable_byte(b) ? b : next++;
      byte_of_char[char_of_byte[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteCharTables& byte_char_tables() {
  static const ByteCharTables tables;
  return tables;
}

}  // namespace

uint32_t decode_utf8(std::string_view text, size_t& offset) {
  const auto b0 = static_cast<uint8_t>(text[offset]);
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(text[offset + i]) & 0x3F); };
  uint32_t cp = kReplacementChar;
  size_t len = 1;
  if (b0 < 0x80) {
    cp = b0;
  } else if (b0 >= 0xC0 && b0 < 0xE0 && is_continuation(text, offset + 1)) {
    cp = ((b0 & 0x1Fu) << 6) | byte(1);
    len = 2;
  } else if (b0 >= 0xE0 && b0 < 0xF0 && is_continuation(text, offset + 1) && is_continuation(text, offset + 2)) {
    cp = ((b0 & 0x0Fu) << 12) | (byte(1) << 6) | byte(2);
    len = 3;
  } else if (b0 >= 0xF0 && b0 < 0xF8 && is_continuation(text, offset + 1) && is_continuation(text, offset + 2) &&
             is_continuation(text, offset + 3)) {
    const uint32_t v = ((b0 & 0x07u) << 18) | (byte(1) << 12) | (byte(2) << 6) | byte(3);
    if (v <= 0x10FFFF) {
      cp = v;
      len = 4;
    }
  }
  offset += len;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint8_t char_classes(uint32_t cp) {
  static const std::array<uint8_t, 128> ascii = ascii_classes();
  return cp < 128 ? ascii[cp] : classes_from_icu(cp);
}

uint32_t byte_to_char(uint8_t byte) { return byte_char_tables().char_of_byte[byte]; }

int byte_from_char(uint32_t cp) {
  const auto& t = byte_char_tables().byte_of_char;
  return cp < t.size() ? t[cp] : -1;
}

}  // namespace llmc::text
