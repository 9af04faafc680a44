// nexusd's own accept loop for its gRPC Unix socket.
//
// Why not gRPC's AddListeningPort: gRPC leaves an accepted Unix socket's
// send buffer at the host default (net.core.wmem_default, 208 KiB on Debian)
// and has no public option to change it. A download then crosses to the
// gateway in ~200 KiB sendmsg calls, each with its wakeups on both sides.
// With a 4 MiB send buffer a 1 GiB download took ~0.4 s less CPU across
// nexus-api and nexusd and ran about a third faster (bench/RESULTS.md). So
// nexusd binds and accepts itself, sets the buffer on each connection, and
// hands it to the running server (grpc::AddInsecureChannelFromFd): from
// there on gRPC owns it as if it had accepted it.
//
// One thread ("accept") blocks in accept4; Stop wakes it by shutting the
// listening socket down. Thread-compatible: Start and Stop from one thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "common/result.h"

namespace grpc {
class Server;
}

namespace nexus::daemon {

// What each accepted connection asks for as its send buffer.
inline constexpr int kConnectionSendBufferBytes = 4 << 20;

// Sets `fd`'s send buffer to `bytes` where the host allows it:
// SO_SNDBUFFORCE (CAP_NET_ADMIN) first, so net.core.wmem_max does not cap
// it, else SO_SNDBUF (capped). Returns the bytes granted; kUnavailable only
// when neither call works.
Result<int> SetSendBuffer(int fd, int bytes);

class GrpcUnixListener {
 public:
  // Binds a Unix socket at `path` with permissions `mode` (from the moment
  // it exists) and listens. The path must be free (see ClearStaleSocket).
  static Result<std::unique_ptr<GrpcUnixListener>> Bind(const std::string& path, mode_t mode);

  ~GrpcUnixListener();  // Stop(), then closes the socket (the path stays)
  GrpcUnixListener(const GrpcUnixListener&) = delete;
  GrpcUnixListener& operator=(const GrpcUnixListener&) = delete;

  // Starts handing connections to `server`, which is started and outlives
  // Stop. kUnavailable when no thread can be made.
  Status Start(grpc::Server* server);

  // No more connections: wakes and joins the thread. Connections already
  // handed over stay with the server (its Shutdown ends them).
  void Stop();

 private:
  explicit GrpcUnixListener(int fd) : fd_(fd) {}
  void AcceptLoop(grpc::Server* server);

  const int fd_;
  std::thread thread_;
};

}  // namespace nexus::daemon
