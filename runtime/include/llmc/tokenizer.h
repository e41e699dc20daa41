// Tokenizers built from GGUF metadata (tokenizer.ggml.*), giving the same token ids as llama.cpp:
// SentencePiece BPE with scores and byte fallback (tokenizer.ggml.model = "llama") and GPT-2
// style byte-level BPE with merges and a pre-tokenizer chosen by tokenizer.ggml.pre ("gpt2").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmc/gguf.h"

namespace llmc {

inline constexpr int32_t kNoToken = -1;

enum class TokenizerKind { Spm, Bpe };
std::string_view tokenizer_kind_name(TokenizerKind k);  // "spm", "bpe"

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

class Tokenizer {
 public:
  // Reads the tokenizer from `file`'s metadata; the Tokenizer keeps its own copy of everything.
  // Throws GgufError naming the file and the key:
  //   MissingKey    tokenizer.ggml.model, .tokens or (for gpt2) .merges absent, or add_bos/eos_token
  //                 true without the matching token id;
  //   Unsupported   a tokenizer model other than llama/gpt2 (bert, t5, rwkv, none, ...) or an unknown
  //                 tokenizer.ggml.pre;
  //   BadKeyType    a key of the wrong type, arrays whose lengths differ from the token list, a
  //                 duplicate token, or a merge that is malformed or names a token that does not exist;
  //   LimitExceeded an empty token list, or a special token id (bos, eos, ...) outside the vocabulary.
  static Tokenizer from_gguf(const GgufFile& file);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Token ids for `text`. With `add_special`, BOS and EOS are added as add_bos_token and
  // add_eos_token say. With `parse_special`, the texts of control tokens (such as "<|im_end|>")
  // in `text` become those tokens; user-defined tokens are always recognized, as in llama.cpp.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The text of `ids`. Control and unknown tokens render as nothing unless `render_special`. For
  // SentencePiece, the space that encode() put in front of the text is dropped again: one leading
  // space of the first token after an optional BOS. Vocabularies that llama.cpp cleans up (most
  // byte-level BPE ones) lose spaces before ". , ! ?" and some contractions, like llama.cpp's
  // detokenizer. Throws std::out_of_range for an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  // The bytes token `id` stands for, control tokens included (e.g. "<|im_end|>"), with no space
  // stripped; pieces of one character may be partial UTF-8. Throws std::out_of_range.
  std::string token_to_piece(int32_t id) const;

  TokenizerKind kind() const;
  // The pre-tokenizer name (tokenizer.ggml.pre, "default" when absent); empty for SentencePiece.
  std::string_view pre_tokenizer() const;
  int32_t n_vocab() const;

  // Special token ids, kNoToken when the vocabulary has none.
  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;
  int32_t unk() const;
  int32_t pad() const;
  bool add_bos() const;
  bool add_eos() const;

  // End of generation: eos, eot, eom and control tokens such as <|im_end|>, <|eot_id|>,
  // <|endoftext|>, <end_of_turn>, recognized by their text the way llama.cpp does.
  bool is_eog(int32_t id) const;

  // The stored text of a token (SentencePiece "▁word", byte-level "Ġword", "<0x0A>", ...).
  std::string_view token_text(int32_t id) const;
  TokenType token_type(int32_t id) const;
  // The id of the token whose stored text is `text`.
  std::optional<int32_t> find_token(std::string_view text) const;

 private:
  struct Vocab;
  explicit Tokenizer(std::unique_ptr<const Vocab> vocab);
  std::unique_ptr<const Vocab> vocab_;
};

}  // namespace llmc
