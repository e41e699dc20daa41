#include "pretokenizer.h"

#include <memory>
#include <utility>

namespace llmc::text {
namespace {

// The patterns are llama.cpp's (src/llama-vocab.cpp), which adapt each model's tokenizer.json.
// Non-ASCII characters are written as universal character names so that no editor or tool can
// normalize them into other code points.

constexpr std::string_view kGpt2 = R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))re";

constexpr std::string_view kLlama3 =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})re"
    R"re(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Llama 3's pattern with single digits.
constexpr std::string_view kQwen2 =
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})re"
    R"re(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Letters with case (Lu, Ll, Lt), as ranges.
constexpr std::string_view kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF"
    "\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5"
    "\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA"
    "\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45"
    "\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE"
    "\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC"
    "\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139"
    "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3"
    "\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06"
    "\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3"
    "\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF"
    "\U0001E900-\U0001E943]+";

// CJK ideographs, everything from U+0800 up to them, and Hangul.
constexpr std::string_view kDeepseekCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";

constexpr std::string_view kPoro = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";

// Upper-then-lower letter runs; std::regex sees any non-ASCII letter as both cases, and so do we.
constexpr std::string_view kTekken =
    R"re([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+)re"
    R"re(|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*)re"
    R"re(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

constexpr std::string_view kGpt4o =
    R"re([^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+)re"
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?)re"
    R"re(|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*)re"
    R"re((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?)re"
    R"re(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

constexpr std::string_view kDeepseekV3Main =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)re"
    R"re(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

struct Family {
  std::vector<std::string_view> patterns;
};

struct Entry {
  std::vector<std::string_view> names;
  const Family* family;
  bool clean_spaces;
  bool ignore_merges;
  std::optional<bool> add_bos;
};

struct Registry {
  std::vector<std::pair<std::string_view, const PreTokenizer*>> by_name;
  std::vector<std::unique_ptr<PreTokenizer>> owned;

  Registry() {
    static const Family kDefaultFamily{{R"re([\p{P}\$\+<=>\^~\|]+)re", kGpt2, R"re(\p{N}+)re", "[0-9][0-9][0-9]"}};
    static const Family kGpt2Family{{kGpt2}};
    static const Family kLlama3Family{{kLlama3}};
    static const Family kQwen2Family{{kQwen2}};
    static const Family kFalconFamily{{R"re([\p{P}\$\+<=>\^~\|`]+)re", kGpt2, "[0-9][0-9][0-9]"}};
    static const Family kStarcoderFamily{{R"re(\p{N})re", kGpt2}};
    static const Family kDeepseekLlmFamily{{"[\r\n]", kDeepseekLlmLetters,
                                            "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
                                            "\\s+$", kDeepseekCjk, R"re(\p{N}+)re"}};
    static const Family kDeepseekCoderFamily{
        {"[\r\n]", R"re(\s?\p{L}+)re", R"re(\s?\p{P}+)re", kDeepseekCjk, R"re(\p{N})re"}};
    static const Family kDeepseekV3Family{
        {R"re(\p{N}{1,3})re", "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+", kDeepseekV3Main}};
    static const Family kPoroFamily{{kPoro}};
    static const Family kVikingFamily{{kPoro, R"re(\p{N})re"}};
    static const Family kTekkenFamily{{kTekken}};
    static const Family kGpt4oFamily{{kGpt4o}};

    const std::vector<Entry> entries = {
        {{"default"}, &kDefaultFamily, true, false, std::nullopt},
        {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
         &kLlama3Family, true, true, true},
        {{"dbrx", "smaug-bpe"}, &kLlama3Family, true, false, std::nullopt},
        {{"qwen2", "deepseek-r1-qwen"}, &kQwen2Family, false, false, std::nullopt},
        {{"stablelm2", "megrez"}, &kQwen2Family, true, false, std::nullopt},
        {{"gpt-2", "mpt", "phi-2", "olmo", "jais", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat",
          "a.x-4.0", "mellum", "exaone4"},
         &kGpt2Family, true, false, std::nullopt},
        {{"trillion", "granite-docling"}, &kGpt2Family, false, false, std::nullopt},
        {{"falcon"}, &kFalconFamily, true, false, std::nullopt},
        {{"starcoder", "refact", "codeshell", "exaone", "minerva-7b"}, &kStarcoderFamily, true, false, std::nullopt},
        {{"command-r", "smollm"}, &kStarcoderFamily, false, false, std::nullopt},
        {{"deepseek-llm"}, &kDeepseekLlmFamily, false, false, std::nullopt},
        {{"deepseek-coder"}, &kDeepseekCoderFamily, false, false, std::nullopt},
        {{"deepseek-v3"}, &kDeepseekV3Family, false, false, std::nullopt},
        {{"poro-chat"}, &kPoroFamily, false, false, std::nullopt},
        {{"bloom", "gpt3-finnish"}, &kPoroFamily, true, false, std::nullopt},
        {{"viking"}, &kVikingFamily, false, false, std::nullopt},
        {{"tekken"}, &kTekkenFamily, false, true, true},
        {{"gpt-4o", "llama4"}, &kGpt4oFamily, false, false, std::nullopt},
    };
    for (const Entry& e : entries) {
      owned.push_back(std::make_unique<PreTokenizer>(e.family->patterns, e.clean_spaces, e.ignore_merges, e.add_bos));
      for (std::string_view name : e.names) by_name.emplace_back(name, owned.back().get());
    }
  }
};

const Registry& registry() {
  static const Registry r;
  return r;
}

}  // namespace

PreTokenizer::PreTokenizer(const std::vector<std::string_view>& patterns, bool clean_spaces, bool ignore_merges,
                           std::optional<bool> add_bos)
    : clean_spaces_(clean_spaces), ignore_merges_(ignore_merges), add_bos_(add_bos) {
  patterns_.reserve(patterns.size());
  for (std::string_view p : patterns) patterns_.emplace_back(p);
}

const PreTokenizer* PreTokenizer::find(std::string_view pre) {
  for (const auto& [name, p] : registry().by_name)
    if (name == pre) return p;
  return nullptr;
}

std::vector<std::string_view> PreTokenizer::names() {
  std::vector<std::string_view> out;
  for (const auto& entry : registry().by_name) out.push_back(entry.first);
  return out;
}

std::vector<size_t> PreTokenizer::split_ends(const CodepointText& text) const {
  std::vector<size_t> ends;
  if (text.size() == 0) return ends;
  ends.push_back(text.size());
  std::vector<size_t> next;
  for (const SplitPattern& pattern : patterns_) {
    next.clear();
    size_t begin = 0;
    for (size_t end : ends) {
      pattern.split(text, begin, end, next);
      begin = end;
    }
    ends.swap(next);
  }
  return ends;
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  const CodepointText cps(text);
  std::vector<std::string> words;
  size_t begin = 0;
  for (size_t end : split_ends(cps)) {
    words.push_back(cps.utf8(begin, end));
    begin = end;
  }
  return words;
}

}  // namespace llmc::text
