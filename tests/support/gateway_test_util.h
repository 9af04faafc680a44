// Helpers for gateway unit tests: run a coroutine to completion on a private
// io_context, and build plain requests (and their auth headers) without a
// socket.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "gateway/http/http_types.h"
#include "gateway/http/request_executor.h"
#include "gateway/http/router.h"

namespace nexus::gateway::testing {

// Stores the value of `task` in `*out` (a named coroutine, so T need not be
// default-constructible as co_spawn's completion would require).
template <typename T>
asio::awaitable<void> StoreResult(asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Runs `task` until it completes and returns its value; rethrows what it
// throws. The io_context runs on the calling thread. With a `request_id`,
// the task works for that request, as a session's coroutine does
// (request_executor.h).
template <typename T>
T RunAwaitable(asio::awaitable<T> task, std::string_view request_id = "") {
  asio::io_context io;
  RequestIdCell cell;
  cell.Set(request_id);
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(RequestIdExecutor(io.get_executor(), &cell), StoreResult(std::move(task), &result),
                 [&](std::exception_ptr e) { error = e; });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

// A request head as the session would build it (target not yet parsed).
inline Request MakeRequest(std::string method, std::string body = "", Headers headers = Headers()) {
  Request r;
  r.method = std::move(method);
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.client_ip = "192.0.2.7";
  return r;
}

inline Headers JsonHeaders() {
  Headers h;
  h.Add("Content-Type", "application/json");
  return h;
}

inline Headers BearerHeaders(const std::string& token) {
  Headers h;
  h.Add("Authorization", "Bearer " + token);
  return h;
}

// Standard base64 with padding, as a client writes it.
inline std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// "Authorization: Basic base64(username:password)".
inline Headers BasicHeaders(const std::string& username, const std::string& password) {
  Headers h;
  h.Add("Authorization", "Basic " + Base64(username + ":" + password));
  return h;
}

inline asio::awaitable<Result<Response>> AnswerWith(int status, std::string body) {
  co_return JsonResponse(status, std::move(body));
}

// A handler that always answers `status` with `body`.
inline Handler Answer(int status, std::string body) {
  return [status, body](Request&) { return AnswerWith(status, body); };
}

}  // namespace nexus::gateway::testing
