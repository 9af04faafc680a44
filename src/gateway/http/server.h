// Server: the HTTP/1.1 server of the gateway (Boost.Beast, Asio C++20
// coroutines, keep-alive); the only owner of sockets. A small facade over its
// parts, in the shape of Beast's own examples:
//   listener.h     accept loop, I/O threads, graceful shutdown
//   session.h      one connection's request loop
//   connection.h   the socket and the watchdog of its streamed bodies
//   body_reader.h  request bodies of streaming routes (uploads)
//   body_writer.h  streamed response bodies (downloads)
//
// Each I/O thread has its own io_context; a connection lives on one of them.
// Every read and write has a timeout, so a silent client cannot hold a
// connection forever, and streamed bodies (uploads, downloads) have a floor
// on their average rate, so a trickling one cannot either. A streamed body
// with a Content-Length (uploads) is read from the socket straight into the
// handler's buffer, and a streamed response with one (downloads) written
// straight from the handler's bytes. On SIGINT/SIGTERM (or Stop) the server
// stops accepting, closes idle connections, lets in-flight requests finish
// and Run returns; connections still busy after the grace period are
// abandoned.
// Beast and Asio stay inside those files: this header is cheap to include.
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
  bool handle_signals = true;  // stop on SIGINT / SIGTERM; SIGHUP re-reads the TLS files
  // PEM certificate (chain) and private key: both set, HTTPS only.
  std::string tls_cert;
  std::string tls_key;
};

class Listener;

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
  std::unique_ptr<Listener> listener_;
};

}  // namespace nexus::gateway
