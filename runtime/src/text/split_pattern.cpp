#include "split_pattern.h"

#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "unicode_text.h"

namespace llmc::text {

CodepointText::CodepointText(std::string_view utf8) {
  cps.reserve(utf8.size());
  for (size_t offset = 0; offset < utf8.size();) cps.push_back(decode_utf8(utf8, offset));
  view.resize(cps.size());
  classes.resize(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    classes[i] = char_classes(cps[i]);
    view[i] = pattern_view(cps[i], classes[i]);
  }
}

std::string CodepointText::utf8(size_t begin, size_t end) const {
  std::string out;
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) append_utf8(out, cps[i]);
  return out;
}

bool SplitPattern::CharSet::contains(uint32_t view, uint8_t cls) const {
  bool in = (cls & classes) != 0;
  for (size_t i = 0; !in && i < ranges.size(); ++i) in = ranges[i].first <= view && view <= ranges[i].second;
  return in != negated;
}

struct SplitPattern::Node {
  enum class Kind { Char, Set, Any, Begin, End, Concat, Alternate, Repeat, Look };
  explicit Node(Kind k) : kind(k) {}
  Kind kind;
  uint32_t value = 0;   // Char: code point; Set: index
  int min = 0;          // Repeat
  int max = 0;          // Repeat; -1: unbounded
  bool negate = false;  // Look
  std::vector<Node> children;

  bool nullable() const {
    switch (kind) {
      case Kind::Char:
      case Kind::Set:
      case Kind::Any: return false;
      case Kind::Begin:
      case Kind::End:
      case Kind::Look: return true;
      case Kind::Concat:
        for (const Node& c : children)
          if (!c.nullable()) return false;
        return true;
      case Kind::Alternate:
        for (const Node& c : children)
          if (c.nullable()) return true;
        return false;
      case Kind::Repeat: return min == 0 || children[0].nullable();
    }
    return false;
  }
};

// Recursive descent over the pattern's code points.
class SplitPattern::Parser {
 public:
  Parser(std::string_view source, std::vector<CharSet>& sets) : source_(source), sets_(sets) {
    for (size_t offset = 0; offset < source.size();) cps_.push_back(decode_utf8(source, offset));
  }

  Node parse() {
    Node n = alternation();
    if (pos_ < cps_.size()) fail("unbalanced ')'");
    return n;
  }

  [[noreturn]] void fail(std::string_view what) const {
    throw std::invalid_argument(fmt::format("pre-tokenizer pattern '{}': {} at code point {}", source_, what, pos_));
  }

 private:
  bool at_end() const { return pos_ >= cps_.size(); }
  uint32_t peek(size_t ahead = 0) const { return pos_ + ahead < cps_.size() ? cps_[pos_ + ahead] : 0; }
  uint32_t next() {
    if (at_end()) fail("unexpected end");
    return cps_[pos_++];
  }

  Node alternation() {
    Node first = concatenation();
    if (at_end() || peek() != '|') return first;
    Node alt{Node::Kind::Alternate};
    alt.children.push_back(std::move(first));
    while (!at_end() && peek() == '|') {
      ++pos_;
      alt.children.push_back(concatenation());
    }
    return alt;
  }

  Node concatenation() {
    Node seq{Node::Kind::Concat};
    while (!at_end() && peek() != '|' && peek() != ')') seq.children.push_back(quantified());
    return seq;
  }

  Node quantified() {
    Node atom_node = atom();
    while (!at_end()) {
      int min = 0;
      int max = 0;
      const uint32_t c = peek();
      if (c == '*' || c == '+' || c == '?') {
        ++pos_;
        min = c == '+' ? 1 : 0;
        max = c == '?' ? 1 : -1;
      } else if (c == '{') {
        ++pos_;
        min = max = number();
        if (peek() == ',') {
          ++pos_;
          max = peek() == '}' ? -1 : number();
        }
        if (next() != '}') fail("malformed {n,m}");
        if (max >= 0 && max < min) fail("{n,m} with m < n");
      } else {
        break;
      }
      if (!at_end() && peek() == '?') fail("lazy quantifiers are not supported");
      if (max < 0 && atom_node.nullable()) fail("unbounded repetition of something that can match nothing");
      Node rep{Node::Kind::Repeat};
      rep.min = min;
      rep.max = max;
      rep.children.push_back(std::move(atom_node));
      atom_node = std::move(rep);
    }
    return atom_node;
  }

  int number() {
    if (at_end() || peek() < '0' || peek() > '9') fail("expected a number");
    int v = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + static_cast<int>(next() - '0');
      if (v > 1000) fail("repetition count too large");
    }
    return v;
  }

  Node atom() {
    const uint32_t c = next();
    switch (c) {
      case '(': return group();
      case '[': return set_node(char_set());
      case '.': return Node{Node::Kind::Any};
      case '^': return Node{Node::Kind::Begin};
      case '$': return Node{Node::Kind::End};
      case '\\': return escape_outside_set();
      case '*':
      case '+':
      case '?':
      case '{': fail("quantifier without operand");
      case ')': fail("unbalanced ')'");
      default: return char_node(c);
    }
  }

  Node group() {
    bool look = false;
    bool negate = false;
    if (peek() == '?') {
      ++pos_;
      const uint32_t kind = next();
      if (kind == '=' || kind == '!') {
        look = true;
        negate = kind == '!';
      } else if (kind != ':') {
        fail("unsupported group kind");
      }
    }
    Node inner = alternation();
    if (next() != ')') fail("missing ')'");
    if (!look) return inner;
    Node n{Node::Kind::Look};
    n.negate = negate;
    n.children.push_back(std::move(inner));
    return n;
  }

  static Node char_node(uint32_t c) {
    Node n{Node::Kind::Char};
    n.value = c;
    return n;
  }

  Node set_node(CharSet set) {
    Node n{Node::Kind::Set};
    n.value = static_cast<uint32_t>(sets_.size());
    sets_.push_back(std::move(set));
    return n;
  }

  // The class bit of \p{X}, after the 'p' or 'P'.
  uint8_t category() {
    if (next() != '{') fail("expected '{' after \\p");
    std::string name;
    while (!at_end() && peek() != '}') name += static_cast<char>(next());
    if (next() != '}') fail("missing '}'");
    if (name == "L") return kLetter;
    if (name == "N") return kNumber;
    if (name == "P") return kPunctuation;
    if (name == "S") return kSymbol;
    if (name == "M") return kMark;
    fail(fmt::format("unsupported category \\p{{{}}}", name));
  }

  static std::optional<uint32_t> control_escape(uint32_t c) {
    switch (c) {
      case 'r': return '\r';
      case 'n': return '\n';
      case 't': return '\t';
      case 'f': return '\f';
      case 'v': return '\v';
      default: return std::nullopt;
    }
  }

  static bool is_alnum(uint32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

  static void add_shorthand(CharSet& set, uint32_t c) {
    switch (c) {
      case 's': set.classes |= kWhitespace; break;
      case 'd': set.ranges.emplace_back('0', '9'); break;
      case 'w':
        set.ranges.emplace_back('0', '9');
        set.ranges.emplace_back('A', 'Z');
        set.ranges.emplace_back('a', 'z');
        set.ranges.emplace_back('_', '_');
        break;
      default: break;
    }
  }

  Node escape_outside_set() {
    const uint32_t c = next();
    if (auto ctl = control_escape(c)) return char_node(*ctl);
    CharSet set;
    switch (c) {
      case 's':
      case 'd':
      case 'w': add_shorthand(set, c); return set_node(std::move(set));
      case 'S':
      case 'D':
      case 'W':
        add_shorthand(set, c - 'A' + 'a');
        set.negated = true;
        return set_node(std::move(set));
      case 'p':
      case 'P':
        set.classes = category();
        set.negated = c == 'P';
        return set_node(std::move(set));
      default:
        if (is_alnum(c)) fail("unsupported escape");
        return char_node(c);
    }
  }

  // One member of a bracket expression: adds a class to `set` and returns nullopt, or returns
  // the code point of a literal (which may start a range).
  std::optional<uint32_t> set_member(CharSet& set) {
    const uint32_t c = next();
    if (c != '\\') return c;
    const uint32_t e = next();
    if (auto ctl = control_escape(e)) return *ctl;
    switch (e) {
      case 's':
      case 'd':
      case 'w': add_shorthand(set, e); return std::nullopt;
      case 'p': set.classes |= category(); return std::nullopt;
      default:
        if (is_alnum(e)) fail("unsupported escape in a character class");
        return e;
    }
  }

  CharSet char_set() {
    CharSet set;
    if (peek() == '^') {
      set.negated = true;
      ++pos_;
    }
    while (!at_end() && peek() != ']') {
      const std::optional<uint32_t> lo = set_member(set);
      if (!lo) continue;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < cps_.size()) {
        ++pos_;
        const std::optional<uint32_t> hi = set_member(set);
        if (!hi || *hi < *lo) fail("bad range in a character class");
        set.ranges.emplace_back(*lo, *hi);
      } else {
        set.ranges.emplace_back(*lo, *lo);
      }
    }
    if (next() != ']') fail("missing ']'");
    return set;
  }

  std::string_view source_;
  std::vector<CharSet>& sets_;
  std::vector<uint32_t> cps_;
  size_t pos_ = 0;
};

SplitPattern::SplitPattern(std::string_view pattern) : source_(pattern) {
  Parser parser(pattern, sets_);
  const Node root = parser.parse();
  if (root.nullable()) parser.fail("the pattern can match the empty string");
  compile(root);
  emit({Op::Match});
}

uint32_t SplitPattern::emit(Inst inst) {
  program_.push_back(inst);
  return static_cast<uint32_t>(program_.size() - 1);
}

void SplitPattern::compile(const Node& node) {
  const auto here = [&] { return static_cast<uint32_t>(program_.size()); };
  switch (node.kind) {
    case Node::Kind::Char: emit({Op::Char, false, node.value}); break;
    case Node::Kind::Set: emit({Op::Set, false, node.value}); break;
    case Node::Kind::Any: emit({Op::Any}); break;
    case Node::Kind::Begin: emit({Op::AssertBegin}); break;
    case Node::Kind::End: emit({Op::AssertEnd}); break;
    case Node::Kind::Concat:
      for (const Node& c : node.children) compile(c);
      break;
    case Node::Kind::Alternate: {
      std::vector<uint32_t> exits;
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i + 1 == node.children.size()) {
          compile(node.children[i]);
          break;
        }
        const uint32_t split = emit({Op::Split});
        program_[split].a = here();
        compile(node.children[i]);
        exits.push_back(emit({Op::Jump}));
        program_[split].b = here();
      }
      for (uint32_t j : exits) program_[j].a = here();
      break;
    }
    case Node::Kind::Repeat: {
      const Node& body = node.children[0];
      for (int i = 0; i < node.min; ++i) compile(body);
      if (node.max < 0) {
        const uint32_t split = emit({Op::Split});
        program_[split].a = here();
        compile(body);
        emit({Op::Jump, false, split});
        program_[split].b = here();
      } else {
        // Nested optionals: once one copy is skipped, so are the rest.
        std::vector<uint32_t> splits;
        for (int i = node.min; i < node.max; ++i) {
          splits.push_back(emit({Op::Split}));
          program_[splits.back()].a = here();
          compile(body);
        }
        for (uint32_t s : splits) program_[s].b = here();
      }
      break;
    }
    case Node::Kind::Look: {
      const uint32_t look = emit({Op::Look, node.negate});
      compile(node.children[0]);
      emit({Op::Match});
      program_[look].b = here();
      break;
    }
  }
}

bool SplitPattern::run(uint32_t start_pc, const CodepointText& text, size_t begin, size_t end, size_t start_pos,
                       size_t& match_end, std::vector<std::pair<uint32_t, size_t>>& pending) const {
  // Alternatives still to try, most recent first: this is what makes the first match found the
  // one ECMAScript's backtracking would report. Entries below `base` belong to the caller.
  const size_t base = pending.size();
  pending.emplace_back(start_pc, start_pos);
  while (pending.size() > base) {
    auto [pc, pos] = pending.back();
    pending.pop_back();
    for (bool alive = true; alive;) {
      const Inst& inst = program_[pc];
      switch (inst.op) {
        case Op::Char:
          alive = pos < end && text.view[pos] == inst.a;
          ++pos;
          ++pc;
          break;
        case Op::Set:
          alive = pos < end && sets_[inst.a].contains(text.view[pos], text.classes[pos]);
          ++pos;
          ++pc;
          break;
        case Op::Any:
          alive = pos < end && text.view[pos] != '\n' && text.view[pos] != '\r';
          ++pos;
          ++pc;
          break;
        case Op::AssertBegin:
          alive = pos == begin;
          ++pc;
          break;
        case Op::AssertEnd:
          alive = pos == end;
          ++pc;
          break;
        case Op::Split:
          pending.emplace_back(inst.b, pos);
          pc = inst.a;
          break;
        case Op::Jump: pc = inst.a; break;
        case Op::Look: {
          size_t ignored = 0;
          alive = run(pc + 1, text, begin, end, pos, ignored, pending) != inst.negate;
          pc = inst.b;
          break;
        }
        case Op::Match:
          match_end = pos;
          pending.resize(base);
          return true;
      }
    }
  }
  return false;
}

size_t SplitPattern::match_at(const CodepointText& text, size_t begin, size_t end, size_t pos) const {
  thread_local std::vector<std::pair<uint32_t, size_t>> pending;
  size_t match_end = pos;
  return run(0, text, begin, end, pos, match_end, pending) ? match_end : pos;
}

void SplitPattern::split(const CodepointText& text, size_t begin, size_t end, std::vector<size_t>& ends) const {
  size_t unmatched_from = begin;
  for (size_t pos = begin; pos < end;) {
    const size_t match_end = match_at(text, begin, end, pos);
    if (match_end == pos) {
      ++pos;
      continue;
    }
    if (pos > unmatched_from) ends.push_back(pos);
    ends.push_back(match_end);
    unmatched_from = pos = match_end;
  }
  if (unmatched_from < end) ends.push_back(end);
}

}  // namespace llmc::text
