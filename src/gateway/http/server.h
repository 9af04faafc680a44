// Server: the HTTP/1.1 listener and its sessions (Boost.Beast, Asio C++20
// coroutines, keep-alive). The only place that owns sockets.
//
// A session reads a request head, lets the Pipeline admit it (route, limits,
// auth), reads the body within the admitted limit (or hands a streaming
// route a BodyReader over the connection), runs the handler and writes the
// response (whole, or through a BodyWriter when Response::stream is set);
// then waits for the next request on the same connection. Each I/O thread
// has its own io_context; a connection lives on one of them.
// Every read and write has a timeout, so a silent client cannot hold a
// connection forever, and streamed bodies (uploads, downloads) have a floor
// on their average rate, so a trickling one cannot either. A streamed body
// with a Content-Length (uploads) is read from the socket straight into the
// handler's buffer, and a streamed response with one (downloads) written
// straight from the handler's bytes; the reads and writes of streamed bodies
// are timed by one watchdog timer per connection rather than a timer armed
// per socket operation, and a write times out when it has moved no byte for
// the timeout (a large one the client drains slowly but steadily does not). On SIGINT/SIGTERM (or
// Stop) the server stops accepting, closes idle connections, lets in-flight requests finish (each
// answered with "Connection: close") and Run returns; connections still busy
// after the grace period are abandoned.
// Beast and Asio stay inside server.cc: this header is cheap to include.
// Listen and Run are called once, from one thread; Stop is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "gateway/http/pipeline.h"

namespace nexus::gateway {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port, [v6]:port; port 0 = any
  int threads = 0;                        // I/O threads; 0 = number of cores
  std::size_t header_limit = 16 * 1024;   // bytes of request line + headers
  // Waiting for the next request on a kept-alive connection and reading its
  // head; reading a body; writing a response.
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  // A streamed body whose average rate, over each window of this long spent
  // waiting on the client, is below this many bytes/s is cut off
  // (transfer_floor.h); 0: no floor.
  int64_t min_transfer_bytes_per_second = 4096;
  std::chrono::milliseconds min_transfer_window{30'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  bool handle_signals = true;  // stop on SIGINT / SIGTERM
};

class Server {
 public:
  // `pipeline` must outlive the server.
  Server(const Pipeline& pipeline, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Returns the bound address ("127.0.0.1:8080"), which
  // tells the port when options.listen asked for port 0.
  Result<std::string> Listen();

  // Serves on options.threads threads until stopped. Returns true when every
  // connection finished within the grace period, false when some were
  // abandoned (the caller should then exit without waiting on them).
  bool Run();

  // Begins a graceful stop; Run returns when it is complete.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nexus::gateway
