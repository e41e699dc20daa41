// Small file and JSON helpers shared by the llmc verbs.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace llmc::cli {

// Writes `text` to `path` whole or not at all: a temporary file beside it, then a rename. Throws
// std::runtime_error naming the path.
inline void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out.good()) {
      std::remove(tmp.c_str());
      throw std::runtime_error(fmt::format("{}: cannot write", path));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot write", path));
  }
}

// j[key] as T (any nlohmann JSON flavour); a missing key or a wrong type throws std::runtime_error
// naming `where` and the key.
template <typename T, typename Json>
T json_field(const Json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw std::runtime_error(fmt::format("{}: missing field '{}'", where, key));
  try {
    return j.at(key).template get<T>();
  } catch (const typename Json::exception&) {
    throw std::runtime_error(fmt::format("{}: field '{}' has the wrong type", where, key));
  }
}

}  // namespace llmc::cli
