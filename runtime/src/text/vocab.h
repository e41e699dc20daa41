// The tokenizer's data and the algorithms over it, shared by tokenizer.cpp (loading, special
// tokens, decoding), spm.cpp and bpe.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/tokenizer.h"
#include "pretokenizer.h"

namespace llmc {
namespace text {

// Token text -> id, open addressing over ids; the texts live in the vocabulary's arena. Each slot
// keeps part of its text's hash, so that a probe rarely has to look at a text that cannot match.
class TokenIndex {
 public:
  // `text_of(id)` must stay valid while the index is used. Returns the id already holding a
  // text when two tokens share it, kNoToken when all are distinct.
  template <typename TextOf>
  int32_t build(int32_t n, const TextOf& text_of);
  template <typename TextOf>
  int32_t find(std::string_view text, const TextOf& text_of) const;

 private:
  struct Slot {
    int32_t id = kNoToken;  // kNoToken: empty
    uint32_t tag = 0;       // high half of the text's hash
  };
  static uint64_t hash(std::string_view t) { return std::hash<std::string_view>{}(t); }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// (left id, right id) -> merge rank, open addressing.
class MergeTable {
 public:
  void reserve(size_t n);
  // Keeps the first rank given for a pair, as llama.cpp does.
  void insert(int32_t left, int32_t right, int32_t rank);
  // The rank of the pair, or -1 when it is no merge.
  int32_t rank(int32_t left, int32_t right) const;

 private:
  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  static size_t hash(uint64_t k) { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 17); }
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = -1;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Token attributes as llama.cpp keeps them: the GGUF type plus what it infers from token texts.
enum TokenAttr : uint16_t {
  kAttrNormal = 1 << 0,
  kAttrUnknown = 1 << 1,
  kAttrControl = 1 << 2,
  kAttrUserDefined = 1 << 3,
  kAttrUnused = 1 << 4,
  kAttrByte = 1 << 5,
  kAttrRstrip = 1 << 6,  // whitespace after this token's text is dropped when it is split out
};

// A stretch of the input: raw text to tokenize, or a special token already recognized.
struct Fragment {
  int32_t token = kNoToken;  // kNoToken: raw text
  size_t begin = 0;
  size_t length = 0;
};

// llama.cpp's detokenizer clean-up: drops the space before ". , ! ?", around a lone apostrophe,
// and before the contractions 's 'm 're 've.
std::string clean_up_spaces(std::string_view text);

}  // namespace text

struct Tokenizer::Vocab {
  class Loader;  // reads and validates the GGUF metadata (tokenizer.cpp)

  TokenizerKind kind = TokenizerKind::Spm;
  std::string pre_name;
  const text::PreTokenizer* pre = nullptr;

  std::string arena;                  // every token text, back to back
  std::vector<uint32_t> text_begin;   // n + 1 offsets into the arena
  std::vector<float> scores;
  std::vector<uint16_t> attrs;
  std::vector<TokenType> types;
  text::TokenIndex index;
  text::MergeTable merges;
  std::array<int32_t, 256> byte_tokens{};  // SentencePiece byte fallback: <0xXX> per byte
  std::vector<int32_t> special_tokens;     // candidates for splitting out, longest text first
  // Indices into special_tokens by the first byte of their text, to find which occur in a text.
  std::array<std::vector<uint32_t>, 256> special_by_first_byte;
  std::vector<bool> eog;

  int32_t bos = kNoToken;
  int32_t eos = kNoToken;
  int32_t eot = kNoToken;
  int32_t eom = kNoToken;
  int32_t unk = kNoToken;
  int32_t pad = kNoToken;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
  bool clean_spaces = false;

  int32_t size() const { return static_cast<int32_t>(types.size()); }
  std::string_view text(int32_t id) const {
    return {arena.data() + text_begin[id], text_begin[id + 1] - text_begin[id]};
  }
  int32_t find(std::string_view t) const {
    return index.find(t, [this](int32_t id) { return text(id); });
  }

  // Splits `raw` at special tokens, longest first, as llama.cpp's tokenizer_st_partition does.
  std::vector<text::Fragment> partition(std::string_view raw, bool parse_special) const;
  // Appends the tokens of one raw fragment.
  void encode_spm(std::string_view raw, bool space_prefix, std::vector<int32_t>& out) const;
  void encode_bpe(std::string_view raw, std::vector<int32_t>& out) const;
  std::string piece(int32_t id, bool render_special) const;
};

template <typename TextOf>
int32_t text::TokenIndex::build(int32_t n, const TextOf& text_of) {
  size_t capacity = 16;
  while (capacity < static_cast<size_t>(n) * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (int32_t id = 0; id < n; ++id) {
    const std::string_view t = text_of(id);
    const uint64_t h = hash(t);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].id == kNoToken) {
        slots_[i] = {id, tag};
        break;
      }
      if (slots_[i].tag == tag && text_of(slots_[i].id) == t) return slots_[i].id;
    }
  }
  return kNoToken;
}

template <typename TextOf>
int32_t text::TokenIndex::find(std::string_view t, const TextOf& text_of) const {
  if (slots_.empty()) return kNoToken;
  const uint64_t h = hash(t);
  const auto tag = static_cast<uint32_t>(h >> 32);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.id == kNoToken) return kNoToken;
    if (s.tag == tag && text_of(s.id) == t) return s.id;
  }
}

}  // namespace llmc
