// Listener: the accept loop and the I/O threads of the server, and its
// graceful shutdown. Server (server.h) is its public face.
//
// One io_context per I/O thread, each connection pinned to one of them:
// a connection's handlers never run concurrently, so sessions need no strand,
// and each context's scheduler serves one thread. Context 0 also runs the
// acceptor, the signal set and shutdown (the "control" context). On
// SIGINT/SIGTERM (or Stop) the listener stops accepting, closes idle
// connections, lets in-flight requests finish (each answered with
// "Connection: close") and Run returns; connections still busy after the
// grace period are abandoned. With TLS files set, every connection speaks
// TLS, and SIGHUP re-reads the files for the connections accepted after it.
// Listen and Run are called once, from one thread; Stop is thread-safe.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"
#include "gateway/http/connection.h"
#include "gateway/http/pipeline.h"
#include "gateway/http/server.h"
#include "gateway/http/session.h"
#include "gateway/http/tls_credentials.h"

namespace nexus::gateway {

// Splits "host:port" / "[v6]:port" into host and port; an empty host is
// "0.0.0.0". The port must be a number from 0 to 65535.
Result<std::pair<std::string, std::string>> SplitHostPort(const std::string& listen);

class Listener final : private SessionObserver {
 public:
  // `pipeline` must outlive the listener.
  Listener(const Pipeline& pipeline, ServerOptions options);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // As Server::Listen, Server::Run and Server::Stop.
  Result<std::string> Listen();
  bool Run();
  void Stop();

 private:
  static asio::awaitable<void> AcceptLoop(Listener* self);

  void WaitForSignal();  // on control_
  uint64_t Register(const std::shared_ptr<Connection>& conn);
  void SessionEnded(uint64_t id) override;  // unregisters
  void BeginShutdown();                     // on control_

  const ServerOptions options_;
  const int threads_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  // Idle contexts must keep running until shutdown: connections arrive later.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  std::size_t next_context_ = 0;  // used by the accept loop only
  asio::io_context& control_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  std::unique_ptr<TlsCredentials> tls_;  // set by Listen when TLS is on
  asio::steady_timer grace_timer_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> abandoned_{false};
  const SessionContext sessions_;

  std::mutex mu_;
  uint64_t next_id_ = 0;                                                 // guarded by mu_
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_;  // guarded by mu_
};

}  // namespace nexus::gateway
