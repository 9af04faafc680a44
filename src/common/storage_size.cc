#include "common/storage_size.h"

#include <cctype>
#include <limits>

namespace nexus {
namespace {

struct Unit {
  char letter;
  int shift;
};
constexpr Unit kUnits[] = {{'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}, {'p', 50}};

// More fraction digits than this cannot change the result at the largest unit.
constexpr size_t kMaxFractionDigits = 18;

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgumentError("storage size '" + std::string(text) + "' " + std::string(why) +
                              " (examples: 512M, 1G, 1.5G, 1073741824)");
}

}  // namespace

Result<int64_t> ParseStorageSize(std::string_view text) {
  size_t i = 0;
  uint64_t whole = 0;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    // Checked before the step: whole * 10 + digit may not exceed kMax, and
    // computing it first could wrap around 2^64 to a small number.
    if (whole > (kMax - digit) / 10) return Bad(text, "is too large");
    whole = whole * 10 + digit;
    ++i;
  }
  if (i == 0) return Bad(text, "must start with a number");
  uint64_t fraction = 0;  // the digits after '.', as an integer
  uint64_t fraction_scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t first = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (i - first < kMaxFractionDigits) {
        fraction = fraction * 10 + static_cast<uint64_t>(text[i] - '0');
        fraction_scale *= 10;
      }
      ++i;
    }
    if (i == first) return Bad(text, "has no digits after '.'");
  }
  int shift = 0;
  if (i < text.size()) {
    char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    bool found = false;
    for (const auto& u : kUnits) {
      if (u.letter == letter) {
        shift = u.shift;
        found = true;
      }
    }
    if (!found && letter != 'b') return Bad(text, "has an unknown unit");
    ++i;
    std::string_view rest = text.substr(i);
    if (found && !(rest.empty() || rest == "i" || rest == "I" || rest == "b" || rest == "B" ||
                   rest == "ib" || rest == "iB" || rest == "IB" || rest == "Ib")) {
      return Bad(text, "has an unknown unit");
    }
    if (!found && !rest.empty()) return Bad(text, "has an unknown unit");
  }
  if (shift == 0 && fraction_scale > 1) return Bad(text, "is a fraction of a byte");
  if (shift > 0 && whole > (kMax >> shift)) return Bad(text, "is too large");
  uint64_t bytes = whole << shift;
  // fraction / scale of one unit, rounded down; (fraction << shift) cannot
  // overflow: fraction < 10^18 < 2^60 and the product is computed in parts.
  if (fraction > 0) {
    unsigned __int128 part = (static_cast<unsigned __int128>(fraction) << shift) / fraction_scale;
    if (part > kMax - bytes) return Bad(text, "is too large");
    bytes += static_cast<uint64_t>(part);
  }
  return static_cast<int64_t>(bytes);
}

std::string FormatStorageSize(int64_t bytes) {
  if (bytes <= 0) return std::to_string(bytes);
  for (int k = static_cast<int>(std::size(kUnits)) - 1; k >= 0; --k) {
    int64_t unit = int64_t{1} << kUnits[k].shift;
    if (bytes % unit == 0) {
      return std::to_string(bytes / unit) +
             static_cast<char>(std::toupper(static_cast<unsigned char>(kUnits[k].letter)));
    }
  }
  return std::to_string(bytes);
}

}  // namespace nexus
