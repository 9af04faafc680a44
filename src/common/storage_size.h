// Storage sizes as users write them: "512M", "1G", "1.5G", "2048M" or plain
// bytes ("1073741824"). Units are binary (K = 1024) and case-insensitive, and
// may be followed by "i", "B" or "iB" ("1GiB", "512MB"); a fraction is allowed
// with a unit and is rounded down to whole bytes. One spelling for the whole
// product: a node's storage_size in nexusd and the sizes the `nexus` command
// line reads. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus {

// The number of bytes `text` means; kInvalidArgument (naming the text) when it
// is not a size or does not fit in int64.
Result<int64_t> ParseStorageSize(std::string_view text);

// The shortest exact spelling of `bytes` with a binary unit ("1G", "1536M",
// "100"); the inverse of ParseStorageSize for whole units.
std::string FormatStorageSize(int64_t bytes);

}  // namespace nexus
