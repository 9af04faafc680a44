#include "gateway/formats/content_disposition.h"

#include "gateway/formats/utf8.h"

namespace nexus::gateway {
namespace {

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

// RFC 8187 attr-char: the bytes a filename* value may carry unencoded.
bool IsAttrChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '&':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

std::string CleanName(std::string_view name) {
  std::string out = ToValidUtf8(name);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (IsControl(u) || c == '/' || c == '\\') c = '_';
  }
  if (out.empty()) out = "download";
  return out;
}

// One '_' per non-ASCII character (its UTF-8 lead byte; continuation bytes
// are dropped), '"' and '\' (never present after CleanName) too.
std::string AsciiFallback(std::string_view clean) {
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      if ((u & 0xC0) != 0x80) out.push_back('_');
    } else if (c == '"' || c == '\\') {
      out.push_back('_');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (IsAttrChar(u)) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

}  // namespace

std::string AttachmentDisposition(std::string_view name) {
  const std::string clean = CleanName(name);
  const std::string fallback = AsciiFallback(clean);
  std::string out = "attachment; filename=\"" + fallback + "\"";
  if (fallback != clean) out += "; filename*=UTF-8''" + PercentEncode(clean);
  return out;
}

}  // namespace nexus::gateway
