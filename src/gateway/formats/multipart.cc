// The streaming body state machine of MultipartParser: delimiter search
// across slices, boundary lines, and header blocks collected up to their
// limit and handed to ParseMultipartPartHeaders (multipart_headers.h).
#include "gateway/formats/multipart.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "gateway/formats/multipart_headers.h"

namespace nexus::gateway {
namespace {

constexpr size_t kMaxPadding = 256;  // LWSP allowed after a boundary

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
  NEXUS_RETURN_IF_ERROR(
      ParseMultipartPartHeaders(std::string_view(header_buf_).substr(0, end - 2), limits_, part_));
  state_ = State::kBody;
  held_.clear();
  return MultipartEvent{MultipartEventType::kPartBegin, {}, &part_};
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
