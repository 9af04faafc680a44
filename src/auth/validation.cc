#include "auth/validation.h"

#include <cctype>
#include <cstring>
#include <optional>
#include <vector>

namespace nexus::auth {
namespace {

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// RFC 5322 atext, the characters of an unquoted local part besides '.'.
bool IsAtext(char c) {
  return IsAlnum(c) || (c != '\0' && std::strchr("!#$%&'*+/=?^_`{|}~-", c) != nullptr);
}

bool ValidLocalPart(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;  // safe: the last char is not '.'
    } else if (!IsAtext(s[i])) {
      return false;
    }
  }
  return true;
}

bool ValidDomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    std::string_view label = s.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

// The code points of well-formed UTF-8 (no overlong forms, surrogates or
// values above U+10FFFF), or nullopt.
std::optional<std::vector<char32_t>> DecodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      len = 1, cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out.push_back(cp);
    i += len;
  }
  return out;
}

bool IsControlOrBidi(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

Status ValidateUsername(std::string_view username) {
  if (username.empty()) return InvalidArgumentError("username is required");
  bool chars_ok = true;
  for (char c : username) chars_ok = chars_ok && (IsAlnum(c) || c == '_' || c == '.' || c == '-');
  if (!chars_ok || username.size() < kUsernameMinLength || username.size() > kUsernameMaxLength) {
    return InvalidArgumentError(
        "username must be 3-32 characters of letters, digits, '_', '.', '-'");
  }
  return Status::Ok();
}

Result<std::string> NormalizeEmail(std::string_view email) {
  if (email.empty()) return InvalidArgumentError("email is required");
  const size_t at = email.rfind('@');
  if (email.size() > kEmailMaxLength || at == std::string_view::npos ||
      !ValidLocalPart(email.substr(0, at)) || !ValidDomain(email.substr(at + 1))) {
    return InvalidArgumentError("email is not a valid address");
  }
  std::string out(email);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status ValidatePassword(std::string_view password, int64_t min_length) {
  if (password.empty()) return InvalidArgumentError("password is required");
  if (static_cast<int64_t>(password.size()) < min_length) {
    return InvalidArgumentError("password must be at least " + std::to_string(min_length) +
                                " characters");
  }
  if (password.size() > kPasswordMaxLength) {
    return InvalidArgumentError("password must be at most " + std::to_string(kPasswordMaxLength) +
                                " characters");
  }
  return Status::Ok();
}

Status ValidateAppPasswordName(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("name is required");
  const Status wrong =
      InvalidArgumentError("name must be 1-" + std::to_string(kAppPasswordNameMaxChars) +
                           " characters of UTF-8 text without control characters");
  std::optional<std::vector<char32_t>> chars = DecodeUtf8(name);
  if (!chars || chars->size() > kAppPasswordNameMaxChars) return wrong;
  for (char32_t cp : *chars) {
    if (IsControlOrBidi(cp)) return wrong;
  }
  return Status::Ok();
}

}  // namespace nexus::auth
