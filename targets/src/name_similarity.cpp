#include "name_similarity.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace llmc::targets::detail {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string without_separators(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_' && c != ' ') out += c;
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Smaller is closer.
size_t distance(const std::string& query, const std::string& candidate) {
  size_t d = std::min(edit_distance(query, candidate),
                      edit_distance(without_separators(query), without_separators(candidate)));
  // A query that is part of a name ("p104", "4090") is what people type when they half remember it.
  // Shorter queries would match everything.
  if (query.size() >= 3) {
    if (candidate.find(query) != std::string::npos) return 0;
    if (candidate.size() > query.size()) d = std::min(d, 1 + edit_distance(query, candidate.substr(0, query.size())));
  }
  return d;
}

}  // namespace

std::vector<std::string> closest_names(std::string_view query, const std::vector<std::string>& candidates,
                                       size_t max) {
  const std::string q = lowercase(query);
  const size_t threshold = q.size() <= 4 ? 1 : std::max<size_t>(2, q.size() / 4);
  // (distance, position): ties keep the candidates' order.
  std::vector<std::pair<size_t, size_t>> scored;
  for (size_t i = 0; i < candidates.size(); ++i) {
    size_t d = distance(q, lowercase(candidates[i]));
    if (d <= threshold) scored.emplace_back(d, i);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && out.size() < max; ++i) out.push_back(candidates[scored[i].second]);
  return out;
}

std::string join_names(const std::vector<std::string>& names, std::string_view last_separator) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += (i + 1 == names.size()) ? std::string(last_separator) : std::string(", ");
    out += names[i];
  }
  return out;
}

}  // namespace llmc::targets::detail
