#include "gateway/http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/backends/error_mapping.h"
#include "gateway/http/access_log.h"
#include "gateway/http/middleware.h"
#include "gateway/http/transfer_floor.h"

namespace nexus::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kTupleAwaitable = asio::as_tuple(asio::use_awaitable);

// One accepted connection. `idle` is true while the session waits for the
// next request head. Everything here is used only on the connection's thread.
//
// The watch times the socket I/O of streamed bodies (LengthBodyReader,
// ParserBodyReader, RawBodyWriter). Beast's tcp_stream arms and cancels its
// timer around every socket operation — two timer-queue updates and a posted
// handler per read or write, thousands per large upload. Under the watch an
// operation only stamps when it started and when it last moved a byte; one
// timer closes the connection when an operation has moved nothing for the
// whole timeout, or when the body's rate falls below the transfer floor
// (transfer_floor.h: a client trickling a byte now and then passes the
// timeout forever, holding its backend call and that call's slot). The timer
// wakes about once per timeout period, or four times per floor window.
struct Connection : std::enable_shared_from_this<Connection> {
  using Clock = std::chrono::steady_clock;

  Connection(tcp::socket socket, const ServerOptions& options)
      : stream(std::move(socket)),
        floor(options.min_transfer_bytes_per_second, options.min_transfer_window),
        watchdog(stream.get_executor()) {}

  // Starts timing operations with `timeout` (and a new body against the
  // floor), unless a watch is running already or one has closed the
  // connection; until EndWatch the timer holds a reference to the connection.
  void BeginWatch(std::chrono::milliseconds timeout) {
    if (watching || timed_out) return;
    watch_timeout = timeout;
    op_pending = false;
    floor.Reset();
    watching = true;
    ++watch_generation;
    ArmWatch(NextWake(Clock::now()));
  }
  void EndWatch() {
    if (!watching) return;
    watching = false;
    ++watch_generation;
    watchdog.cancel();
  }
  void OpStarted() {
    op_pending = true;
    op_moved = 0;
    op_active = Clock::now();
    floor.OpStarted(op_active);
  }
  // The pending operation has moved `bytes` in all (a write, as it goes).
  void OpProgress(std::size_t bytes) {
    if (!op_pending || bytes <= op_moved) return;
    op_moved = bytes;
    op_active = Clock::now();
    floor.OpProgress(bytes);
  }
  // The pending operation ended having moved `bytes`; sets too_slow when
  // that completed a window below the floor (the caller fails the body).
  void OpEnded(std::size_t bytes) {
    if (!op_pending) return;
    op_pending = false;
    const Clock::time_point now = Clock::now();
    floor.OpEnded(now, bytes);
    if (floor.TooSlow(now)) too_slow = true;
  }
  // Closes the connection with a reset: what the kernel still holds for a
  // client below the floor would otherwise keep trickling out to it.
  void Abort() {
    beast::error_code ignored;
    stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
    stream.close();
  }
  // What a body cut off by the floor fails with.
  std::string TooSlowMessage() const {
    return "slower than the minimum transfer rate (" + std::to_string(floor.bytes_per_second()) +
           " bytes/s over " + std::to_string(floor.window().count() / 1000) + " s)";
  }

  beast::tcp_stream stream;
  bool idle = false;
  bool timed_out = false;  // the watch closed the connection
  bool too_slow = false;   // the body fell below the transfer floor

 private:
  Clock::time_point NextWake(Clock::time_point now) const {
    Clock::time_point at = (op_pending ? op_active : now) + watch_timeout;
    if (floor.enabled()) {
      at = std::min(at, now + std::max<Clock::duration>(floor.window() / 4, 50ms));
    }
    return at;
  }
  void ArmWatch(Clock::time_point at) {
    watchdog.expires_at(at);
    watchdog.async_wait(
        [self = shared_from_this(), generation = watch_generation](const beast::error_code& ec) {
          if (!ec) self->OnWatch(generation);
        });
  }
  void OnWatch(uint64_t generation) {
    // A stale wake-up (the watch ended, or began again) changes nothing.
    if (!watching || generation != watch_generation) return;
    const Clock::time_point now = Clock::now();
    const bool stalled = op_pending && now - op_active >= watch_timeout;
    if (stalled || floor.TooSlow(now)) {
      too_slow = !stalled;
      timed_out = true;
      watching = false;
      // The pending operation ends with operation_aborted.
      if (too_slow) {
        Abort();
      } else {
        stream.close();
      }
      return;
    }
    ArmWatch(NextWake(now));
  }

  TransferFloor floor;
  asio::steady_timer watchdog;
  std::chrono::milliseconds watch_timeout{0};
  uint64_t watch_generation = 0;
  bool watching = false;
  bool op_pending = false;
  std::size_t op_moved = 0;     // by the pending operation, so far
  Clock::time_point op_active;  // the pending operation started or last moved a byte
};

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

// Splits "host:port" / "[v6]:port". The port is a number from 0 to 65535:
// the resolver would take "99999" and listen on 99999 mod 65536.
Result<std::pair<std::string, std::string>> SplitHostPort(const std::string& listen) {
  std::size_t colon = listen.rfind(':');
  const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535) {
    return InvalidArgumentError("gateway.listen '" + listen +
                                "' must be host:port with a port from 0 to 65535");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, port);
}

std::string EndpointText(const tcp::endpoint& ep) {
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

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

http::response<http::string_body> ToBeast(Response& resp, unsigned version, bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(resp.status), version};
  out.set(http::field::server, "nexus-api");
  for (auto& [name, value] : resp.headers.fields()) out.insert(name, value);
  out.body() = std::move(resp.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// Answers "Expect: 100-continue" once the handler first asks for the body.
asio::awaitable<Status> SendContinue(beast::tcp_stream& stream, unsigned version,
                                     std::chrono::milliseconds timeout) {
  http::response<http::empty_body> go_on{http::status::continue_, version};
  stream.expires_after(timeout);
  auto [ec, n] = co_await http::async_write(stream, go_on, kTupleAwaitable);
  if (ec) co_return InvalidArgumentError("request body: connection lost: " + ec.message());
  co_return Status::Ok();
}

// Streaming seam, request side: the body of a kStream route, pulled from
// the connection as the handler asks for it. Sends "100 Continue" before the
// first read when the client asked for one.
class ParserBodyReader final : public BodyReader {
 public:
  ParserBodyReader(Connection& conn, beast::flat_buffer& buffer,
                   http::request_parser<http::buffer_body>& parser, unsigned version,
                   bool send_continue, const ServerOptions& options)
      : conn_(conn),
        stream_(conn.stream),
        buffer_(buffer),
        parser_(parser),
        version_(version),
        send_continue_(send_continue),
        options_(options) {}
  ~ParserBodyReader() override { conn_.EndWatch(); }
  ParserBodyReader(const ParserBodyReader&) = delete;
  ParserBodyReader& operator=(const ParserBodyReader&) = delete;

  asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) override {
    if (parser_.is_done() || buf.empty()) co_return std::size_t(0);
    if (send_continue_) {
      send_continue_ = false;
      Status sent = co_await SendContinue(stream_, version_, options_.write_timeout);
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
      stream_.expires_never();
      conn_.BeginWatch(options_.body_timeout);
      conn_.OpStarted();
      auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser_, kTupleAwaitable);
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

 private:
  Connection& conn_;
  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  http::request_parser<http::buffer_body>& parser_;
  const unsigned version_;
  bool send_continue_;
  const ServerOptions& options_;
};

// Streaming seam, request side, for a body with a Content-Length (what
// upload clients send). The bytes that came with the head are handed out
// first; then each Read is one read from the socket straight into the
// handler's buffer, as much as it holds: no copy through Beast's parser and
// buffer (which also caps a read at 64 KiB), and no timer armed per read
// (the connection's watch). It never reads past the body's end, so a
// pipelined next request stays for the session. Sends "100 Continue" before
// the first read when the client asked for one.
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

  asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) override {
    if (remaining_ == 0 || buf.empty()) co_return std::size_t(0);
    if (send_continue_) {
      send_continue_ = false;
      Status sent = co_await SendContinue(conn_.stream, version_, options_.write_timeout);
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
    auto [ec, n] = co_await conn_.stream.socket().async_read_some(asio::buffer(buf.data(), want),
                                                                  kTupleAwaitable);
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

  bool done() const { return remaining_ == 0; }

 private:
  Connection& conn_;
  beast::flat_buffer& buffer_;
  uint64_t remaining_;
  const unsigned version_;
  bool send_continue_;
  const ServerOptions& options_;
};

// Streaming seam, response side, for a body with a Content-Length: the head
// went out through Beast, and each Write goes straight to the socket (there
// is no framing to add), timed by the connection's watch instead of a timer
// armed and cancelled per socket write. Never sends more than declared.
class RawBodyWriter final : public BodyWriter {
 public:
  RawBodyWriter(Connection& conn, uint64_t length, std::chrono::milliseconds timeout)
      : conn_(conn), length_(length), timeout_(timeout) {}
  ~RawBodyWriter() override { conn_.EndWatch(); }
  RawBodyWriter(const RawBodyWriter&) = delete;
  RawBodyWriter& operator=(const RawBodyWriter&) = delete;

  asio::awaitable<Status> Write(std::string_view data) override {
    if (data.empty()) co_return Status::Ok();
    if (data.size() > length_ - bytes_) {
      co_return InternalError("response body: more bytes than its Content-Length");
    }
    conn_.BeginWatch(timeout_);
    conn_.OpStarted();
    auto [ec, n] =
        co_await asio::async_write(conn_.stream.socket(), asio::buffer(data.data(), data.size()),
                                   TransferAllReporting{&conn_}, kTupleAwaitable);
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

  uint64_t bytes() const { return bytes_; }

 private:
  Connection& conn_;
  const uint64_t length_;
  const std::chrono::milliseconds timeout_;
  uint64_t bytes_ = 0;
};

// Streaming seam, response side: each Write sends one piece of the body
// (one chunk when the response is chunked).
class SerializerBodyWriter final : public BodyWriter {
 public:
  SerializerBodyWriter(beast::tcp_stream& stream, http::response<http::buffer_body>& res,
                       http::response_serializer<http::buffer_body>& serializer,
                       std::chrono::milliseconds timeout)
      : stream_(stream), res_(res), serializer_(serializer), timeout_(timeout) {}

  asio::awaitable<Status> Write(std::string_view data) override {
    if (data.empty()) co_return Status::Ok();
    res_.body().data = const_cast<char*>(data.data());
    res_.body().size = data.size();
    res_.body().more = true;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await http::async_write(stream_, serializer_, kTupleAwaitable);
    if (ec && ec != http::error::need_buffer) {
      co_return UnavailableError("response body: connection lost: " + ec.message());
    }
    bytes_ += data.size();
    co_return Status::Ok();
  }

  uint64_t bytes() const { return bytes_; }

 private:
  beast::tcp_stream& stream_;
  http::response<http::buffer_body>& res_;
  http::response_serializer<http::buffer_body>& serializer_;
  std::chrono::milliseconds timeout_;
  uint64_t bytes_ = 0;
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

// Sends a response whose body comes from resp.stream: with a Content-Length
// through a RawBodyWriter, else chunked through Beast's serializer. False
// when the connection must close: the write failed, or the body broke off
// after the head was sent (too late for an error response).
asio::awaitable<bool> WriteStreamed(Connection& conn, Response& resp, unsigned version,
                                    bool keep_alive, std::chrono::milliseconds timeout,
                                    std::string request_id, uint64_t* bytes) {
  beast::tcp_stream& stream = conn.stream;
  http::response<http::buffer_body> res{static_cast<http::status>(resp.status), version};
  res.set(http::field::server, "nexus-api");
  for (auto& [name, value] : resp.headers.fields()) res.insert(name, value);
  res.keep_alive(keep_alive);
  const bool sized = res.has_content_length();
  if (!sized) res.chunked(true);
  res.body().data = nullptr;
  res.body().more = true;
  http::response_serializer<http::buffer_body> serializer{res};
  stream.expires_after(timeout);
  auto [head_ec, head_n] = co_await http::async_write_header(stream, serializer, kTupleAwaitable);
  if (head_ec) co_return false;

  if (sized) {
    const std::string declared(res[http::field::content_length]);
    uint64_t length = 0;
    // Digits only: stoull would take "-1" as 2^64 - 1.
    auto [end, ec] = std::from_chars(declared.data(), declared.data() + declared.size(), length);
    if (ec != std::errc() || end != declared.data() + declared.size() || declared.empty()) {
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

  SerializerBodyWriter writer(stream, res, serializer, timeout);
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
  auto [end_ec, end_n] = co_await http::async_write(stream, serializer, kTupleAwaitable);
  co_return !end_ec;
}

}  // namespace

// One io_context per I/O thread, each connection pinned to one of them:
// a connection's handlers never run concurrently, so sessions need no strand,
// and each context's scheduler serves one thread. Context 0 also runs the
// acceptor, the signal set and shutdown (the "control" context).
class Server::Impl {
 public:
  Impl(const Pipeline& pipeline, ServerOptions options)
      : pipeline_(pipeline),
        options_(std::move(options)),
        threads_(options_.threads > 0 ? options_.threads
                                      : std::max(1u, std::thread::hardware_concurrency())),
        contexts_(MakeContexts(threads_)),
        control_(*contexts_[0]),
        acceptor_(control_),
        signals_(control_),
        grace_timer_(control_) {
    for (auto& ctx : contexts_) keep_running_.push_back(asio::make_work_guard(*ctx));
  }

  Result<std::string> Listen();
  bool Run();
  void Stop() {
    asio::post(control_, [this] { BeginShutdown(); });
  }

 private:
  static asio::awaitable<void> AcceptLoop(Impl* self);
  static asio::awaitable<void> Session(Impl* self, std::shared_ptr<Connection> conn, uint64_t id);
  static asio::awaitable<void> LingeringClose(beast::tcp_stream& stream);

  uint64_t Register(const std::shared_ptr<Connection>& conn);
  void Unregister(uint64_t id);
  void BeginShutdown();  // on control_

  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (int i = 0; i < n; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  const Pipeline& pipeline_;
  const ServerOptions options_;
  const int threads_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  // Idle contexts must keep running until shutdown: connections arrive later.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  std::size_t next_context_ = 0;  // used by the accept loop only
  asio::io_context& control_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandoned_{false};

  std::mutex mu_;
  uint64_t next_id_ = 0;                                                 // guarded by mu_
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_;  // guarded by mu_
};

Result<std::string> Server::Impl::Listen() {
  auto hp = SplitHostPort(options_.listen);
  if (!hp.ok()) return hp.status();
  const auto& [host, port] = *hp;
  beast::error_code ec;
  tcp::resolver resolver(control_);
  auto results = resolver.resolve(host, port, tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return InvalidArgumentError("resolve listen address '" + options_.listen +
                                "': " + (ec ? ec.message() : "no address"));
  }
  tcp::endpoint ep = results.begin()->endpoint();
  auto fail = [&](const char* what) {
    return UnavailableError(std::string(what) + " " + EndpointText(ep) + ": " + ec.message());
  };
  acceptor_.open(ep.protocol(), ec);
  if (ec) return fail("open socket for");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on");
  acceptor_.bind(ep, ec);
  if (ec) return fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return fail("read bound address of");
  return EndpointText(bound);
}

bool Server::Impl::Run() {
  if (options_.handle_signals) {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](const beast::error_code& ec, int signo) {
      if (ec) return;
      spdlog::info("signal {}: shutting down", signo);
      BeginShutdown();
    });
  }
  // The acceptor is already bound (Listen), so nothing in the loop's start
  // can fail silently; its own failures are logged here.
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(this), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("accept loop ended: {}", ex.what());
    }
  });

  auto run = [](asio::io_context& ctx) {
    for (;;) {
      try {
        ctx.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("I/O thread: unhandled exception: {}", e.what());
      }
    }
  };
  std::vector<std::thread> extra;
  for (int i = 1; i < threads_; ++i) extra.emplace_back(run, std::ref(*contexts_[i]));
  run(*contexts_[0]);
  for (auto& t : extra) t.join();
  return !abandoned_.load();
}

uint64_t Server::Impl::Register(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  connections_.emplace(id, conn);
  return id;
}

void Server::Impl::Unregister(uint64_t id) {
  bool last = false;
  {
    std::lock_guard lock(mu_);
    connections_.erase(id);
    last = connections_.empty();
  }
  if (last && stopping_.load()) {
    asio::post(control_, [this] { grace_timer_.cancel(); });
  }
}

void Server::Impl::BeginShutdown() {
  if (stopping_.exchange(true)) return;
  beast::error_code ignored;
  signals_.cancel(ignored);
  acceptor_.close(ignored);
  // Each context now ends when its last connection does.
  keep_running_.clear();
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, weak] : connections_) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  // Idle connections are closed now; busy ones notice stopping_ after their
  // response and close themselves.
  for (auto& c : open) {
    asio::post(c->stream.get_executor(), [c] {
      if (c->idle) c->stream.cancel();
    });
  }
  if (open.empty()) return;
  grace_timer_.expires_after(options_.shutdown_grace);
  grace_timer_.async_wait([this](const beast::error_code& ec) {
    if (ec) return;  // cancelled: the last connection finished in time
    std::size_t left = 0;
    {
      std::lock_guard lock(mu_);
      left = connections_.size();
    }
    if (left == 0) return;
    spdlog::warn("{} connection(s) still busy after the shutdown grace period; abandoning them",
                 left);
    abandoned_ = true;
    for (auto& ctx : contexts_) ctx->stop();
  });
}

asio::awaitable<void> Server::Impl::AcceptLoop(Impl* self) {
  for (;;) {
    asio::io_context& home = *self->contexts_[self->next_context_++ % self->contexts_.size()];
    auto [ec, socket] = co_await self->acceptor_.async_accept(home, kTupleAwaitable);
    if (ec) {
      if (self->stopping_.load() || ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept: {}", ec.message());
      // Out of file descriptors and similar: wait a little instead of spinning.
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer pause(executor, 50ms);
      co_await pause.async_wait(kTupleAwaitable);
      continue;
    }
    if (self->stopping_.load()) co_return;
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto conn = std::make_shared<Connection>(tcp::socket(std::move(socket)), self->options_);
    uint64_t id = self->Register(conn);
    asio::co_spawn(conn->stream.get_executor(), Session(self, conn, id), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("session ended by exception: {}", ex.what());
      }
    });
  }
}

asio::awaitable<void> Server::Impl::LingeringClose(beast::tcp_stream& stream) {
  // The client may still be sending a body we will not read. Closing with
  // unread data makes the kernel send RST, which can destroy our response in
  // flight; so stop sending, then read and drop what arrives for a while.
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  std::vector<char> scratch(16 * 1024);
  std::size_t drained = 0;
  stream.expires_after(2s);
  while (drained < (4u << 20)) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTupleAwaitable);
    if (rec) break;
    drained += n;
  }
}

asio::awaitable<void> Server::Impl::Session(Impl* self, std::shared_ptr<Connection> conn,
                                            uint64_t id) {
  struct Unregister {
    Impl* self;
    uint64_t id;
    ~Unregister() { self->Unregister(id); }
  } unregister{self, id};

  const ServerOptions& opt = self->options_;
  beast::tcp_stream& stream = conn->stream;
  beast::flat_buffer buffer;
  const std::string client_ip = ClientIp(stream);
  bool linger = false;

  for (;;) {
    if (self->stopping_.load()) break;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.header_limit));
    // The route decides the body limit (Admit); Beast must not refuse a
    // large Content-Length while it is still reading the head.
    parser.body_limit(boost::none);

    conn->idle = true;
    stream.expires_after(opt.header_timeout);
    auto [read_ec, head_bytes] =
        co_await http::async_read_header(stream, buffer, parser, kTupleAwaitable);
    conn->idle = false;
    if (read_ec) {
      if (read_ec == http::error::header_limit || IsHttpParseError(read_ec)) {
        // Unparseable or oversized head: answer once, then close.
        Request bad;
        AssignRequestId(bad);
        bool too_big = read_ec == http::error::header_limit;
        Response resp = too_big ? ErrorJson(431, "request header too large")
                                : ErrorJson(400, "malformed HTTP request");
        Pipeline::Finish(bad, resp);
        auto out = ToBeast(resp, 11, false);
        stream.expires_after(opt.write_timeout);
        co_await http::async_write(stream, out, kTupleAwaitable);
        LogAccess(bad, resp.status, out.body().size(), 0.0);
        linger = true;
      }
      break;
    }

    const auto started = std::chrono::steady_clock::now();
    auto& head = parser.get();
    const unsigned version = head.version();
    const bool client_keep_alive = head.keep_alive();
    Request req;
    req.method.assign(head.method_string());
    for (const auto& field : head) {
      req.headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    req.client_ip = client_ip;

    Pipeline::Admission admission = co_await self->pipeline_.Admit(req, head.target());
    Response resp;
    bool body_unread = !parser.is_done();
    if (admission.response) {
      resp = std::move(*admission.response);
    } else if (admission.route->options.body == BodyMode::kStream) {
      // The handler pulls the body itself.
      const bool send_continue = EqualsIgnoreCase(req.headers.Get("Expect"), "100-continue");
      if (!parser.is_done() && !parser.chunked() && parser.content_length()) {
        LengthBodyReader reader(*conn, buffer, *parser.content_length(), version, send_continue,
                                opt);
        req.body_reader = &reader;
        resp = co_await self->pipeline_.Run(req, *admission.route);
        req.body_reader = nullptr;
        body_unread = !reader.done();
      } else {
        // Chunked (or empty): Beast decodes it. `head` dies with the conversion.
        http::request_parser<http::buffer_body> stream_parser(std::move(parser));
        ParserBodyReader reader(*conn, buffer, stream_parser, version, send_continue, opt);
        req.body_reader = &reader;
        resp = co_await self->pipeline_.Run(req, *admission.route);
        req.body_reader = nullptr;
        body_unread = !stream_parser.is_done();
      }
    } else {
      bool have_body = true;
      if (!parser.is_done()) {
        if (EqualsIgnoreCase(req.headers.Get("Expect"), "100-continue")) {
          http::response<http::empty_body> go_on{http::status::continue_, version};
          stream.expires_after(opt.write_timeout);
          auto [cec, cn] = co_await http::async_write(stream, go_on, kTupleAwaitable);
          if (cec) break;
        }
        parser.body_limit(static_cast<std::uint64_t>(admission.body_limit));
        stream.expires_after(opt.body_timeout);
        auto [body_ec, body_bytes] =
            co_await http::async_read(stream, buffer, parser, kTupleAwaitable);
        if (body_ec == http::error::body_limit) {
          resp = ErrorResponse(BodyTooLargeError(admission.body_limit), req.request_id);
          have_body = false;
        } else if (body_ec) {
          spdlog::debug("request {}: reading body: {}", req.request_id, body_ec.message());
          break;
        }
      }
      body_unread = !parser.is_done();
      if (have_body) {
        req.body = std::move(parser.get().body());
        resp = co_await self->pipeline_.Run(req, *admission.route);
      }
    }
    Pipeline::Finish(req, resp);

    const bool keep_alive = client_keep_alive && !body_unread && !self->stopping_.load();
    const int status = resp.status;
    uint64_t bytes = 0;
    bool written = false;
    if (resp.stream) {
      auto send = WriteStreamed(*conn, resp, version, keep_alive, opt.write_timeout, req.request_id,
                                &bytes);
      written = co_await std::move(send);
    } else {
      auto out = ToBeast(resp, version, keep_alive);
      stream.expires_after(opt.write_timeout);
      auto [write_ec, write_n] = co_await http::async_write(stream, out, kTupleAwaitable);
      written = !write_ec;
      bytes = out.body().size();
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    LogAccess(req, status, bytes, ms);
    if (!written) break;
    if (!keep_alive) {
      linger = body_unread;
      break;
    }
  }

  if (linger) {
    co_await LingeringClose(stream);
  } else {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  beast::error_code ec;
  stream.socket().close(ec);
}

Server::Server(const Pipeline& pipeline, ServerOptions options)
    : impl_(std::make_unique<Impl>(pipeline, std::move(options))) {}
Server::~Server() = default;
Result<std::string> Server::Listen() { return impl_->Listen(); }
bool Server::Run() { return impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace nexus::gateway
