// Body readers: the request side of the streaming seam (BodyReader in
// http_types.h) over one connection, for routes registered with
// BodyMode::kStream. The session builds one per request and points
// Request::body_reader at it while the handler runs. Both send
// "100 Continue" before the first read when the client asked for one, and
// time their socket reads by the connection's watch (connection.h) rather
// than the stream's own timer. Used on the connection's thread only.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "gateway/http/connection.h"
#include "gateway/http/http_types.h"
#include "gateway/http/server.h"

namespace nexus::gateway {

namespace http = beast::http;

// Answers "Expect: 100-continue" once the body is first asked for.
asio::awaitable<Status> SendContinue(Connection& conn, unsigned version,
                                     std::chrono::milliseconds timeout);

// A body Beast decodes (chunked, or with no length): pulled from the
// connection as the handler asks for it, through Beast's parser.
class ParserBodyReader final : public BodyReader {
 public:
  ParserBodyReader(Connection& conn, beast::flat_buffer& buffer,
                   http::request_parser<http::buffer_body>& parser, unsigned version,
                   bool send_continue, const ServerOptions& options)
      : conn_(conn),
        buffer_(buffer),
        parser_(parser),
        version_(version),
        send_continue_(send_continue),
        options_(options) {}
  ~ParserBodyReader() override { conn_.EndWatch(); }
  ParserBodyReader(const ParserBodyReader&) = delete;
  ParserBodyReader& operator=(const ParserBodyReader&) = delete;

  asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) override;

 private:
  Connection& conn_;
  beast::flat_buffer& buffer_;
  http::request_parser<http::buffer_body>& parser_;
  const unsigned version_;
  bool send_continue_;
  const ServerOptions& options_;
};

// A body with a Content-Length (what upload clients send). The bytes that
// came with the head are handed out first; then each Read is one read from
// the socket straight into the handler's buffer, as much as it holds: no copy
// through Beast's parser and buffer (which also caps a read at 64 KiB), and
// no timer armed per read (the connection's watch). It never reads past the
// body's end, so a pipelined next request stays for the session.
class LengthBodyReader final : public BodyReader {
 public:
  LengthBodyReader(Connection& conn, beast::flat_buffer& buffer, uint64_t length, unsigned version,
                   bool send_continue, const ServerOptions& options)
      : conn_(conn),
        buffer_(buffer),
        remaining_(length),
        version_(version),
        send_continue_(send_continue),
        options_(options) {}
  ~LengthBodyReader() override { conn_.EndWatch(); }
  LengthBodyReader(const LengthBodyReader&) = delete;
  LengthBodyReader& operator=(const LengthBodyReader&) = delete;

  asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) override;

  bool done() const { return remaining_ == 0; }

 private:
  Connection& conn_;
  beast::flat_buffer& buffer_;
  uint64_t remaining_;
  const unsigned version_;
  bool send_continue_;
  const ServerOptions& options_;
};

}  // namespace nexus::gateway
