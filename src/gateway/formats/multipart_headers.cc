#include "gateway/formats/multipart_headers.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nexus::gateway {
namespace {

constexpr size_t kMaxBoundary = 70;  // RFC 2046
constexpr std::string_view kWhitespace = " \t";

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

// RFC 7230 tchar.
bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// RFC 2046 bcharsnospace, plus space (never last).
bool IsBoundaryChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != '\0' && std::strchr("'()+_,-./:=? ", c) != nullptr;
}

// A header value of the form `main *( ";" name "=" (token | quoted-string) )`
// as used by Content-Type and Content-Disposition. Parameter names come back
// lowercased; when one repeats, the first wins.
struct HeaderValue {
  std::string main;
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* Param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

Result<HeaderValue> ParseHeaderValue(std::string_view value, std::string_view header) {
  HeaderValue out;
  const size_t semi = value.find(';');
  out.main = std::string(Trim(value.substr(0, semi)));
  std::string_view rest = semi == std::string_view::npos ? std::string_view() : value.substr(semi);
  while (true) {
    rest = Trim(rest);
    while (!rest.empty() && rest.front() == ';') rest = Trim(rest.substr(1));
    if (rest.empty()) break;
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError(std::string(header) + " parameter without '='");
    }
    std::string_view name = Trim(rest.substr(0, eq));
    if (!IsToken(name))
      return InvalidArgumentError(std::string(header) + " has a bad parameter name");
    rest = Trim(rest.substr(eq + 1));
    std::string val;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      bool closed = false;
      for (; i < rest.size(); ++i) {
        const char c = rest[i];
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        // A backslash escapes only '"' and '\': browsers send Windows paths
        // ("C:\dir\f.txt") unescaped, and those backslashes must survive.
        if (c == '\\' && i + 1 < rest.size() && (rest[i + 1] == '"' || rest[i + 1] == '\\')) {
          ++i;
        }
        val.push_back(rest[i]);
      }
      if (!closed)
        return InvalidArgumentError(std::string(header) + " has an unterminated quoted string");
      rest = rest.substr(i);
      rest = Trim(rest);
      if (!rest.empty() && rest.front() != ';') {
        return InvalidArgumentError(std::string(header) + " has text after a quoted string");
      }
    } else {
      const size_t end = rest.find(';');
      val = std::string(Trim(rest.substr(0, end)));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    std::string key = ToLower(name);
    bool seen = false;
    for (const auto& p : out.params) seen = seen || p.first == key;
    if (!seen) out.params.emplace_back(std::move(key), std::move(val));
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len;
    unsigned cp;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      len = 2;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      len = 3;
      cp = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

// RFC 5987 ext-value: charset "'" [language] "'" pct-encoded. Returns UTF-8,
// or nothing when the value is malformed or in another charset (the caller
// then falls back to the plain filename parameter, as RFC 6266 advises).
std::optional<std::string> DecodeExtValue(std::string_view v) {
  const size_t q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  const size_t q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  const std::string_view charset = v.substr(0, q1);
  const bool utf8 = EqualsIgnoreCase(charset, "utf-8");
  const bool latin1 = EqualsIgnoreCase(charset, "iso-8859-1");
  if (!utf8 && !latin1) return std::nullopt;
  std::string bytes;
  for (size_t i = q2 + 1; i < v.size(); ++i) {
    if (v[i] != '%') {
      bytes.push_back(v[i]);
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    const int hi = HexValue(v[i + 1]);
    const int lo = HexValue(v[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (utf8) {
    if (!IsValidUtf8(bytes)) return std::nullopt;
    return bytes;
  }
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xc0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3f)));
    }
  }
  return out;
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  NEXUS_ASSIGN_OR_RETURN(HeaderValue v, ParseHeaderValue(content_type, "Content-Type"));
  if (!EqualsIgnoreCase(v.main, "multipart/form-data")) {
    return InvalidArgumentError("Content-Type must be multipart/form-data");
  }
  const std::string* boundary = v.Param("boundary");
  if (boundary == nullptr || boundary->empty()) {
    return InvalidArgumentError("multipart/form-data Content-Type has no boundary");
  }
  if (boundary->size() > kMaxBoundary || boundary->back() == ' ' ||
      !std::all_of(boundary->begin(), boundary->end(), IsBoundaryChar)) {
    return InvalidArgumentError("multipart boundary is not 1 to 70 valid characters");
  }
  return *boundary;
}

Status ParseMultipartPartHeaders(std::string_view block, const MultipartLimits& limits,
                                 MultipartPart& part) {
  part = MultipartPart{};
  auto& headers = part.headers;
  while (!block.empty()) {
    const size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    if (line.empty()) continue;
    for (char c : line) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return InvalidArgumentError("multipart part header contains a control character");
      }
    }
    if (line.front() == ' ' || line.front() == '\t') {
      // obs-fold (RFC 7230 3.2.4): the line continues the previous value.
      if (headers.empty()) {
        return InvalidArgumentError("multipart part headers start with a continuation line");
      }
      std::string& value = headers.back().second;
      std::string_view more = Trim(line);
      if (!more.empty()) {
        if (!value.empty()) value.push_back(' ');
        value.append(more);
      }
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return InvalidArgumentError("malformed multipart part header line");
    }
    if (headers.size() >= limits.max_headers) {
      return InvalidArgumentError("too many multipart part headers (limit " +
                                  std::to_string(limits.max_headers) + ")");
    }
    headers.emplace_back(ToLower(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1))));
  }

  const std::string* disposition = nullptr;
  for (const auto& [name, value] : headers) {
    if (name == "content-disposition" && disposition == nullptr) disposition = &value;
    if (name == "content-type" && part.content_type.empty()) part.content_type = value;
  }
  if (disposition == nullptr) {
    return InvalidArgumentError("multipart part has no Content-Disposition header");
  }
  NEXUS_ASSIGN_OR_RETURN(HeaderValue cd, ParseHeaderValue(*disposition, "Content-Disposition"));
  if (!EqualsIgnoreCase(cd.main, "form-data")) {
    return InvalidArgumentError("multipart part Content-Disposition is not form-data");
  }
  if (const std::string* name = cd.Param("name")) part.name = *name;
  if (const std::string* ext = cd.Param("filename*")) part.filename = DecodeExtValue(*ext);
  if (!part.filename) {
    if (const std::string* plain = cd.Param("filename")) part.filename = *plain;
  }
  return Status::Ok();
}

}  // namespace nexus::gateway
