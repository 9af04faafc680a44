#include "cli/units.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/storage_size.h"

namespace nexus::cli {
namespace {

// Splits "30s" into 30 and "s". The number must be a whole, non-negative
// decimal: times in the API are integers, so "1.5s" would have to be rounded
// somewhere, and silently rounding a limit surprises people.
Result<std::pair<uint64_t, std::string_view>> SplitNumber(std::string_view text,
                                                          std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) {
    return InvalidArgumentError("'" + std::string(text) + "' is not a " + std::string(what));
  }
  return std::make_pair(value, text.substr(end - text.data()));
}

Result<uint64_t> Multiply(uint64_t value, uint64_t unit, std::string_view text) {
  if (unit != 0 && value > std::numeric_limits<uint64_t>::max() / unit) {
    return InvalidArgumentError("'" + std::string(text) + "' is too large");
  }
  return value * unit;
}

}  // namespace

Result<int64_t> ParseMebibytes(std::string_view text) {
  constexpr int64_t kMiB = int64_t{1} << 20;
  const bool bare_number =
      !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (bare_number) {
    NEXUS_ASSIGN_OR_RETURN(auto split, SplitNumber(text, "size (such as 256M or 1G)"));
    if (split.first > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError("'" + std::string(text) + "' is too large");
    }
    return static_cast<int64_t>(split.first);
  }
  NEXUS_ASSIGN_OR_RETURN(int64_t bytes, ParseStorageSize(text));
  if (bytes % kMiB != 0) {
    return InvalidArgumentError("'" + std::string(text) + "' is not a whole number of MiB");
  }
  return bytes / kMiB;
}

Result<int64_t> ParseDurationMs(std::string_view text) {
  NEXUS_ASSIGN_OR_RETURN(auto split, SplitNumber(text, "duration (such as 500ms, 30s or 2m)"));
  auto [value, suffix] = split;
  uint64_t unit = 0;
  if (suffix == "ms") unit = 1;
  if (suffix.empty() || suffix == "s") unit = 1000;
  if (suffix == "m") unit = 60'000;
  if (suffix == "h") unit = 3'600'000;
  if (unit == 0) {
    return InvalidArgumentError("'" + std::string(text) +
                                "' is not a duration (such as 500ms, 30s or 2m)");
  }
  NEXUS_ASSIGN_OR_RETURN(uint64_t ms, Multiply(value, unit, text));
  if (ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgumentError("'" + std::string(text) + "' is too large");
  }
  return static_cast<int64_t>(ms);
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, value < 10.0 ? "%.1f %s" : "%.0f %s", value, kUnits[unit]);
  return buf;
}

std::string FormatRate(double bytes_per_second) {
  if (!(bytes_per_second > 0) || !std::isfinite(bytes_per_second)) return "0 B/s";
  return FormatBytes(static_cast<uint64_t>(bytes_per_second)) + "/s";
}

std::string FormatEta(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds) || seconds > 99.0 * 3600) return "--:--";
  auto total = static_cast<uint64_t>(std::llround(seconds));
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu",
                  static_cast<unsigned long long>(total / 3600),
                  static_cast<unsigned long long>(total / 60 % 60),
                  static_cast<unsigned long long>(total % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(total / 60),
                  static_cast<unsigned long long>(total % 60));
  }
  return buf;
}

}  // namespace nexus::cli
