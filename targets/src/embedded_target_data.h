// The JSON files under targets/, compiled into the library by targets/CMakeLists.txt.
#pragma once

#include <span>
#include <string_view>

namespace llmc::targets::detail {

struct EmbeddedTargetFile {
  std::string_view path;  // relative to targets/: "chips.json", "devices/p40.json"
  std::string_view text;
};

std::span<const EmbeddedTargetFile> embedded_target_files();

}  // namespace llmc::targets::detail
