#include "gateway/http/body_reader.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace nexus::gateway {

asio::awaitable<Status> SendContinue(Connection& conn, unsigned version,
                                     std::chrono::milliseconds timeout) {
  http::response<http::empty_body> go_on{http::status::continue_, version};
  conn.stream.expires_after(timeout);
  auto [ec, n] =
      co_await conn.OnStream([&](auto& s) { return http::async_write(s, go_on, kTupleAwaitable); });
  if (ec) co_return InvalidArgumentError("request body: connection lost: " + ec.message());
  co_return Status::Ok();
}

asio::awaitable<Result<std::size_t>> ParserBodyReader::Read(std::span<char> buf) {
  if (parser_.is_done() || buf.empty()) co_return std::size_t(0);
  if (send_continue_) {
    send_continue_ = false;
    Status sent = co_await SendContinue(conn_, version_, options_.write_timeout);
    if (!sent.ok()) co_return sent;
  }
  // Beast sizes each socket read by the buffer's free capacity (at least
  // 512 bytes, at most 64 KiB); the buffer left from the head would make
  // a large body arrive in ~1 KiB reads.
  constexpr std::size_t kBodyReadBytes = 64 * 1024;
  if (buffer_.capacity() < kBodyReadBytes) buffer_.reserve(kBodyReadBytes);
  auto& body = parser_.get().body();
  body.data = buf.data();
  body.size = buf.size();
  for (;;) {
    // Timed by the connection's watch (a floor on the rate, too), not by
    // the stream's own timer.
    conn_.stream.expires_never();
    conn_.BeginWatch(options_.body_timeout);
    conn_.OpStarted();
    auto [ec, n] = co_await conn_.OnStream(
        [&](auto& s) { return http::async_read_some(s, buffer_, parser_, kTupleAwaitable); });
    conn_.OpEnded(n);
    if (conn_.too_slow) co_return InvalidArgumentError("request body: " + conn_.TooSlowMessage());
    if (conn_.timed_out) co_return InvalidArgumentError("request body: timed out");
    if (ec && ec != http::error::need_buffer) {
      co_return InvalidArgumentError("request body: " + ec.message());
    }
    std::size_t got = buf.size() - body.size;
    if (got > 0 || parser_.is_done()) co_return got;
  }
}

asio::awaitable<Result<std::size_t>> LengthBodyReader::Read(std::span<char> buf) {
  if (remaining_ == 0 || buf.empty()) co_return std::size_t(0);
  if (send_continue_) {
    send_continue_ = false;
    Status sent = co_await SendContinue(conn_, version_, options_.write_timeout);
    if (!sent.ok()) co_return sent;
  }
  const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(buf.size(), remaining_));
  if (buffer_.size() > 0) {
    const std::size_t n = asio::buffer_copy(asio::buffer(buf.data(), want), buffer_.data());
    buffer_.consume(n);
    remaining_ -= n;
    co_return n;
  }
  conn_.BeginWatch(options_.body_timeout);
  conn_.OpStarted();
  auto [ec, n] = co_await conn_.OnRawStream(
      [&](auto& s) { return s.async_read_some(asio::buffer(buf.data(), want), kTupleAwaitable); });
  conn_.OpEnded(n);
  if (conn_.too_slow) co_return InvalidArgumentError("request body: " + conn_.TooSlowMessage());
  if (conn_.timed_out) co_return InvalidArgumentError("request body: timed out");
  if (ec == asio::error::eof || (!ec && n == 0)) {
    co_return InvalidArgumentError("request body: the connection closed before its end");
  }
  if (ec) co_return InvalidArgumentError("request body: " + ec.message());
  remaining_ -= n;
  co_return n;
}

}  // namespace nexus::gateway
