// Connection: one accepted socket and the watchdog that times its streamed
// bodies. Used by the listener (which keeps a weak reference to close idle
// ones at shutdown), the session that serves it, and the body readers and
// writers that move its bytes. Everything here runs on the connection's own
// I/O thread only: not thread-safe, and needs no strand.
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
//
// The connection's coroutine runs on a RequestIdExecutor bound to
// `request_id` (request_executor.h): set by the session while it serves a
// request, so that request's id marks every line logged and every backend
// call made on its behalf.
//
// TLS: a connection of an HTTPS listener has a TLS stream layered on its TCP
// stream (`tls`); requests and responses go through OnStream / OnRawStream,
// which hand the TLS stream when there is one. Timeouts stay on the TCP
// stream below it, so they work the same.
// Beast and Asio appear here: include this only from the server's own files.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/http/request_executor.h"
#include "gateway/http/server.h"
#include "gateway/http/transfer_floor.h"

namespace nexus::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// Completion token of every socket operation here: errors come back as
// values ([ec, n]), never as exceptions.
inline constexpr auto kTupleAwaitable = asio::as_tuple(asio::use_awaitable);

// TLS over the connection's own TCP stream (held by reference).
using TlsStream = asio::ssl::stream<beast::tcp_stream&>;

// One accepted connection. `idle` is true while the session waits for the
// next request head (or the TLS handshake).
struct Connection : std::enable_shared_from_this<Connection> {
  using Clock = std::chrono::steady_clock;

  // `tls_context`: null for plain HTTP; else the connection speaks TLS with
  // it, and keeps it alive for as long as the connection lives.
  Connection(tcp::socket socket, const ServerOptions& options,
             std::shared_ptr<asio::ssl::context> tls_context = nullptr);

  // Calls `op` with the stream HTTP travels on, timed by the TCP stream's
  // expiry: the TLS stream if any, else the TCP stream. `op` must return the
  // same type for both (an awaitable of one async operation).
  template <typename Op>
  auto OnStream(Op&& op) {
    return tls ? op(*tls) : op(stream);
  }
  // The same for I/O timed by the watch: the TLS stream (its TCP stream's
  // own timer off), else the bare socket.
  template <typename Op>
  auto OnRawStream(Op&& op) {
    if (!tls) return op(stream.socket());
    stream.expires_never();
    return op(*tls);
  }

  // Starts timing operations with `timeout` (and a new body against the
  // floor), unless a watch is running already or one has closed the
  // connection; until EndWatch the timer holds a reference to the connection.
  void BeginWatch(std::chrono::milliseconds timeout);
  void EndWatch();
  void OpStarted();
  // The pending operation has moved `bytes` in all (a write, as it goes).
  void OpProgress(std::size_t bytes);
  // The pending operation ended having moved `bytes`; sets too_slow when
  // that completed a window below the floor (the caller fails the body).
  void OpEnded(std::size_t bytes);
  // Closes the connection with a reset: what the kernel still holds for a
  // client below the floor would otherwise keep trickling out to it.
  void Abort();
  // What a body cut off by the floor fails with.
  std::string TooSlowMessage() const;

  beast::tcp_stream stream;
  const std::shared_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<TlsStream> tls;  // set when tls_context is
  RequestIdCell request_id;        // of the request being served, "" between requests
  bool idle = false;
  bool timed_out = false;  // the watch closed the connection
  bool too_slow = false;   // the body fell below the transfer floor

 private:
  Clock::time_point NextWake(Clock::time_point now) const;
  void ArmWatch(Clock::time_point at);
  void OnWatch(uint64_t generation);

  TransferFloor floor;
  asio::steady_timer watchdog;
  std::chrono::milliseconds watch_timeout{0};
  uint64_t watch_generation = 0;
  bool watching = false;
  bool op_pending = false;
  std::size_t op_moved = 0;     // by the pending operation, so far
  Clock::time_point op_active;  // the pending operation started or last moved a byte
};

// The client may still be sending a body we will not read: stops sending,
// then reads and drops what arrives for a while (bounded in time and bytes).
asio::awaitable<void> LingeringClose(beast::tcp_stream& stream);

// Stops sending (a FIN after what is queued) and closes the socket.
void CloseStream(beast::tcp_stream& stream);

}  // namespace nexus::gateway
