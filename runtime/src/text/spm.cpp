// SentencePiece BPE as llama.cpp runs it: spaces become U+2581, then neighbouring symbols (UTF-8
// characters to begin with) are merged, the pair whose merged text is the highest-scoring token
// first, until no pair forms a token; characters left without a token fall back to <0xXX> bytes.

#include <algorithm>
#include <queue>

#include "unicode_text.h"
#include "vocab.h"

namespace llmc {
namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // U+2581

struct Symbol {
  uint32_t begin;
  uint32_t length;  // 0 once merged into the symbol on its left
  int32_t prev;
  int32_t next;
  int32_t token;    // kNoToken until a merge makes the symbol a known token
};

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  uint32_t length;  // of the merged text, to spot pairs that changed since they were queued
  int32_t token;
};

// Highest score first; between equal scores, the leftmost pair.
struct LowerPriority {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::Vocab::encode_spm(std::string_view raw, bool space_prefix, std::vector<int32_t>& out) const {
  std::string escaped;
  escaped.reserve(raw.size() + kSpaceMark.size() * 4);
  if (space_prefix) escaped += kSpaceMark;
  for (char c : raw) {
    if (c == ' ') {
      escaped += kSpaceMark;
    } else {
      escaped += c;
    }
  }
  if (escaped.empty()) return;

  std::vector<Symbol> symbols;
  symbols.reserve(escaped.size());
  for (size_t offset = 0; offset < escaped.size();) {
    const size_t length = std::min(text::utf8_sequence_length(static_cast<uint8_t>(escaped[offset])),
                                   escaped.size() - offset);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(offset), static_cast<uint32_t>(length), index - 1,
                       offset + length == escaped.size() ? -1 : index + 1, kNoToken});
    offset += length;
  }

  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue;
  const auto try_pair = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const uint32_t length = l.length + symbols[right].length;
    const int32_t token = find(std::string_view(escaped).substr(l.begin, length));
    if (token == kNoToken) return;
    queue.push({scores[token], left, right, length, token});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_pair(i - 1, i);

  while (!queue.empty()) {
    const Bigram bigram = queue.top();
    queue.pop();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != bigram.length) continue;
    left.length += right.length;
    left.token = bigram.token;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    try_pair(left.prev, bigram.left);
    try_pair(bigram.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const int32_t token = s.token != kNoToken ? s.token : find(std::string_view(escaped).substr(s.begin, s.length));
    if (token != kNoToken) {
      out.push_back(token);
      continue;
    }
    for (uint32_t k = 0; k < s.length; ++k) {
      const int32_t byte_token = byte_tokens[static_cast<uint8_t>(escaped[s.begin + k])];
      if (byte_token != kNoToken) {
        out.push_back(byte_token);
      } else if (unk != kNoToken) {
        out.push_back(unk);
      }
    }
  }
}

}  // namespace llmc
