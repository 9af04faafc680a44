// Base64 (RFC 4648, the standard alphabet with padding), as HTTP carries
// it: Basic credentials, Content-MD5, S3's x-amz-checksum-* values. Pure
// functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nexus::gateway {

std::string EncodeBase64(std::string_view bytes);

// The bytes of canonical base64 `text`, or nullopt for anything else (other
// characters, missing or misplaced padding, non-zero bits after the last
// byte, empty text).
std::optional<std::string> DecodeBase64Strict(std::string_view text);

}  // namespace nexus::gateway
