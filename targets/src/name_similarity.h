// "Did you mean" support for misspelled profile and architecture names.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace llmc::targets::detail {

// Candidates close to `query`, best first, at most `max`. Closeness forgives case, '-'/'_'
// placement, a typo or two, and a query that is a prefix or part of a name ("p104", "4090").
std::vector<std::string> closest_names(std::string_view query, const std::vector<std::string>& candidates,
                                       size_t max);

// "a, b or c" for messages.
std::string join_names(const std::vector<std::string>& names, std::string_view last_separator = " or ");

}  // namespace llmc::targets::detail
