// Plain HTTP request/response values of the gateway.
//
// The session (session.cc) turns Beast messages into these and back, so the
// router, middleware and handlers are functions of plain values: they need no
// socket and no Beast headers, and unit tests build requests by hand. Also
// holds the interfaces for streaming bodies (BodyReader/BodyWriter), which
// the session implements over the connection for upload and download routes.
// Value types; thread-compatible.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace nexus::gateway {

namespace asio = boost::asio;

// ASCII case-insensitive equality, for header and JSON field names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// `s` with ASCII letters lowercased (header names, host names).
std::string AsciiLower(std::string_view s);

// Header fields in arrival order; names compare case-insensitively.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // The first value of `name`, or nullptr when absent.
  const std::string* Find(std::string_view name) const;
  // The first value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  void Add(std::string name, std::string value);
  // Replaces every field called `name` by one.
  void Set(std::string_view name, std::string value);

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

// Who made an authenticated request: filled by the auth middleware from the
// ValidateToken answer, so handlers need no second call for identity.
struct Principal {
  std::string username;
  std::string user_id;
  std::string email;
  int64_t created_at = 0;  // unix seconds
};

// Streaming, request side. A route registered with BodyMode::kStream gets
// its body unread (no size limit, no Content-Type check: the handler decides);
// the handler pulls it through Request::body_reader, which is valid only
// while the handler runs. "100 Continue" goes out on the first Read. A
// handler that stops early leaves the rest unread and the session closes the
// connection after the response. A Read error means the client went away or
// sent a malformed body.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads the next bytes of the body into `buf` (waits for at least one);
  // 0 means the body has ended.
  virtual asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) = 0;
};

// Streaming, response side: the session hands one to Response::stream.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // Sends `data` (one chunk of a chunked body); fails when the client is gone.
  virtual asio::awaitable<Status> Write(std::string_view data) = 0;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;                 // as sent: "GET", "POST", ...
  std::string target;                 // as sent: path and query, percent-encoded
  std::string path;                   // target without the query, still percent-encoded
  std::vector<std::string> segments;  // decoded path segments ("/a/b" -> a, b)
  KeyValues query;                    // decoded query parameters, in order
  KeyValues params;                   // decoded route parameters (":id" -> "id")
  Headers headers;
  std::string body;  // whole body, for non-streaming routes
  std::string client_ip;
  std::string request_id;
  std::string route;                  // the matched route's pattern, once routed
  Principal principal;                // username empty unless authenticated
  BodyReader* body_reader = nullptr;  // streaming routes only

  // The first query parameter / route parameter called `name`, or nullptr.
  const std::string* QueryParam(std::string_view name) const;
  const std::string* Param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // Streaming: when set, the session sends the status and headers, then lets
  // this write the body (chunked unless headers carry Content-Length), and
  // `body` is ignored. Once the head is out an error can no longer be
  // answered: a failed Status (or a body shorter than its Content-Length)
  // closes the connection.
  std::function<asio::awaitable<Status>(BodyWriter&)> stream;
};

// A response with Content-Type: application/json and `json` as its body.
Response JsonResponse(int status, std::string json);

}  // namespace nexus::gateway
