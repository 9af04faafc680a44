#include "gateway/formats/range_header.h"

#include <charconv>
#include <limits>

namespace nexus::gateway {
namespace {

constexpr std::string_view kSpace = " \t";

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// 1*DIGIT as a non-negative int64, INT64_MAX for a number larger than that
// (RFC 9110 puts no bound on it, and it is past the end of every file
// either way); nullopt for anything else.
std::optional<int64_t> Digits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<int64_t>::max();
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<RequestedRange> ParseRangeHeader(std::string_view value) {
  value = Trim(value);
  const size_t eq = value.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  std::string_view unit = Trim(value.substr(0, eq));
  // Range units are case-insensitive (RFC 9110 §14.1).
  if (unit.size() != 5) return std::nullopt;
  for (size_t i = 0; i < 5; ++i) {
    char c = unit[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "bytes"[i]) return std::nullopt;
  }
  std::string_view spec = Trim(value.substr(eq + 1));
  // Several ranges (or a list with empty elements): served as a whole file.
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view first = Trim(spec.substr(0, dash));
  std::string_view last = Trim(spec.substr(dash + 1));
  if (first.empty()) {
    std::optional<int64_t> n = Digits(last);
    if (!n) return std::nullopt;
    if (*n == 0) return RequestedRange{0, 0};
    return RequestedRange{-*n, -1};
  }
  std::optional<int64_t> a = Digits(first);
  if (!a) return std::nullopt;
  if (last.empty()) return RequestedRange{*a, -1};
  std::optional<int64_t> b = Digits(last);
  // last < first is invalid syntax (RFC 9110 §14.1.1): ignore the header.
  if (!b || *b < *a) return std::nullopt;
  if (*b - *a == std::numeric_limits<int64_t>::max()) return RequestedRange{*a, -1};
  return RequestedRange{*a, *b - *a + 1};
}

std::string ContentRange(int64_t offset, int64_t length, int64_t size) {
  return "bytes " + std::to_string(offset) + "-" + std::to_string(offset + length - 1) + "/" +
         std::to_string(size);
}

std::string UnsatisfiedContentRange(int64_t size) { return "bytes */" + std::to_string(size); }

}  // namespace nexus::gateway
