#include "auth/validation.h"

#include <cctype>
#include <cstring>

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

}  // namespace nexus::auth
