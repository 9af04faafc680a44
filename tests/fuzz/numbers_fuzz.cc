// libFuzzer target for the number parsers that see client text: storage
// sizes (src/common/storage_size.h, a node's storage_size) and the
// Range header (src/gateway/formats/range_header.h).
//
// Input layout: byte 0 chooses the parser, the rest is the text. Besides the
// sanitizers, the oracles are a reference computed in 128 bits for sizes
// without a fraction (accepted exactly when the true value fits in int64,
// and then equal to it) and, for every parse, the invariants the callers
// rely on: a size is never negative; a range's offset and length never
// overflow when added.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "common/storage_size.h"
#include "gateway/formats/range_header.h"

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// "<digits>[unit[i][b]]" without a fraction, in 128 bits (saturating far
// above int64); nullopt for any other text, which the oracle leaves alone.
std::optional<unsigned __int128> ReferenceSize(std::string_view text) {
  size_t i = 0;
  unsigned __int128 whole = 0;
  constexpr unsigned __int128 kCap = static_cast<unsigned __int128>(1) << 70;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    if (whole > kCap) whole = kCap;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string rest(text.substr(i));
  for (char& c : rest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (rest.empty() || rest == "b") return whole;
  static constexpr std::string_view kUnits = "kmgtp";
  const size_t unit = kUnits.find(rest[0]);
  if (unit == std::string_view::npos) return std::nullopt;
  const std::string suffix = rest.substr(1);
  if (!(suffix.empty() || suffix == "i" || suffix == "b" || suffix == "ib")) return std::nullopt;
  return whole << (10 * (unit + 1));
}

void CheckSize(std::string_view text) {
  auto parsed = nexus::ParseStorageSize(text);
  if (parsed.ok() && *parsed < 0) std::abort();
  if (auto want = ReferenceSize(text)) {
    const bool fits = *want <= static_cast<unsigned __int128>(kMax);
    if (parsed.ok() != fits) std::abort();
    if (fits && static_cast<unsigned __int128>(*parsed) != *want) std::abort();
  }
}

void CheckRange(std::string_view text) {
  auto range = nexus::gateway::ParseRangeHeader(text);
  if (!range) return;
  if (range->offset < 0) {
    // A suffix: -n with n > 0, to the end; negating it must not overflow.
    if (range->length != -1 || range->offset == std::numeric_limits<int64_t>::min()) std::abort();
    return;
  }
  if (range->length == -1 || (range->offset == 0 && range->length == 0)) return;
  if (range->length < 1 || range->offset > kMax - range->length + 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    CheckRange(text);
  } else {
    CheckSize(text);
  }
  return 0;
}
