#include "gateway/http/connection.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <vector>

namespace nexus::gateway {

using namespace std::chrono_literals;

Connection::Connection(tcp::socket socket, const ServerOptions& options,
                       std::shared_ptr<asio::ssl::context> tls_context)
    : stream(std::move(socket)),
      tls_context(std::move(tls_context)),
      floor(options.min_transfer_bytes_per_second, options.min_transfer_window),
      watchdog(stream.get_executor()) {
  if (this->tls_context) tls = std::make_unique<TlsStream>(stream, *this->tls_context);
}

void Connection::BeginWatch(std::chrono::milliseconds timeout) {
  if (watching || timed_out) return;
  watch_timeout = timeout;
  op_pending = false;
  floor.Reset();
  watching = true;
  ++watch_generation;
  ArmWatch(NextWake(Clock::now()));
}

void Connection::EndWatch() {
  if (!watching) return;
  watching = false;
  ++watch_generation;
  watchdog.cancel();
}

void Connection::OpStarted() {
  op_pending = true;
  op_moved = 0;
  op_active = Clock::now();
  floor.OpStarted(op_active);
}

void Connection::OpProgress(std::size_t bytes) {
  if (!op_pending || bytes <= op_moved) return;
  op_moved = bytes;
  op_active = Clock::now();
  floor.OpProgress(bytes);
}

void Connection::OpEnded(std::size_t bytes) {
  if (!op_pending) return;
  op_pending = false;
  const Clock::time_point now = Clock::now();
  floor.OpEnded(now, bytes);
  if (floor.TooSlow(now)) too_slow = true;
}

void Connection::Abort() {
  beast::error_code ignored;
  stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
  stream.close();
}

std::string Connection::TooSlowMessage() const {
  return "slower than the minimum transfer rate (" + std::to_string(floor.bytes_per_second()) +
         " bytes/s over " + std::to_string(floor.window().count() / 1000) + " s)";
}

Connection::Clock::time_point Connection::NextWake(Clock::time_point now) const {
  Clock::time_point at = (op_pending ? op_active : now) + watch_timeout;
  if (floor.enabled()) {
    at = std::min(at, now + std::max<Clock::duration>(floor.window() / 4, 50ms));
  }
  return at;
}

void Connection::ArmWatch(Clock::time_point at) {
  watchdog.expires_at(at);
  watchdog.async_wait(
      [self = shared_from_this(), generation = watch_generation](const beast::error_code& ec) {
        if (!ec) self->OnWatch(generation);
      });
}

void Connection::OnWatch(uint64_t generation) {
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

asio::awaitable<void> LingeringClose(beast::tcp_stream& stream) {
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

void CloseStream(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

}  // namespace nexus::gateway
