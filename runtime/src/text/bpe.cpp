// Byte-level BPE as llama.cpp runs it: the pre-tokenizer cuts the text into words, each word's
// bytes are spelled with GPT-2's printable characters, and within a word the neighbouring pair
// with the lowest merge rank is merged until no listed merge applies.

#include <algorithm>
#include <queue>

#include "unicode_text.h"
#include "vocab.h"

namespace llmc {
namespace {

struct Symbol {
  uint32_t begin;
  uint32_t length;  // 0 once merged into the symbol on its left
  int32_t prev;
  int32_t next;
  int32_t token;    // kNoToken when the symbol's text is no token
};

struct Bigram {
  int32_t rank;
  int32_t left;
  int32_t right;
  int32_t left_token;   // what the pair was when queued, to skip pairs that changed since
  int32_t right_token;
};

// Lowest rank first; between equal ranks, the leftmost pair.
struct LowerPriority {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

void Tokenizer::Vocab::encode_bpe(std::string_view raw, std::vector<int32_t>& out) const {
  const text::CodepointText cps(raw);
  std::string word;
  std::string utf8;
  std::vector<Symbol> symbols;
  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue;

  size_t word_begin = 0;
  for (const size_t word_end : pre->split_ends(cps)) {
    word.clear();
    for (size_t i = word_begin; i < word_end; ++i) {
      utf8.clear();
      text::append_utf8(utf8, cps.cps[i]);
      for (char byte : utf8) text::append_utf8(word, text::byte_to_char(static_cast<uint8_t>(byte)));
    }
    word_begin = word_end;

    if (pre->ignore_merges()) {
      const int32_t whole = find(word);
      if (whole != kNoToken) {
        out.push_back(whole);
        continue;
      }
    }

    symbols.clear();
    for (size_t offset = 0; offset < word.size();) {
      const size_t length = std::min(text::utf8_sequence_length(static_cast<uint8_t>(word[offset])), word.size() - offset);
      const auto index = static_cast<int32_t>(symbols.size());
      symbols.push_back({static_cast<uint32_t>(offset), static_cast<uint32_t>(length), index - 1,
                         offset + length == word.size() ? -1 : index + 1, find(std::string_view(word).substr(offset, length))});
      offset += length;
    }

    const auto try_pair = [&](int32_t left, int32_t right) {
      if (left < 0 || right < 0) return;
      const int32_t lt = symbols[left].token;
      const int32_t rt = symbols[right].token;
      if (lt == kNoToken || rt == kNoToken) return;
      const int32_t rank = merges.rank(lt, rt);
      if (rank >= 0) queue.push({rank, left, right, lt, rt});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_pair(i - 1, i);

    while (!queue.empty()) {
      const Bigram bigram = queue.top();
      queue.pop();
      Symbol& left = symbols[bigram.left];
      Symbol& right = symbols[bigram.right];
      if (left.length == 0 || right.length == 0 || left.next != bigram.right || left.token != bigram.left_token ||
          right.token != bigram.right_token)
        continue;
      left.length += right.length;
      left.token = find(std::string_view(word).substr(left.begin, left.length));
      right.length = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = bigram.left;
      try_pair(left.prev, bigram.left);
      try_pair(bigram.left, left.next);
    }

    for (int32_t i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
      const Symbol& s = symbols[i];
      if (s.token != kNoToken) {
        out.push_back(s.token);
        continue;
      }
      // llama.cpp's fallback: each byte of the spelled-out text, where it is a token by itself.
      for (uint32_t k = 0; k < s.length; ++k) {
        const int32_t byte_token = find(std::string_view(word).substr(s.begin + k, 1));
        if (byte_token != kNoToken) out.push_back(byte_token);
      }
    }
  }
}

}  // namespace llmc
