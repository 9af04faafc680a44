// MultipartParser: a streaming multipart/form-data parser (RFC 7578 on top
// of RFC 2046) for request bodies that must never be held whole in memory.
//
// Built from the request's Content-Type value (which carries the boundary),
// it is fed the body in slices of any size, exactly as they arrive, and
// produces events through a pull API: Next() returns part-begin (headers
// parsed), part-data slices, part-end and done, or need-more when it has
// consumed the current slice. Part bodies are not buffered: data events are
// views into the fed slice, except for at most one delimiter's length of
// bytes held back while a possible boundary straddles two slices. Header
// blocks are bounded (MultipartLimits). Preamble and epilogue are ignored;
// obsolete header line folding is unfolded. Every malformed input is
// kInvalidArgument with a message fit for a client, and then sticks.
//
// A pull API suits callers on coroutines (they may co_await between events);
// Parse()/Finish() dispatch to callbacks for callers that do not.
//
// Not thread-safe; one parser per request body. Movable.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace nexus::gateway {

struct MultipartLimits {
  size_t max_header_bytes = 16 * 1024;  // per part's header block
  size_t max_headers = 32;              // per part
  size_t max_parts = 64;
};

struct MultipartPart {
  // Content-Disposition parameters. `filename` prefers filename*= (RFC 5987,
  // UTF-8 or ISO-8859-1, decoded to UTF-8) over filename=; it is exactly what
  // the client sent otherwise (callers reduce it to a safe name and must not
  // assume valid UTF-8).
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;  // the part's Content-Type value, "" when absent
  // Every header in order, names lowercased, values trimmed and unfolded.
  std::vector<std::pair<std::string, std::string>> headers;
};

enum class MultipartEventType { kNeedMore, kPartBegin, kPartData, kPartEnd, kDone };

struct MultipartEvent {
  MultipartEventType type = MultipartEventType::kNeedMore;
  // kPartData: the next bytes of the current part's body (never empty).
  // Valid until the next call to Next or Feed.
  std::string_view data;
  // kPartBegin, kPartData, kPartEnd: the current part. Valid until the next
  // part begins.
  const MultipartPart* part = nullptr;
};

// The boundary parameter of a multipart/form-data Content-Type value (quoted
// or not). kInvalidArgument when the type is not multipart/form-data or the
// boundary is missing or not 1..70 RFC 2046 boundary characters.
Result<std::string> MultipartBoundary(std::string_view content_type);

struct MultipartCallbacks {
  std::function<Status(const MultipartPart&)> on_part_begin;
  std::function<Status(const MultipartPart&, std::string_view data)> on_part_data;
  std::function<Status(const MultipartPart&)> on_part_end;
};

class MultipartParser {
 public:
  static Result<MultipartParser> Create(std::string_view content_type, MultipartLimits limits = {});

  // Gives the parser the next slice of the body. Call it only before the
  // first Next or after Next returned kNeedMore; `data` must stay valid until
  // Next returns kNeedMore again.
  void Feed(std::string_view data);
  // Says that the body has ended; Next then reports a missing final boundary
  // as an error instead of asking for more.
  void FinishInput();

  // The next event. kDone repeats once the close delimiter has been seen
  // (whatever follows it, the epilogue, is ignored).
  Result<MultipartEvent> Next();

  // Push style: Feed(data), then dispatch every event until kNeedMore or
  // kDone. A callback's error stops parsing and is returned.
  Status Parse(std::string_view data, const MultipartCallbacks& callbacks);
  // FinishInput(), then dispatch the remaining events; an error unless the
  // body was complete.
  Status Finish(const MultipartCallbacks& callbacks);

  bool done() const { return state_ == State::kDone; }
  size_t parts_seen() const { return parts_; }

 private:
  enum class State { kPreamble, kBoundaryLine, kHeaders, kBody, kDone, kError };
  // Where we are on the line right after a boundary.
  enum class LineState { kStart, kDash, kPadding, kCr };

  MultipartParser(std::string boundary, MultipartLimits limits);

  Result<MultipartEvent> ScanBody();
  Result<MultipartEvent> ScanBoundaryLine();
  Result<MultipartEvent> ScanHeaders();
  Status Fail(Status status);
  Status Dispatch(const MultipartCallbacks& callbacks);

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  LineState line_ = LineState::kStart;
  size_t padding_ = 0;
  std::string_view input_;
  bool input_finished_ = false;
  // A prefix of delimiter_ seen at the end of the previous slice.
  std::string held_;
  // Bytes of held_ that turned out to be data, returned as an event.
  std::string released_;
  std::string header_buf_;
  MultipartPart part_;
  size_t parts_ = 0;
  Status error_;
};

}  // namespace nexus::gateway
