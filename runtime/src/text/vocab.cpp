#include "vocab.h"

#include <cstring>

#include "unicode_text.h"

namespace llmc {
namespace text {

void MergeTable::reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < n * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  size_ = 0;
}

void MergeTable::insert(int32_t left, int32_t right, int32_t rank) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    reserve(old.size() + 1);
    for (const Slot& s : old)
      if (s.key != kEmpty) insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.rank);
  }
  const uint64_t k = key(left, right);
  for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
    if (slots_[i].key == k) return;
    if (slots_[i].key == kEmpty) {
      slots_[i] = {k, rank};
      ++size_;
      return;
    }
  }
}

int32_t MergeTable::rank(int32_t left, int32_t right) const {
  if (slots_.empty()) return -1;
  const uint64_t k = key(left, right);
  for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
    if (slots_[i].key == k) return slots_[i].rank;
    if (slots_[i].key == kEmpty) return -1;
  }
}

std::string clean_up_spaces(std::string_view text) {
  // Three passes, each reading the previous pass's output, like llama.cpp's detokenizer.
  std::string a;
  a.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char x = text[i];
    if (i > 0 && text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a += x;
  }

  // " ' " loses both spaces; the space consumed after the apostrophe cannot start another match.
  std::string b;
  b.reserve(a.size());
  bool previous_consumed = false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i];
    const bool space_before = i > 0 && a[i - 1] == ' ' && !previous_consumed;
    previous_consumed = false;
    if (x == '\'' && space_before && i + 1 < a.size() && a[i + 1] == ' ') {
      b.pop_back();
      b += x;
      ++i;
      previous_consumed = true;
      continue;
    }
    b += x;
  }

  std::string c;
  c.reserve(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    const char x = b[i];
    if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      const char x1 = b[i + 1];
      const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) c.pop_back();
    }
    c += x;
  }
  return c;
}

}  // namespace text

namespace {

// C isspace in the "C" locale, which is what llama.cpp strips after special tokens.
bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

std::vector<text::Fragment> Tokenizer::Vocab::partition(std::string_view raw, bool parse_special) const {
  std::vector<text::Fragment> fragments;
  if (raw.empty()) return fragments;
  fragments.push_back({kNoToken, 0, raw.size()});

  // A special token absent from the whole text cannot split any part of it; finding the present
  // ones first keeps long texts with thousands of special tokens fast.
  std::vector<bool> present(special_tokens.size(), false);
  size_t n_present = 0;
  for (size_t pos = 0; pos < raw.size(); ++pos) {
    for (uint32_t k : special_by_first_byte[static_cast<uint8_t>(raw[pos])]) {
      if (present[k]) continue;
      const std::string_view t = text(special_tokens[k]);
      if (raw.size() - pos >= t.size() && std::memcmp(raw.data() + pos, t.data(), t.size()) == 0) {
        present[k] = true;
        ++n_present;
      }
    }
  }
  if (n_present == 0) return fragments;

  std::vector<text::Fragment> next;
  for (size_t k = 0; k < special_tokens.size(); ++k) {
    if (!present[k]) continue;
    const int32_t id = special_tokens[k];
    const uint16_t attr = attrs[id];
    // Control and unknown tokens are text unless asked for; user-defined ones are always split
    // out first, as Hugging Face tokenizers do.
    if (!parse_special && (attr & (text::kAttrControl | text::kAttrUnknown))) continue;
    const std::string_view t = text(id);
    next.clear();
    for (const text::Fragment& f : fragments) {
      if (f.token != kNoToken) {
        next.push_back(f);
        continue;
      }
      size_t begin = f.begin;
      const size_t end = f.begin + f.length;
      while (begin < end) {
        const size_t match = raw.substr(0, end).find(t, begin);
        if (match == std::string_view::npos) {
          next.push_back({kNoToken, begin, end - begin});
          break;
        }
        if (match > begin) next.push_back({kNoToken, begin, match - begin});
        next.push_back({id, match, t.size()});
        begin = match + t.size();
        if (attr & text::kAttrRstrip)
          while (begin < end && is_ascii_space(raw[begin])) ++begin;
      }
    }
    fragments.swap(next);
  }
  return fragments;
}

std::string Tokenizer::Vocab::piece(int32_t id, bool render_special) const {
  const uint16_t attr = attrs[id];
  if (!render_special && (attr & (text::kAttrControl | text::kAttrUnknown))) return {};
  const std::string_view t = text(id);
  if (attr & (text::kAttrControl | text::kAttrUnknown | text::kAttrUserDefined)) return std::string(t);
  if (attr & text::kAttrByte) {
    // "<0xXX>"
    const auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    if (t.size() == 6 && t.substr(0, 3) == "<0x" && t[5] == '>' && hex(t[3]) >= 0 && hex(t[4]) >= 0)
      return std::string(1, static_cast<char>(hex(t[3]) * 16 + hex(t[4])));
    return std::string(t);
  }
  if (!(attr & text::kAttrNormal)) return {};

  std::string out;
  out.reserve(t.size());
  if (kind == TokenizerKind::Spm) {
    for (size_t i = 0; i < t.size(); ++i) {
      if (t.compare(i, 3, "\xE2\x96\x81") == 0) {
        out += ' ';
        i += 2;
      } else {
        out += t[i];
      }
    }
    return out;
  }
  // Byte-level: each character stands for one byte. A token with a character that stands for
  // none is returned as stored, as Hugging Face's ByteLevel decoder does.
  for (size_t offset = 0; offset < t.size();) {
    const int byte = text::byte_from_char(text::decode_utf8(t, offset));
    if (byte < 0) return std::string(t);
    out += static_cast<char>(byte);
  }
  return out;
}

}  // namespace llmc
