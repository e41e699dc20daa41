// Byte-level BPE pre-tokenizers: how text is cut into words before merges run, chosen by the
// GGUF key tokenizer.ggml.pre. Each is a list of patterns applied in turn, every pattern cutting
// each piece the previous ones left (llama.cpp's unicode_regex_split), plus the few per-model
// switches that llama.cpp ties to the same name.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "split_pattern.h"

namespace llmc::text {

class PreTokenizer {
 public:
  // The pre-tokenizer named `pre` (a tokenizer.ggml.pre value), or nullptr when there is none.
  static const PreTokenizer* find(std::string_view pre);
  // Every accepted tokenizer.ggml.pre value, for error messages and tests.
  static std::vector<std::string_view> names();

  // The words of `text`, in order, as UTF-8 (not yet byte-encoded). Malformed UTF-8 in `text`
  // comes out as U+FFFD, as in llama.cpp.
  std::vector<std::string> split(std::string_view text) const;
  // Code point ends of the words of `text`.
  std::vector<size_t> split_ends(const CodepointText& text) const;

  // Detokenized text gets llama.cpp's clean-up of spaces before punctuation and contractions.
  bool clean_spaces() const { return clean_spaces_; }
  // A word that is a token as a whole is emitted as that token, merges or not (llama 3).
  bool ignore_merges() const { return ignore_merges_; }
  // The default of tokenizer.ggml.add_bos_token for this pre-tokenizer, when it has one.
  std::optional<bool> add_bos() const { return add_bos_; }

  PreTokenizer(const std::vector<std::string_view>& patterns, bool clean_spaces, bool ignore_merges,
               std::optional<bool> add_bos);

 private:
  std::vector<SplitPattern> patterns_;
  bool clean_spaces_;
  bool ignore_merges_;
  std::optional<bool> add_bos_;
};

}  // namespace llmc::text
