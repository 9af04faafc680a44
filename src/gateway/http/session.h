// Session: one connection's request loop. It reads a request head, lets the
// Pipeline admit it (route, limits, auth), reads the body within the admitted
// limit (or hands a streaming route a BodyReader over the connection), runs
// the handler and writes the response (whole, or through a BodyWriter when
// Response::stream is set); then waits for the next request on the same
// connection, until the client or a shutdown ends it. Every read and write
// has a timeout, so a silent client cannot hold a connection forever.
// Runs on the connection's own I/O thread; needs no strand.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>

#include "gateway/http/connection.h"
#include "gateway/http/pipeline.h"
#include "gateway/http/server.h"

namespace nexus::gateway {

// Told when a session ends, however it ends (also when its I/O thread is
// stopped with the session still suspended).
class SessionObserver {
 public:
  virtual void SessionEnded(uint64_t id) = 0;

 protected:
  ~SessionObserver() = default;
};

// What every session of one server shares; outlives them all.
struct SessionContext {
  const Pipeline& pipeline;
  const ServerOptions& options;
  const std::atomic<bool>& stopping;  // set once a graceful shutdown began
  SessionObserver& observer;
};

// Serves `conn` until it closes; calls ctx.observer.SessionEnded(id) at the end.
asio::awaitable<void> ServeConnection(const SessionContext& ctx, std::shared_ptr<Connection> conn,
                                      uint64_t id);

}  // namespace nexus::gateway
