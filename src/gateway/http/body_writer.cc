#include "gateway/http/body_writer.h"

#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <exception>
#include <limits>

namespace nexus::gateway {
namespace {

// asio's async_write (transfer_all) caps every send at 64 KiB, so a 1 MiB
// download message cost 16 sends, each a trip through the reactor. This
// condition lets each send take what the socket accepts, and reports the
// bytes written so far to the connection's watch.
struct TransferAllReporting {
  Connection* conn;
  std::size_t operator()(const boost::system::error_code& ec, std::size_t written) const {
    if (ec) return 0;
    conn->OpProgress(written);
    return std::numeric_limits<std::size_t>::max();
  }
};

// Runs resp.stream with `writer`; the body's Status (an exception is an
// internal error).
asio::awaitable<Status> ProduceBody(Response& resp, BodyWriter& writer) {
  try {
    auto produce = resp.stream(writer);
    co_return co_await std::move(produce);
  } catch (const std::exception& e) {
    co_return InternalError(std::string("streaming body: ") + e.what());
  }
}

// The Content-Length the handler declared, digits only: stoull would take
// "-1" as 2^64 - 1.
bool ParseContentLength(std::string_view declared, uint64_t* length) {
  auto [end, ec] = std::from_chars(declared.data(), declared.data() + declared.size(), *length);
  return ec == std::errc() && end == declared.data() + declared.size() && !declared.empty();
}

}  // namespace

asio::awaitable<Status> RawBodyWriter::Write(std::string_view data) {
  if (data.empty()) co_return Status::Ok();
  if (data.size() > length_ - bytes_) {
    co_return InternalError("response body: more bytes than its Content-Length");
  }
  conn_.BeginWatch(timeout_);
  conn_.OpStarted();
  auto [ec, n] = co_await conn_.OnRawStream([&](auto& s) {
    return asio::async_write(s, asio::buffer(data.data(), data.size()),
                             TransferAllReporting{&conn_}, kTupleAwaitable);
  });
  conn_.OpEnded(n);
  bytes_ += n;
  if (conn_.too_slow) {
    conn_.Abort();
    co_return UnavailableError("response body: " + conn_.TooSlowMessage());
  }
  if (conn_.timed_out) co_return UnavailableError("response body: timed out");
  if (ec) co_return UnavailableError("response body: connection lost: " + ec.message());
  co_return Status::Ok();
}

asio::awaitable<Status> SerializerBodyWriter::Write(std::string_view data) {
  if (data.empty()) co_return Status::Ok();
  res_.body().data = const_cast<char*>(data.data());
  res_.body().size = data.size();
  res_.body().more = true;
  conn_.stream.expires_after(timeout_);
  auto [ec, n] = co_await conn_.OnStream(
      [&](auto& s) { return http::async_write(s, serializer_, kTupleAwaitable); });
  if (ec && ec != http::error::need_buffer) {
    co_return UnavailableError("response body: connection lost: " + ec.message());
  }
  bytes_ += data.size();
  co_return Status::Ok();
}

asio::awaitable<bool> WriteStreamed(Connection& conn, Response& resp, unsigned version,
                                    bool keep_alive, std::chrono::milliseconds timeout,
                                    std::string request_id, uint64_t* bytes) {
  http::response<http::buffer_body> res{static_cast<http::status>(resp.status), version};
  res.set(http::field::server, "nexus-api");
  for (auto& [name, value] : resp.headers.fields()) res.insert(name, value);
  res.keep_alive(keep_alive);
  const bool sized = res.has_content_length();
  if (!sized) res.chunked(true);
  res.body().data = nullptr;
  res.body().more = true;
  http::response_serializer<http::buffer_body> serializer{res};
  conn.stream.expires_after(timeout);
  auto [head_ec, head_n] = co_await conn.OnStream(
      [&](auto& s) { return http::async_write_header(s, serializer, kTupleAwaitable); });
  if (head_ec) co_return false;

  if (sized) {
    const std::string declared(res[http::field::content_length]);
    uint64_t length = 0;
    if (!ParseContentLength(declared, &length)) {
      spdlog::warn("request {}: unusable Content-Length '{}'", request_id, declared);
      co_return false;
    }
    RawBodyWriter writer(conn, length, timeout);
    Status body = co_await ProduceBody(resp, writer);
    *bytes = writer.bytes();
    if (!body.ok()) {
      spdlog::warn("request {}: response body broke off after {} bytes: {}", request_id,
                   writer.bytes(), body.ToString());
      co_return false;
    }
    if (writer.bytes() != length) {
      // A body shorter than its Content-Length would leave the client waiting.
      spdlog::warn("request {}: streamed {} bytes but declared Content-Length {}", request_id,
                   writer.bytes(), declared);
      co_return false;
    }
    co_return true;
  }

  SerializerBodyWriter writer(conn, res, serializer, timeout);
  Status body = co_await ProduceBody(resp, writer);
  *bytes = writer.bytes();
  if (!body.ok()) {
    spdlog::warn("request {}: response body broke off after {} bytes: {}", request_id,
                 writer.bytes(), body.ToString());
    co_return false;
  }
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  auto [end_ec, end_n] = co_await conn.OnStream(
      [&](auto& s) { return http::async_write(s, serializer, kTupleAwaitable); });
  co_return !end_ec;
}

}  // namespace nexus::gateway
