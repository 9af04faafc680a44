// SafeBaseName: reduces the file name a client sent to one that is safe to
// store, list and send back in JSON, a proto string and a Content-Disposition
// header. Pure function; thread-safe.
//
// Rules: keep only what follows the last '/' or '\'; drop control characters
// (C0 incl. CR, LF and NUL, DEL, and C1); replace bytes that are not valid
// UTF-8 with '_'; bound the result to 255 bytes without splitting a UTF-8
// sequence; "." and ".." become "_" and "__"; an empty result becomes "file".
#pragma once

#include <string>
#include <string_view>

namespace nexus::daemon::storage {

inline constexpr size_t kMaxFileNameBytes = 255;

std::string SafeBaseName(std::string_view client_name);

}  // namespace nexus::daemon::storage
