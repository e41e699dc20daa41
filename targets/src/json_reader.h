// Typed, path-tracking access to parsed JSON. Every failure throws Error with
// "<origin>: <field path>: <what was expected>", so messages name the file and the field.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace llmc::targets::detail {

inline std::string_view json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

template <class Error>
class JsonReader {
 public:
  JsonReader(const nlohmann::json& value, std::string origin, std::string path = {})
      : value_(&value), origin_(std::move(origin)), path_(std::move(path)) {}

  const nlohmann::json& raw() const { return *value_; }
  const std::string& path() const { return path_; }
  const std::string& origin() const { return origin_; }

  [[noreturn]] void fail(std::string_view message) const {
    throw Error(fmt::format("{}: {}: {}", origin_, path_.empty() ? std::string("top level") : path_, message));
  }
  [[noreturn]] void fail_expected(std::string_view expected) const {
    fail(fmt::format("expected {}, got {}", expected, describe()));
  }

  void require_object() const {
    if (!value_->is_object()) fail_expected("an object");
  }
  void require_array() const {
    if (!value_->is_array()) fail_expected("an array");
  }

  bool has(std::string_view key) const {
    require_object();
    auto it = value_->find(key);
    return it != value_->end() && !it->is_null();
  }
  JsonReader field(std::string_view key) const {
    require_object();
    auto it = value_->find(key);
    if (it == value_->end() || it->is_null()) fail(fmt::format("missing required field '{}'", key));
    return JsonReader(*it, origin_, child_path(key));
  }
  std::optional<JsonReader> optional_field(std::string_view key) const {
    if (!has(key)) return std::nullopt;
    return field(key);
  }
  // Rejects keys outside `known` so that a misspelled field is an error, not a silent default.
  void only_keys(std::initializer_list<std::string_view> known) const {
    only_keys(std::span<const std::string_view>(known.begin(), known.size()));
  }
  void only_keys(std::span<const std::string_view> known) const {
    require_object();
    for (const auto& item : value_->items()) {
      const std::string& key = item.key();
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (!found) {
        std::string list;
        for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        fail(fmt::format("unknown field '{}'; expected one of: {}", key, list));
      }
    }
  }

  size_t size() const {
    require_array();
    return value_->size();
  }
  JsonReader element(size_t i) const {
    require_array();
    return JsonReader((*value_)[i], origin_, fmt::format("{}[{}]", path_, i));
  }

  std::string as_string() const {
    if (!value_->is_string()) fail_expected("a string");
    return value_->get<std::string>();
  }
  std::string as_nonempty_string() const {
    std::string s = as_string();
    if (s.empty()) fail("expected a non-empty string");
    return s;
  }
  bool as_bool() const {
    if (!value_->is_boolean()) fail_expected("true or false");
    return value_->get<bool>();
  }
  double as_number() const {
    if (!value_->is_number()) fail_expected("a number");
    double v = value_->get<double>();
    if (!std::isfinite(v)) fail("expected a finite number");
    return v;
  }
  double as_number_in(double lo, double hi, std::string_view what) const {
    double v = as_number();
    if (!(v >= lo && v <= hi)) fail(fmt::format("{} {} is out of range; expected {}", what, v, range_text(lo, hi)));
    return v;
  }
  int64_t as_int_in(int64_t lo, int64_t hi) const {
    const auto& v = *value_;
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (hi < 0 || u > static_cast<uint64_t>(hi) || static_cast<int64_t>(u) < lo) fail_range(lo, hi);
      return static_cast<int64_t>(u);
    }
    if (v.is_number_integer()) {
      int64_t i = v.get<int64_t>();
      if (i < lo || i > hi) fail_range(lo, hi);
      return i;
    }
    fail_expected(fmt::format("an integer {}..{}", lo, hi));
  }
  uint64_t as_uint64_in(uint64_t lo, uint64_t hi) const {
    const auto& v = *value_;
    if (!v.is_number_integer()) fail_expected(fmt::format("an integer {}..{}", lo, hi));
    if (!v.is_number_unsigned() && v.get<int64_t>() < 0) fail(fmt::format("expected an integer {}..{}, got {}", lo, hi, v.dump()));
    uint64_t u = v.get<uint64_t>();
    if (u < lo || u > hi) fail(fmt::format("expected an integer {}..{}, got {}", lo, hi, u));
    return u;
  }

 private:
  std::string child_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }
  std::string describe() const {
    const auto& v = *value_;
    if (v.is_string() || v.is_number() || v.is_boolean()) {
      std::string text = v.dump();
      if (text.size() > 40) text = text.substr(0, 37) + "...";
      return fmt::format("{} {}", json_type_name(v), text);
    }
    return std::string(json_type_name(v));
  }
  static std::string range_text(double lo, double hi) { return fmt::format("{}..{}", lo, hi); }
  [[noreturn]] void fail_range(int64_t lo, int64_t hi) const {
    fail(fmt::format("expected an integer {}..{}, got {}", lo, hi, value_->dump()));
  }

  const nlohmann::json* value_;
  std::string origin_;
  std::string path_;
};

}  // namespace llmc::targets::detail
