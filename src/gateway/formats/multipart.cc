#include "gateway/formats/multipart.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace nexus::gateway {
namespace {

constexpr size_t kMaxBoundary = 70;  // RFC 2046
constexpr size_t kMaxPadding = 256;  // LWSP allowed after a boundary
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

// Where in `s`, at or after `from`, the delimiter starts: the first whole
// occurrence, else the first proper prefix of it that runs to the end of `s`
// (the rest may come with the next slice); npos when neither. memmem skips
// through file bytes by up to the delimiter's length per step, where a scan
// for every '\r' stopped on average each 256 bytes of random content.
size_t FindDelimiter(std::string_view s, size_t from, std::string_view delimiter) {
  if (from >= s.size()) return std::string_view::npos;
  const void* hit = ::memmem(s.data() + from, s.size() - from, delimiter.data(), delimiter.size());
  if (hit != nullptr) return static_cast<const char*>(hit) - s.data();
  // A cut delimiter starts within the last delimiter.size() - 1 bytes.
  size_t i = std::max(from, s.size() >= delimiter.size() ? s.size() - delimiter.size() + 1 : 0);
  for (; i < s.size(); ++i) {
    if (s.substr(i) == delimiter.substr(0, s.size() - i)) return i;
  }
  return std::string_view::npos;
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

Result<MultipartParser> MultipartParser::Create(std::string_view content_type,
                                                MultipartLimits limits) {
  NEXUS_ASSIGN_OR_RETURN(std::string boundary, MultipartBoundary(content_type));
  return MultipartParser(std::move(boundary), limits);
}

MultipartParser::MultipartParser(std::string boundary, MultipartLimits limits)
    : delimiter_("\r\n--" + boundary), limits_(limits) {
  // The first boundary may open the body without a preceding line break:
  // pretend one was just seen.
  held_ = "\r\n";
}

void MultipartParser::Feed(std::string_view data) {
  assert(input_.empty() && "Feed before the previous slice was consumed");
  input_ = data;
}

void MultipartParser::FinishInput() { input_finished_ = true; }

Status MultipartParser::Fail(Status status) {
  state_ = State::kError;
  error_ = status;
  input_ = {};
  return status;
}

Result<MultipartEvent> MultipartParser::Next() {
  while (true) {
    Result<MultipartEvent> ev = MultipartEvent{};
    switch (state_) {
      case State::kError:
        return error_;
      case State::kDone:
        input_ = {};  // the epilogue
        return MultipartEvent{MultipartEventType::kDone, {}, nullptr};
      case State::kPreamble:
      case State::kBody:
        ev = ScanBody();
        break;
      case State::kBoundaryLine:
        ev = ScanBoundaryLine();
        break;
      case State::kHeaders:
        ev = ScanHeaders();
        break;
    }
    if (!ev.ok()) return Fail(ev.status());
    // kNeedMore from a scanner with input left means "state changed, go on".
    if (ev->type != MultipartEventType::kNeedMore) return ev;
    if (input_.empty()) {
      if (!input_finished_) return ev;
      switch (state_) {
        case State::kPreamble:
          return Fail(InvalidArgumentError("multipart body has no boundary line"));
        case State::kHeaders:
          return Fail(InvalidArgumentError("multipart body ended inside part headers"));
        case State::kBody:
        case State::kBoundaryLine:
          return Fail(InvalidArgumentError("multipart body ended without the final boundary"));
        default:
          break;
      }
    }
  }
}

Result<MultipartEvent> MultipartParser::ScanBody() {
  const bool in_part = state_ == State::kBody;
  auto delimiter_found = [&]() -> MultipartEvent {
    state_ = State::kBoundaryLine;
    line_ = LineState::kStart;
    padding_ = 0;
    if (in_part) return MultipartEvent{MultipartEventType::kPartEnd, {}, &part_};
    return MultipartEvent{};
  };

  if (!held_.empty()) {
    if (input_.empty()) return MultipartEvent{};
    const size_t want = delimiter_.size() - held_.size();
    const size_t n = std::min(want, input_.size());
    if (input_.substr(0, n) == std::string_view(delimiter_).substr(held_.size(), n)) {
      held_.append(input_.substr(0, n));
      input_.remove_prefix(n);
      if (held_.size() < delimiter_.size()) return MultipartEvent{};
      held_.clear();
      return delimiter_found();
    }
    // Not a boundary after all: the held bytes were content. The delimiter
    // has '\r' only at its start, so no later match can begin inside them.
    released_.swap(held_);
    held_.clear();
    if (in_part) return MultipartEvent{MultipartEventType::kPartData, released_, &part_};
  }
  if (input_.empty()) return MultipartEvent{};

  size_t from = 0;
  while (true) {
    const size_t i = FindDelimiter(input_, from, delimiter_);
    if (i == std::string_view::npos) break;
    const size_t n = std::min(delimiter_.size(), input_.size() - i);
    if (n < delimiter_.size()) {
      // Possibly a boundary split across slices: hold it back until we know.
      held_.assign(input_.substr(i));
      std::string_view data = input_.substr(0, i);
      input_ = {};
      if (in_part && !data.empty()) {
        return MultipartEvent{MultipartEventType::kPartData, data, &part_};
      }
      return MultipartEvent{};
    }
    if (i > 0) {
      std::string_view data = input_.substr(0, i);
      input_.remove_prefix(i);
      if (in_part) return MultipartEvent{MultipartEventType::kPartData, data, &part_};
      from = 0;  // preamble: drop it, the delimiter is now at the front
      continue;
    }
    input_.remove_prefix(delimiter_.size());
    return delimiter_found();
  }
  std::string_view data = input_;
  input_ = {};
  if (in_part) return MultipartEvent{MultipartEventType::kPartData, data, &part_};
  return MultipartEvent{};
}

Result<MultipartEvent> MultipartParser::ScanBoundaryLine() {
  while (!input_.empty()) {
    const char c = input_.front();
    input_.remove_prefix(1);
    switch (line_) {
      case LineState::kStart:
        if (c == '-') {
          line_ = LineState::kDash;
          continue;
        }
        [[fallthrough]];
      case LineState::kPadding:
        if (c == ' ' || c == '\t') {
          line_ = LineState::kPadding;
          if (++padding_ > kMaxPadding) {
            return InvalidArgumentError("malformed multipart boundary line: too much padding");
          }
          continue;
        }
        if (c == '\r') {
          line_ = LineState::kCr;
          continue;
        }
        return InvalidArgumentError("malformed multipart boundary line");
      case LineState::kDash:
        if (c != '-') return InvalidArgumentError("malformed multipart boundary line");
        state_ = State::kDone;
        input_ = {};
        return MultipartEvent{MultipartEventType::kDone, {}, nullptr};
      case LineState::kCr:
        if (c != '\n') return InvalidArgumentError("malformed multipart boundary line");
        if (++parts_ > limits_.max_parts) {
          return InvalidArgumentError("too many multipart parts (limit " +
                                      std::to_string(limits_.max_parts) + ")");
        }
        state_ = State::kHeaders;
        header_buf_.clear();
        return MultipartEvent{};
    }
  }
  return MultipartEvent{};
}

Result<MultipartEvent> MultipartParser::ScanHeaders() {
  if (input_.empty()) return MultipartEvent{};
  const size_t old = header_buf_.size();
  // Take at most one byte past the limit: enough to know it was exceeded.
  const size_t room = limits_.max_header_bytes + 1 - std::min(old, limits_.max_header_bytes + 1);
  const size_t take = std::min(room, input_.size());
  header_buf_.append(input_.substr(0, take));
  size_t end = std::string::npos;  // one past the blank line ending the block
  if (header_buf_.starts_with("\r\n")) {
    end = 2;  // no headers at all
  } else {
    const size_t p = header_buf_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
    if (p != std::string::npos) end = p + 4;
  }
  if (end == std::string::npos || end > limits_.max_header_bytes) {
    if (header_buf_.size() > limits_.max_header_bytes) {
      return InvalidArgumentError("multipart part headers exceed " +
                                  std::to_string(limits_.max_header_bytes) + " bytes");
    }
    input_.remove_prefix(take);
    return MultipartEvent{};
  }
  input_.remove_prefix(end - old);
  header_buf_.resize(end);
  NEXUS_RETURN_IF_ERROR(ParseHeaderBlock(std::string_view(header_buf_).substr(0, end - 2)));
  state_ = State::kBody;
  held_.clear();
  return MultipartEvent{MultipartEventType::kPartBegin, {}, &part_};
}

Status MultipartParser::ParseHeaderBlock(std::string_view block) {
  part_ = MultipartPart{};
  auto& headers = part_.headers;
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
    if (headers.size() >= limits_.max_headers) {
      return InvalidArgumentError("too many multipart part headers (limit " +
                                  std::to_string(limits_.max_headers) + ")");
    }
    headers.emplace_back(ToLower(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1))));
  }

  const std::string* disposition = nullptr;
  for (const auto& [name, value] : headers) {
    if (name == "content-disposition" && disposition == nullptr) disposition = &value;
    if (name == "content-type" && part_.content_type.empty()) part_.content_type = value;
  }
  if (disposition == nullptr) {
    return InvalidArgumentError("multipart part has no Content-Disposition header");
  }
  NEXUS_ASSIGN_OR_RETURN(HeaderValue cd, ParseHeaderValue(*disposition, "Content-Disposition"));
  if (!EqualsIgnoreCase(cd.main, "form-data")) {
    return InvalidArgumentError("multipart part Content-Disposition is not form-data");
  }
  if (const std::string* name = cd.Param("name")) part_.name = *name;
  if (const std::string* ext = cd.Param("filename*")) part_.filename = DecodeExtValue(*ext);
  if (!part_.filename) {
    if (const std::string* plain = cd.Param("filename")) part_.filename = *plain;
  }
  return Status::Ok();
}

Status MultipartParser::Dispatch(const MultipartCallbacks& cb) {
  while (true) {
    NEXUS_ASSIGN_OR_RETURN(MultipartEvent ev, Next());
    Status s;
    switch (ev.type) {
      case MultipartEventType::kNeedMore:
      case MultipartEventType::kDone:
        return Status::Ok();
      case MultipartEventType::kPartBegin:
        if (cb.on_part_begin) s = cb.on_part_begin(*ev.part);
        break;
      case MultipartEventType::kPartData:
        if (cb.on_part_data) s = cb.on_part_data(*ev.part, ev.data);
        break;
      case MultipartEventType::kPartEnd:
        if (cb.on_part_end) s = cb.on_part_end(*ev.part);
        break;
    }
    if (!s.ok()) return Fail(s);
  }
}

Status MultipartParser::Parse(std::string_view data, const MultipartCallbacks& callbacks) {
  Feed(data);
  return Dispatch(callbacks);
}

Status MultipartParser::Finish(const MultipartCallbacks& callbacks) {
  FinishInput();
  return Dispatch(callbacks);
}

}  // namespace nexus::gateway
