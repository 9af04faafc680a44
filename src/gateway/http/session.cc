#include "gateway/http/session.h"

#include <spdlog/spdlog.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>

#include "gateway/backends/error_mapping.h"
#include "gateway/http/access_log.h"
#include "gateway/http/body_reader.h"
#include "gateway/http/body_writer.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

using HeadParser = http::request_parser<http::string_body>;

std::string ClientIp(const beast::tcp_stream& stream) {
  beast::error_code ec;
  tcp::endpoint ep = stream.socket().remote_endpoint(ec);
  if (ec) return "";
  asio::ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a.to_string();
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// A HEAD answer that states its Content-Length keeps it (the length of the
// GET it stands for); its empty body is not the length.
http::response<http::string_body> ToBeast(Response& resp, unsigned version, bool keep_alive,
                                          bool head = false) {
  http::response<http::string_body> out{static_cast<http::status>(resp.status), version};
  out.set(http::field::server, "nexus-api");
  for (auto& [name, value] : resp.headers.fields()) out.insert(name, value);
  out.body() = std::move(resp.body);
  out.keep_alive(keep_alive);
  if (!(head && out.body().empty() && resp.headers.Has("Content-Length"))) out.prepare_payload();
  return out;
}

double MillisecondsSince(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
      .count();
}

void LimitHead(HeadParser& parser, const ServerOptions& opt) {
  parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
  // The route decides the body limit (Admit); Beast must not refuse a
  // large Content-Length while it is still reading the head.
  parser.body_limit(boost::none);
}

// The head as a plain Request: method, headers and the client's address.
Request RequestFromHead(const http::request_header<>& head, const std::string& client_ip) {
  Request req;
  req.method.assign(head.method_string());
  for (const auto& field : head) {
    req.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  req.client_ip = client_ip;
  return req;
}

bool WantsContinue(const Request& req) {
  return EqualsIgnoreCase(req.headers.Get("Expect"), "100-continue");
}

// Marks the connection's work as a request's from its naming to the end of
// its loop iteration, however that ends (request_executor.h).
class ServingRequest {
 public:
  ServingRequest(Connection& conn, const Request& req) : cell_(conn.request_id) {
    cell_.Set(req.request_id);
  }
  ~ServingRequest() { cell_.Clear(); }
  ServingRequest(const ServingRequest&) = delete;
  ServingRequest& operator=(const ServingRequest&) = delete;

 private:
  RequestIdCell& cell_;
};

// An unparseable or oversized head is answered once, and counted as a
// request of route "invalid" (taking as long as its answer took); the
// connection then closes.
asio::awaitable<void> AnswerBadHead(const SessionContext& ctx, Connection& conn,
                                    const beast::error_code& read_ec) {
  const auto started = std::chrono::steady_clock::now();
  Request bad;
  AssignRequestId(bad);
  const ServingRequest serving(conn, bad);
  const bool too_big = read_ec == http::error::header_limit;
  Response resp = too_big ? ErrorJson(431, "request header too large")
                          : ErrorJson(400, "malformed HTTP request");
  Pipeline::Finish(bad, resp);
  auto out = ToBeast(resp, 11, false);
  conn.stream.expires_after(ctx.options.write_timeout);
  co_await conn.OnStream([&](auto& s) { return http::async_write(s, out, kTupleAwaitable); });
  const double duration_ms = MillisecondsSince(started);
  LogAccess(bad, resp.status, out.body().size(), duration_ms);
  ctx.pipeline.RecordRefused(resp.status, out.body().size(), duration_ms / 1000);
}

// A response and whether the request's body was left (partly) unread.
struct Handled {
  Response resp;
  bool body_unread = false;
};

// A kStream route: the handler pulls the body itself, straight from the
// socket when it has a Content-Length, else through Beast's decoder.
asio::awaitable<Handled> RunStreamingRoute(const SessionContext& ctx, Connection& conn,
                                           beast::flat_buffer& buffer, HeadParser& parser,
                                           Request& req, const Route& route, unsigned version) {
  const bool send_continue = WantsContinue(req);
  Handled out;
  if (!parser.is_done() && !parser.chunked() && parser.content_length()) {
    LengthBodyReader reader(conn, buffer, *parser.content_length(), version, send_continue,
                            ctx.options);
    req.body_reader = &reader;
    out.resp = co_await ctx.pipeline.Run(req, route);
    req.body_reader = nullptr;
    out.body_unread = !reader.done();
    co_return out;
  }
  // Chunked (or empty). The head dies with the conversion.
  http::request_parser<http::buffer_body> stream_parser(std::move(parser));
  ParserBodyReader reader(conn, buffer, stream_parser, version, send_continue, ctx.options);
  req.body_reader = &reader;
  out.resp = co_await ctx.pipeline.Run(req, route);
  req.body_reader = nullptr;
  out.body_unread = !stream_parser.is_done();
  co_return out;
}

enum class BodyRead { kComplete, kTooLarge, kBroken };

// Reads a buffered route's whole body into the parser, within `limit`.
// kBroken: the connection failed and must close without an answer.
asio::awaitable<BodyRead> ReadWholeBody(Connection& conn, beast::flat_buffer& buffer,
                                        HeadParser& parser, const Request& req, int64_t limit,
                                        unsigned version, const ServerOptions& opt) {
  if (WantsContinue(req)) {
    Status sent = co_await SendContinue(conn, version, opt.write_timeout);
    if (!sent.ok()) co_return BodyRead::kBroken;
  }
  parser.body_limit(static_cast<std::uint64_t>(limit));
  conn.stream.expires_after(opt.body_timeout);
  auto [body_ec, body_bytes] = co_await conn.OnStream(
      [&](auto& s) { return http::async_read(s, buffer, parser, kTupleAwaitable); });
  if (body_ec == http::error::body_limit) co_return BodyRead::kTooLarge;
  if (body_ec) {
    spdlog::debug("request {}: reading body: {}", req.request_id, body_ec.message());
    co_return BodyRead::kBroken;
  }
  co_return BodyRead::kComplete;
}

// After a buffered route's body was read: moves it into `req` and returns
// true when the handler should run, or sets the 413 answer.
bool TakeBufferedBody(BodyRead read, HeadParser& parser, int64_t limit, Request& req,
                      Handled& handled) {
  handled.body_unread = !parser.is_done();
  if (read == BodyRead::kTooLarge) {
    handled.resp = ErrorResponse(BodyTooLargeError(limit), req.request_id);
    return false;
  }
  req.body = std::move(parser.get().body());
  return true;
}

// The TLS handshake of a connection that has TLS (true when done or none is
// needed), within the header timeout; shutdown cancels it as it does an
// idle connection's wait.
asio::awaitable<bool> Handshake(Connection& conn, const ServerOptions& opt) {
  if (!conn.tls) co_return true;
  conn.idle = true;
  conn.stream.expires_after(opt.header_timeout);
  auto [ec] = co_await conn.tls->async_handshake(asio::ssl::stream_base::server, kTupleAwaitable);
  conn.idle = false;
  if (ec) spdlog::debug("TLS handshake: {}", ec.message());
  co_return !ec;
}

// Tells the listener that a session ended when its frame goes, however.
struct EndNotice {
  SessionObserver& observer;
  uint64_t id;
  ~EndNotice() { observer.SessionEnded(id); }
};

}  // namespace

// The steps that await I/O on every request (read the head, admit, run the
// handler, write a whole response, decide keep-alive) stay in this one
// coroutine, longer than a function should be: each helper coroutine would
// cost a frame per request on the hottest path (GET /api/me). Body reads,
// streamed routes and streamed responses, which cost far more than a frame,
// have their own.
asio::awaitable<void> ServeConnection(const SessionContext& ctx, std::shared_ptr<Connection> conn,
                                      uint64_t id) {
  const EndNotice ended{ctx.observer, id};
  const ServerOptions& opt = ctx.options;
  beast::tcp_stream& stream = conn->stream;
  beast::flat_buffer buffer;
  const std::string client_ip = ClientIp(stream);
  bool linger = false;
  if (!co_await Handshake(*conn, opt)) {
    CloseStream(stream);
    co_return;
  }

  while (!ctx.stopping.load()) {
    HeadParser parser;
    LimitHead(parser, opt);
    conn->idle = true;
    stream.expires_after(opt.header_timeout);
    auto [read_ec, head_bytes] = co_await conn->OnStream(
        [&](auto& s) { return http::async_read_header(s, buffer, parser, kTupleAwaitable); });
    conn->idle = false;
    if (read_ec) {
      linger = read_ec == http::error::header_limit || IsHttpParseError(read_ec);
      if (linger) co_await AnswerBadHead(ctx, *conn, read_ec);
      break;
    }

    const auto started = std::chrono::steady_clock::now();
    const Pipeline::InFlight in_flight = ctx.pipeline.TrackInFlight();
    const unsigned version = parser.get().version();
    const bool client_keep_alive = parser.get().keep_alive();
    Request req = RequestFromHead(parser.get(), client_ip);
    AssignRequestId(req);
    const ServingRequest serving(*conn, req);
    Pipeline::Admission admission = co_await ctx.pipeline.Admit(req, parser.get().target());
    Handled handled;
    handled.body_unread = !parser.is_done();
    if (admission.response) {
      handled.resp = std::move(*admission.response);
    } else if (admission.route->options.body == BodyMode::kStream) {
      handled =
          co_await RunStreamingRoute(ctx, *conn, buffer, parser, req, *admission.route, version);
    } else {
      BodyRead read = BodyRead::kComplete;
      if (!parser.is_done()) {
        read =
            co_await ReadWholeBody(*conn, buffer, parser, req, admission.body_limit, version, opt);
      }
      if (read == BodyRead::kBroken) break;
      if (TakeBufferedBody(read, parser, admission.body_limit, req, handled)) {
        handled.resp = co_await ctx.pipeline.Run(req, *admission.route);
      }
    }
    Response& resp = handled.resp;
    Pipeline::Finish(req, resp);

    const bool keep_alive = client_keep_alive && !handled.body_unread && !ctx.stopping.load();
    uint64_t bytes = 0;
    bool written = false;
    if (resp.stream) {
      auto send = WriteStreamed(*conn, resp, version, keep_alive, opt.write_timeout, req.request_id,
                                &bytes);
      written = co_await std::move(send);
    } else {
      auto out = ToBeast(resp, version, keep_alive, req.method == "HEAD");
      stream.expires_after(opt.write_timeout);
      auto [write_ec, write_n] = co_await conn->OnStream(
          [&](auto& s) { return http::async_write(s, out, kTupleAwaitable); });
      written = !write_ec;
      bytes = out.body().size();
    }
    const double duration_ms = MillisecondsSince(started);
    LogAccess(req, resp.status, bytes, duration_ms);
    ctx.pipeline.Record(admission.route, resp.status, bytes, duration_ms / 1000);
    if (!written) break;
    if (!keep_alive) {
      linger = handled.body_unread;
      break;
    }
  }

  if (linger) co_await LingeringClose(stream);
  CloseStream(stream);
}

}  // namespace nexus::gateway
