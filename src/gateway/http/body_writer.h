// Body writers: the response side of the streaming seam (BodyWriter in
// http_types.h) over one connection, and WriteStreamed, which sends a
// response whose body comes from Response::stream. A body with a
// Content-Length (downloads) is written straight from the handler's bytes to
// the socket, timed by the connection's watch (connection.h) rather than a
// timer armed and cancelled per socket write; a write times out when it has
// moved no byte for the timeout (a large one the client drains slowly but
// steadily does not). A body without one goes out chunked through Beast's
// serializer. Used on the connection's thread only.
#pragma once

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/http/connection.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

namespace http = beast::http;

// For a body with a Content-Length: the head went out through Beast, and
// each Write goes straight to the socket (there is no framing to add).
// Never sends more than declared.
class RawBodyWriter final : public BodyWriter {
 public:
  RawBodyWriter(Connection& conn, uint64_t length, std::chrono::milliseconds timeout)
      : conn_(conn), length_(length), timeout_(timeout) {}
  ~RawBodyWriter() override { conn_.EndWatch(); }
  RawBodyWriter(const RawBodyWriter&) = delete;
  RawBodyWriter& operator=(const RawBodyWriter&) = delete;

  asio::awaitable<Status> Write(std::string_view data) override;

  uint64_t bytes() const { return bytes_; }

 private:
  Connection& conn_;
  const uint64_t length_;
  const std::chrono::milliseconds timeout_;
  uint64_t bytes_ = 0;
};

// Each Write sends one piece of the body (one chunk when the response is
// chunked) through Beast's serializer.
class SerializerBodyWriter final : public BodyWriter {
 public:
  SerializerBodyWriter(Connection& conn, http::response<http::buffer_body>& res,
                       http::response_serializer<http::buffer_body>& serializer,
                       std::chrono::milliseconds timeout)
      : conn_(conn), res_(res), serializer_(serializer), timeout_(timeout) {}

  asio::awaitable<Status> Write(std::string_view data) override;

  uint64_t bytes() const { return bytes_; }

 private:
  Connection& conn_;
  http::response<http::buffer_body>& res_;
  http::response_serializer<http::buffer_body>& serializer_;
  std::chrono::milliseconds timeout_;
  uint64_t bytes_ = 0;
};

// Sends a response whose body comes from resp.stream: with a Content-Length
// through a RawBodyWriter, else chunked through Beast's serializer. False
// when the connection must close: the write failed, or the body broke off
// after the head was sent (too late for an error response). `*bytes` is the
// body bytes sent.
asio::awaitable<bool> WriteStreamed(Connection& conn, Response& resp, unsigned version,
                                    bool keep_alive, std::chrono::milliseconds timeout,
                                    std::string request_id, uint64_t* bytes);

}  // namespace nexus::gateway
