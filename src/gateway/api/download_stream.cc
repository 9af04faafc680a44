#include "gateway/api/download_stream.h"

#include "gateway/backends/error_mapping.h"
#include "gateway/formats/content_disposition.h"

namespace nexus::gateway {
namespace {

struct DownloadState {
  std::unique_ptr<DownloadCall> call;
  daemonpb::DownloadResponse message;
  // Every data message lands here: one buffer per download, reused (a fresh
  // ~1 MiB allocation per message cost more in page faults than the copy).
  std::string data;
  int64_t remaining = 0;
};

// The body of a download after its header; a named coroutine taking its
// state by value (GCC 12 and capturing lambda coroutines, STACK.md).
asio::awaitable<Status> PumpDownload(std::shared_ptr<DownloadState> state, BodyWriter& out) {
  for (;;) {
    Result<bool> got = co_await state->call->ReadData(&state->data);
    if (!got.ok()) co_return got.status().WithContext("download");
    if (!*got) break;
    const std::string& data = state->data;
    if (static_cast<int64_t>(data.size()) > state->remaining) {
      co_return InternalError("download: more bytes than the header announced");
    }
    state->remaining -= static_cast<int64_t>(data.size());
    Status s = co_await out.Write(data);
    if (!s.ok()) co_return s;  // client gone: dropping the call cancels it
  }
  if (state->remaining != 0) {
    co_return InternalError("download: the stream ended " + std::to_string(state->remaining) +
                            " bytes short");
  }
  co_return Status::Ok();
}

// RFC 9110 §13.1.2: a list of entity tags (weak comparison) or "*".
bool NoneMatchHits(std::string_view header, std::string_view etag) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view tag = header.substr(pos, comma - pos);
    const size_t b = tag.find_first_not_of(" \t");
    if (b != std::string_view::npos) {
      tag = tag.substr(b, tag.find_last_not_of(" \t") - b + 1);
      if (tag.starts_with("W/")) tag.remove_prefix(2);
      if (tag == "*" || tag == etag) return true;
    }
    pos = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<RequestedRange> RangeOfRequest(const Request& req) {
  const std::string* range = req.headers.Find("Range");
  if (!range) return std::nullopt;
  return ParseRangeHeader(*range);
}

void SetByteRange(const RequestedRange& range, daemonpb::ByteRange* out) {
  out->set_offset(range.offset);
  out->set_length(range.length);
}

asio::awaitable<Result<Response>> ServeDownload(std::unique_ptr<DownloadCall> call,
                                                const Request& req, SizeLookup size_of) {
  if (!call) co_return UnimplementedError("download is not available");
  auto state = std::make_shared<DownloadState>();
  state->call = std::move(call);
  Result<bool> first = co_await state->call->Read(&state->message);
  if (!first.ok()) {
    if (first.status().code() != StatusCode::kRangeNotSatisfiable) co_return first.status();
    // nexusd's message names the file id and the raw range: the header says it better.
    Response r = ErrorJson(416, "requested range not satisfiable");
    Result<int64_t> size = co_await size_of();
    if (size.ok()) r.headers.Add("Content-Range", UnsatisfiedContentRange(*size));
    co_return r;
  }
  if (!*first || !state->message.has_header()) {
    co_return InternalError("download: the stream did not start with a header");
  }
  const daemonpb::DownloadHeader header = state->message.header();
  const daemonpb::FileInfo& file = header.file();
  const std::string etag = "\"" + file.sha256() + "\"";

  Response r;
  r.headers.Add("ETag", etag);
  r.headers.Add("Accept-Ranges", "bytes");
  if (const std::string* inm = req.headers.Find("If-None-Match")) {
    if (!file.sha256().empty() && NoneMatchHits(*inm, etag)) {
      r.status = 304;
      co_return r;  // dropping the call cancels it
    }
  }
  r.status = header.partial() ? 206 : 200;
  r.headers.Add("Content-Type", "application/octet-stream");
  r.headers.Add("Content-Disposition", AttachmentDisposition(file.name()));
  r.headers.Add("X-Content-Type-Options", "nosniff");
  r.headers.Add("Content-Length", std::to_string(header.length()));
  if (header.partial()) {
    r.headers.Add("Content-Range", ContentRange(header.offset(), header.length(), file.size()));
  }
  state->remaining = header.length();
  state->message.Clear();
  r.stream = [state](BodyWriter& out) { return PumpDownload(state, out); };
  co_return r;
}

}  // namespace nexus::gateway
