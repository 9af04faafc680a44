// Human units for the command line: sizes ("256M", "1G") and durations
// ("500ms", "30s", "2m") read from flags, and byte counts, rates and times
// written for people. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus::cli {

// A size given in whole MiB, as the API's memory fields want: "256M" -> 256,
// "1G" -> 1024, "1.5G" -> 1536, a bare number is MiB already. Sizes are
// spelled as the server spells them (common/storage_size.h). Not a whole
// number of MiB: error, never rounded.
Result<int64_t> ParseMebibytes(std::string_view text);

// "500ms", "30s", "2m", "1h" or a bare number of seconds, as milliseconds.
Result<int64_t> ParseDurationMs(std::string_view text);

// 1536 -> "1.5 KiB"; below 1 KiB the exact count ("512 B").
std::string FormatBytes(uint64_t bytes);

// Bytes per second as "12.3 MiB/s".
std::string FormatRate(double bytes_per_second);

// Seconds as "m:ss" or "h:mm:ss"; negative or unknown as "--:--".
std::string FormatEta(double seconds);

}  // namespace nexus::cli
