// Input rules for account fields, shared by registration and login.
//
// Each check returns kInvalidArgument with a message that names the field and
// says what is allowed, so it can be shown to the client as is. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus::auth {

inline constexpr size_t kUsernameMinLength = 3;
inline constexpr size_t kUsernameMaxLength = 32;
inline constexpr size_t kEmailMaxLength = 254;  // RFC 5321 path limit
inline constexpr size_t kPasswordMaxLength = 1024;
inline constexpr size_t kAppPasswordNameMaxChars = 64;

// 3-32 characters of [A-Za-z0-9_.-].
Status ValidateUsername(std::string_view username);

// A plain addr-spec: dot-atom local part (no quoting), '@', a domain of
// letters/digits/hyphen labels; at most 254 bytes. Returns it lower-cased.
Result<std::string> NormalizeEmail(std::string_view email);

// Between `min_length` and kPasswordMaxLength bytes.
Status ValidatePassword(std::string_view password, int64_t min_length);

// The name of an app password: well-formed UTF-8 of 1-64 characters (code
// points), none of them a control character (C0, DEL, C1) or a bidirectional
// embedding, override or isolate (which would make the name display other
// than it reads, as in file names).
Status ValidateAppPasswordName(std::string_view name);

}  // namespace nexus::auth
