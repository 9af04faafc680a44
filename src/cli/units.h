// Human units for the command line: sizes ("256M", "1G") and durations
// ("500ms", "30s", "2m") read from flags, and byte counts, rates and times
// written for people. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus::cli {

// "1024", "256K", "256M", "1G", "2T" (binary multiples; an optional trailing
// "B" or "iB" is accepted) as bytes. Whole numbers only.
Result<uint64_t> ParseSize(std::string_view text);

// A size given in whole MiB, as the API's memory fields want: "256M" -> 256,
// "1G" -> 1024, a bare number is MiB already. Not a multiple of 1 MiB: error.
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
