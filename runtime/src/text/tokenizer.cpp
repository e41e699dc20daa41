#include "llmc/tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "vocab.h"

namespace llmc {
namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr std::string_view kPreKey = "tokenizer.ggml.pre";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";
constexpr std::string_view kMergesKey = "tokenizer.ggml.merges";

// Texts by which llama.cpp recognizes end-of-turn and end-of-generation tokens that the metadata
// does not name (src/llama-vocab.cpp). "｜" is U+FF5C and "▁" U+2581.
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
    "[EOT]", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<end_of_utterance>",
};
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "[e~[",
};
// Fill-in-the-middle padding, repository and file separator tokens also end generation.
struct FimRole {
  std::string_view key;
  std::vector<std::string_view> texts;
};
const FimRole kFimRoles[] = {
    {"tokenizer.ggml.fim_pad_token_id", {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
    {"tokenizer.ggml.fim_rep_token_id", {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
    {"tokenizer.ggml.fim_sep_token_id", {"<|file_sep|>"}},
};
// gpt-oss's channel markers are always rendered and never control tokens.
constexpr std::string_view kAlwaysRenderedTexts[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

std::string_view unsupported_model_reason(std::string_view model) {
  if (model == "bert") return "WordPiece (BERT) tokenizers are not supported";
  if (model == "t5") return "Unigram (T5) tokenizers are not supported";
  if (model == "rwkv") return "RWKV tokenizers are not supported";
  if (model == "none" || model == "no_vocab") return "the file has no vocabulary";
  return "unknown tokenizer model";
}

uint16_t attrs_of_type(int64_t type) {
  switch (static_cast<TokenType>(type)) {
    case TokenType::Normal: return text::kAttrNormal;
    case TokenType::Unknown: return text::kAttrUnknown;
    case TokenType::Control: return text::kAttrControl;
    case TokenType::UserDefined: return text::kAttrUserDefined;
    case TokenType::Unused: return text::kAttrUnused;
    case TokenType::Byte: return text::kAttrByte;
    default: return 0;
  }
}

}  // namespace

class Tokenizer::Vocab::Loader {
 public:
  explicit Loader(const GgufFile& file) : f_(file), v_(std::make_unique<Tokenizer::Vocab>()) {}

  std::unique_ptr<Tokenizer::Vocab> load() {
    read_model();
    read_tokens();
    if (v_->kind == TokenizerKind::Bpe) {
      read_pre_tokenizer();
      read_merges();
    }
    read_special_ids();
    read_flags();
    recognize_special_texts();
    index_special_tokens();
    if (v_->kind == TokenizerKind::Spm) index_byte_tokens();
    return std::move(v_);
  }

 private:
  [[noreturn]] void fail(GgufErrorKind kind, std::string_view key, std::string_view what) const {
    throw GgufError(kind, fmt::format("{}: {}: {}", f_.path(), key, what));
  }

  const GgufValue& require(std::string_view key) const {
    const GgufValue* v = f_.find(key);
    if (!v) throw GgufError(GgufErrorKind::MissingKey, fmt::format("{}: missing metadata key '{}'", f_.path(), key));
    return *v;
  }

  // An array of numbers with one per token, or nullptr when the key is absent.
  const GgufValue* per_token_numbers(std::string_view key) const {
    const GgufValue* v = f_.find(key);
    if (!v) return nullptr;
    const GgufValueType t = v->array_type();
    if (v->type() != GgufValueType::Array || t == GgufValueType::String || t == GgufValueType::Bool ||
        t == GgufValueType::Array)
      fail(GgufErrorKind::BadKeyType, key, fmt::format("expected an array of numbers, found {}", v->summary()));
    if (v->array_size() != static_cast<uint64_t>(v_->size()))
      fail(GgufErrorKind::BadKeyType, key,
           fmt::format("{} entries, but {} has {}", v->array_size(), kTokensKey, v_->size()));
    return v;
  }

  void read_model() {
    const std::string_view model = require(kModelKey).as_string(fmt::format("{}: metadata key '{}'", f_.path(), kModelKey));
    if (model == "llama") {
      v_->kind = TokenizerKind::Spm;
    } else if (model == "gpt2") {
      v_->kind = TokenizerKind::Bpe;
    } else {
      fail(GgufErrorKind::Unsupported, kModelKey,
           fmt::format("'{}': {} (supported: 'llama' SentencePiece BPE, 'gpt2' byte-level BPE)", model,
                       unsupported_model_reason(model)));
    }
  }

  void read_tokens() {
    const GgufValue& tokens = require(kTokensKey);
    if (tokens.type() != GgufValueType::Array || tokens.array_type() != GgufValueType::String)
      fail(GgufErrorKind::BadKeyType, kTokensKey, fmt::format("expected an array of strings, found {}", tokens.summary()));
    const uint64_t n = tokens.array_size();
    if (n == 0) fail(GgufErrorKind::LimitExceeded, kTokensKey, "the token list is empty");
    if (n > static_cast<uint64_t>(INT32_MAX)) fail(GgufErrorKind::LimitExceeded, kTokensKey, fmt::format("{} tokens", n));

    Tokenizer::Vocab& v = *v_;
    const auto& texts = tokens.array_strings();
    size_t bytes = 0;
    for (std::string_view t : texts) bytes += t.empty() ? 24 : t.size();
    if (bytes > UINT32_MAX) fail(GgufErrorKind::LimitExceeded, kTokensKey, fmt::format("{} bytes of token text", bytes));
    v.arena.reserve(bytes);
    v.text_begin.reserve(n + 1);
    for (size_t i = 0; i < texts.size(); ++i) {
      v.text_begin.push_back(static_cast<uint32_t>(v.arena.size()));
      // llama.cpp names empty tokens so that they stay distinct and can never match text.
      if (texts[i].empty()) {
        v.arena += fmt::format("[EMPTY_{}]", i);
      } else {
        v.arena += texts[i];
      }
    }
    v.text_begin.push_back(static_cast<uint32_t>(v.arena.size()));
    v.types.assign(n, TokenType::Normal);
    v.attrs.assign(n, text::kAttrNormal);
    v.scores.assign(n, 0.0f);

    const int32_t dup = v.index.build(v.size(), [&v](int32_t id) { return v.text(id); });
    if (dup != kNoToken) {
      const int32_t second = find_second(dup);
      fail(GgufErrorKind::BadKeyType, kTokensKey,
           fmt::format("token {} '{}' duplicates token {}", second, v.text(dup), dup));
    }

    if (const GgufValue* scores = per_token_numbers(kScoresKey)) {
      for (uint64_t i = 0; i < n; ++i) v.scores[i] = static_cast<float>(scores->array_float(i));
    }
    if (const GgufValue* types = per_token_numbers(kTypesKey)) {
      for (uint64_t i = 0; i < n; ++i) {
        const int64_t t = types->array_int(i);
        v.types[i] = t >= 0 && t <= static_cast<int64_t>(TokenType::Byte) ? static_cast<TokenType>(t) : TokenType::Undefined;
        v.attrs[i] = attrs_of_type(t);
      }
    }
  }

  // The later of two tokens sharing the text of `first`, for the error message.
  int32_t find_second(int32_t first) const {
    for (int32_t id = first + 1; id < v_->size(); ++id)
      if (v_->text(id) == v_->text(first)) return id;
    return first;
  }

  void read_pre_tokenizer() {
    const std::optional<std::string_view> pre = f_.get_string(kPreKey);
    v_->pre_name = pre ? std::string(*pre) : "default";
    v_->pre = text::PreTokenizer::find(v_->pre_name);
    if (!v_->pre) {
      fail(GgufErrorKind::Unsupported, kPreKey,
           fmt::format("'{}': unknown pre-tokenizer (known: {})", v_->pre_name,
                       fmt::join(text::PreTokenizer::names(), ", ")));
    }
    v_->clean_spaces = v_->pre->clean_spaces();
  }

  void read_merges() {
    const GgufValue& merges = require(kMergesKey);
    if (merges.type() != GgufValueType::Array || merges.array_type() != GgufValueType::String)
      fail(GgufErrorKind::BadKeyType, kMergesKey, fmt::format("expected an array of strings, found {}", merges.summary()));
    Tokenizer::Vocab& v = *v_;
    const auto& entries = merges.array_strings();
    v.merges.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string_view m = entries[i];
      // "left right"; the left part may itself begin with a space, hence the search from 1.
      const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
      if (space == std::string_view::npos || space + 1 == m.size())
        fail(GgufErrorKind::BadKeyType, fmt::format("{}[{}]", kMergesKey, i),
             fmt::format("'{}' is not two tokens separated by a space", m));
      const std::string_view left = m.substr(0, space);
      const std::string_view right = m.substr(space + 1);
      const int32_t l = v.find(left);
      const int32_t r = v.find(right);
      if (l == kNoToken || r == kNoToken)
        fail(GgufErrorKind::BadKeyType, fmt::format("{}[{}]", kMergesKey, i),
             fmt::format("'{}': '{}' is not a token", m, l == kNoToken ? left : right));
      v.merges.insert(l, r, static_cast<int32_t>(i));
    }
  }

  // A special token id from `key`, validated against the vocabulary; `fallback` when absent.
  int32_t special_id(std::string_view key, int32_t fallback) const {
    // Converters write -1 for "no such token".
    if (const GgufValue* raw = f_.find(key); raw && raw->is_integer() && raw->type() != GgufValueType::U64 &&
                                            raw->as_i64(key) == -1)
      return kNoToken;
    const std::optional<uint64_t> id = f_.get_u64(key);
    if (!id) return fallback < v_->size() ? fallback : kNoToken;
    if (*id >= static_cast<uint64_t>(v_->size()))
      fail(GgufErrorKind::LimitExceeded, key,
           fmt::format("token id {} is outside the vocabulary ({} tokens)", *id, v_->size()));
    return static_cast<int32_t>(*id);
  }

  void read_special_ids() {
    Tokenizer::Vocab& v = *v_;
    // llama.cpp's defaults for SentencePiece; byte-level vocabularies name their own.
    const bool spm = v.kind == TokenizerKind::Spm;
    v.bos = special_id("tokenizer.ggml.bos_token_id", spm ? 1 : kNoToken);
    v.eos = special_id("tokenizer.ggml.eos_token_id", spm ? 2 : kNoToken);
    v.unk = special_id("tokenizer.ggml.unknown_token_id", spm ? 0 : kNoToken);
    v.pad = special_id("tokenizer.ggml.padding_token_id", kNoToken);
    v.eot = special_id("tokenizer.ggml.eot_token_id", kNoToken);
    v.eom = special_id("tokenizer.ggml.eom_token_id", kNoToken);
    // Not used here, but a file naming a token that does not exist is broken all the same.
    special_id("tokenizer.ggml.seperator_token_id", kNoToken);
  }

  bool flag(std::string_view key, bool fallback) const { return f_.get_bool(key).value_or(fallback); }

  void read_flags() {
    Tokenizer::Vocab& v = *v_;
    const bool spm = v.kind == TokenizerKind::Spm;
    v.add_bos = flag("tokenizer.ggml.add_bos_token", spm || v.pre->add_bos().value_or(false));
    v.add_eos = flag("tokenizer.ggml.add_eos_token", false);
    v.add_space_prefix = spm && flag("tokenizer.ggml.add_space_prefix", true);
    if (v.add_bos && v.bos == kNoToken)
      fail(GgufErrorKind::MissingKey, "tokenizer.ggml.add_bos_token", "true, but tokenizer.ggml.bos_token_id is not set");
    if (v.add_eos && v.eos == kNoToken)
      fail(GgufErrorKind::MissingKey, "tokenizer.ggml.add_eos_token", "true, but tokenizer.ggml.eos_token_id is not set");
  }

  // End-of-generation and other special tokens that llama.cpp recognizes by their text.
  void recognize_special_texts() {
    Tokenizer::Vocab& v = *v_;
    const auto mark_control = [&v](int32_t id) { v.attrs[id] |= text::kAttrControl; };
    if (v.eot == kNoToken) {
      for (std::string_view t : kEotTexts) {
        const int32_t id = v.find(t);
        if (id == kNoToken) continue;
        v.eot = id;
        mark_control(id);
        break;
      }
    }
    if (v.eom == kNoToken) {
      v.eom = v.find("<|eom_id|>");
      if (v.eom != kNoToken) mark_control(v.eom);
    }
    v.eog.assign(v.size(), false);
    for (const FimRole& role : kFimRoles) {
      int32_t id = special_id(role.key, kNoToken);
      for (size_t i = 0; id == kNoToken && i < role.texts.size(); ++i) {
        id = v.find(role.texts[i]);
        if (id != kNoToken) mark_control(id);
      }
      if (id != kNoToken) v.eog[id] = true;
    }
    for (std::string_view t : kEogTexts) {
      const int32_t id = v.find(t);
      if (id == kNoToken) continue;
      v.eog[id] = true;
      mark_control(id);
    }
    for (std::string_view t : kAlwaysRenderedTexts) {
      const int32_t id = v.find(t);
      if (id != kNoToken) v.attrs[id] = text::kAttrUserDefined;
    }
    for (int32_t id : {v.eos, v.eot, v.eom})
      if (id != kNoToken) v.eog[id] = true;
    // gpt-oss (o200k_harmony) ends a message with <|end|> but generation only with <|return|>
    // or <|call|>; likewise <|flush|> and <|calls|> elsewhere.
    const auto in_eog = [&v](std::string_view t) {
      const int32_t id = v.find(t);
      return id != kNoToken && v.eog[id];
    };
    const int32_t end = v.find("<|end|>");
    if (end != kNoToken && v.eog[end] &&
        ((in_eog("<|return|>") && in_eog("<|call|>")) || (in_eog("<|calls|>") && in_eog("<|flush|>")))) {
      v.eog[end] = false;
      v.attrs[end] = text::kAttrUserDefined;
    }
  }

  void index_special_tokens() {
    Tokenizer::Vocab& v = *v_;
    for (int32_t id = 0; id < v.size(); ++id)
      if (v.attrs[id] & (text::kAttrControl | text::kAttrUserDefined | text::kAttrUnknown)) v.special_tokens.push_back(id);
    std::sort(v.special_tokens.begin(), v.special_tokens.end(), [&v](int32_t a, int32_t b) {
      const size_t la = v.text(a).size();
      const size_t lb = v.text(b).size();
      return la != lb ? la > lb : a < b;
    });

    // Phi-3's chat markers swallow the whitespace after them (llama.cpp keys this on the name).
    std::string name(f_.get_string("general.name").value_or(""));
    std::transform(name.begin(), name.end(), name.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
      for (int32_t id : v.special_tokens) v.attrs[id] |= text::kAttrRstrip;
      if (const int32_t id = v.find("</s>"); id != kNoToken) v.attrs[id] |= text::kAttrRstrip;
      for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"})
        if (const int32_t id = v.find(t); id != kNoToken) v.attrs[id] &= static_cast<uint16_t>(~text::kAttrRstrip);
    }

    for (size_t k = 0; k < v.special_tokens.size(); ++k)
      v.special_by_first_byte[static_cast<uint8_t>(v.text(v.special_tokens[k])[0])].push_back(static_cast<uint32_t>(k));
  }

  void index_byte_tokens() {
    Tokenizer::Vocab& v = *v_;
    for (int b = 0; b < 256; ++b) {
      int32_t id = v.find(fmt::format("<0x{:02X}>", b));
      if (id == kNoToken) id = v.find(std::string(1, static_cast<char>(b)));
      v.byte_tokens[b] = id;
    }
  }

  const GgufFile& f_;
  std::unique_ptr<Tokenizer::Vocab> v_;
};

std::string_view tokenizer_kind_name(TokenizerKind k) {
  switch (k) {
    case TokenizerKind::Spm: return "spm";
    case TokenizerKind::Bpe: return "bpe";
  }
  return "?";
}

Tokenizer::Tokenizer(std::unique_ptr<const Vocab> vocab) : vocab_(std::move(vocab)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_gguf(const GgufFile& file) { return Tokenizer(Vocab::Loader(file).load()); }

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Vocab& v = *vocab_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && v.add_bos) out.push_back(v.bos);
  // SentencePiece puts a space in front of the text, and again after each special token.
  bool after_special = true;
  for (const text::Fragment& f : v.partition(text, parse_special)) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    const std::string_view raw = text.substr(f.begin, f.length);
    if (v.kind == TokenizerKind::Spm) {
      v.encode_spm(raw, v.add_space_prefix && after_special, out);
    } else {
      v.encode_bpe(raw, out);
    }
    after_special = false;
  }
  if (add_special && v.add_eos) out.push_back(v.eos);
  return out;
}

namespace {

void check_id(int32_t id, int32_t n_vocab) {
  if (id < 0 || id >= n_vocab)
    throw std::out_of_range(fmt::format("token id {} is outside the vocabulary ({} tokens)", id, n_vocab));
}

}  // namespace

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  const Vocab& v = *vocab_;
  std::string out;
  const size_t strip_at = !ids.empty() && ids[0] == v.bos ? 1 : 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    check_id(ids[i], v.size());
    std::string p = v.piece(ids[i], render_special);
    if (v.add_space_prefix && i == strip_at && !p.empty() && p[0] == ' ') p.erase(0, 1);
    out += p;
  }
  return v.clean_spaces ? text::clean_up_spaces(out) : out;
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  check_id(id, vocab_->size());
  return vocab_->piece(id, true);
}

TokenizerKind Tokenizer::kind() const { return vocab_->kind; }
std::string_view Tokenizer::pre_tokenizer() const { return vocab_->pre_name; }
int32_t Tokenizer::n_vocab() const { return vocab_->size(); }
int32_t Tokenizer::bos() const { return vocab_->bos; }
int32_t Tokenizer::eos() const { return vocab_->eos; }
int32_t Tokenizer::eot() const { return vocab_->eot; }
int32_t Tokenizer::unk() const { return vocab_->unk; }
int32_t Tokenizer::pad() const { return vocab_->pad; }
bool Tokenizer::add_bos() const { return vocab_->add_bos; }
bool Tokenizer::add_eos() const { return vocab_->add_eos; }

bool Tokenizer::is_eog(int32_t id) const { return id >= 0 && id < vocab_->size() && vocab_->eog[id]; }

std::string_view Tokenizer::token_text(int32_t id) const {
  check_id(id, vocab_->size());
  return vocab_->text(id);
}

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(id, vocab_->size());
  return vocab_->types[id];
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = vocab_->find(text);
  if (id == kNoToken) return std::nullopt;
  return id;
}

}  // namespace llmc
