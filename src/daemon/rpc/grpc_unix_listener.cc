#include "daemon/rpc/grpc_unix_listener.h"

#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "common/named_thread.h"

namespace nexus::daemon {

Result<int> SetSendBuffer(int fd, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) != 0) {
    return ErrnoError(StatusCode::kUnavailable, "set the socket's send buffer", errno);
  }
  int effective = 0;
  socklen_t len = sizeof(effective);
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &effective, &len) != 0) {
    return ErrnoError(StatusCode::kUnavailable, "read the socket's send buffer", errno);
  }
  return effective / 2;  // the kernel reports twice what it grants the data
}

Result<std::unique_ptr<GrpcUnixListener>> GrpcUnixListener::Bind(const std::string& path,
                                                                 mode_t mode) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return InvalidArgumentError("unix socket path '" + path + "' is empty or too long");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError(StatusCode::kUnavailable, "create a unix socket", errno);
  auto fail = [&](const std::string& what, int err, bool bound) {
    ::close(fd);
    if (bound) ::unlink(path.c_str());
    return ErrnoError(StatusCode::kUnavailable, what + " '" + path + "'", err);
  };
  // Linux gives the socket file the socket's mode less the umask: set before
  // bind, the file never allows more than `mode`; the chmod after it gives
  // back what the umask took. (No process-wide umask change: other threads
  // run already.)
  if (::fchmod(fd, mode) != 0) return fail("set the mode of the socket for", errno, false);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail("bind", errno, false);
  }
  if (::chmod(path.c_str(), mode) != 0) return fail("chmod socket", errno, true);
  if (::listen(fd, SOMAXCONN) != 0) return fail("listen on", errno, true);
  return std::unique_ptr<GrpcUnixListener>(new GrpcUnixListener(fd));
}

GrpcUnixListener::~GrpcUnixListener() {
  Stop();
  ::close(fd_);
}

Status GrpcUnixListener::Start(grpc::Server* server) {
  try {
    thread_ = StartNamedThread("accept", [this, server] { AcceptLoop(server); });
  } catch (const std::system_error& e) {
    return UnavailableError(std::string("no thread to accept connections: ") + e.what());
  }
  return Status::Ok();
}

void GrpcUnixListener::Stop() {
  if (!thread_.joinable()) return;
  // Makes the blocked accept4 fail (EINVAL) and every later one too.
  ::shutdown(fd_, SHUT_RDWR);
  thread_.join();
}

void GrpcUnixListener::AcceptLoop(grpc::Server* server) {
  int last_errno = 0;  // the accept error logged last: a burst logs once
  bool told_buffer = false;
  for (;;) {
    // gRPC's endpoints expect a non-blocking socket (as its own accept makes).
    const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      const int err = errno;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EINVAL) return;  // shut down by Stop
      // Out of descriptors or memory, or anything unforeseen: the connection
      // waits in the backlog. Keep serving the ones that come later rather
      // than spin or give up.
      if (err != last_errno) {
        spdlog::error("accept: {}; retrying every 100 ms", std::strerror(err));
        last_errno = err;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    last_errno = 0;
    // A connection with a smaller buffer still works, only slower.
    Result<int> buffer = SetSendBuffer(conn, kConnectionSendBufferBytes);
    if (!buffer.ok()) {
      spdlog::warn("accepted connection: {}", buffer.status().ToString());
    } else if (*buffer < kConnectionSendBufferBytes && !told_buffer) {
      spdlog::warn(
          "connections get a {} KiB send buffer, not {} KiB (net.core.wmem_max "
          "caps it without CAP_NET_ADMIN): downloads are slower",
          *buffer / 1024, kConnectionSendBufferBytes / 1024);
      told_buffer = true;
    }
    grpc::AddInsecureChannelFromFd(server, conn);  // gRPC owns `conn` now
  }
}

}  // namespace nexus::daemon
