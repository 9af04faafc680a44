#include "daemon/grpc_unix_listener.h"

#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

namespace nexus::daemon {

Status SetSendBuffer(int fd, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) == 0) {
    return Status::Ok();
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) == 0) return Status::Ok();
  return ErrnoError(StatusCode::kUnavailable, "set the socket's send buffer", errno);
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
  // The socket file takes its permissions from the umask at bind: no moment
  // in which others could connect. The chmod only confirms them.
  const mode_t old_umask = ::umask(0777 & ~mode);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) {
    ::close(fd);
    return ErrnoError(StatusCode::kUnavailable, "bind '" + path + "'", bind_errno);
  }
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    Status s = ErrnoError(StatusCode::kUnavailable, "listen on '" + path + "'", errno);
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  }
  return std::unique_ptr<GrpcUnixListener>(new GrpcUnixListener(fd));
}

GrpcUnixListener::~GrpcUnixListener() {
  Stop();
  ::close(fd_);
}

Status GrpcUnixListener::Start(grpc::Server* server) {
  try {
    thread_ = std::thread([this, server] { AcceptLoop(server); });
  } catch (const std::system_error& e) {
    return UnavailableError(std::string("no thread to accept connections: ") + e.what());
  }
  pthread_setname_np(thread_.native_handle(), "accept");
  return Status::Ok();
}

void GrpcUnixListener::Stop() {
  if (!thread_.joinable()) return;
  // Makes the blocked accept4 fail (EINVAL) and every later one too.
  ::shutdown(fd_, SHUT_RDWR);
  thread_.join();
}

void GrpcUnixListener::AcceptLoop(grpc::Server* server) {
  for (;;) {
    // gRPC's endpoints expect a non-blocking socket (as its own accept makes).
    const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      switch (errno) {
        case EINTR:
        case ECONNABORTED:
          continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
          // Out of descriptors or memory: the connection waits in the
          // backlog; try again shortly rather than spin.
          spdlog::warn("accept: {}; retrying in 100 ms", std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        case EINVAL:  // shut down by Stop
          return;
        default:
          spdlog::error("accept: {}; no new connections will be served", std::strerror(errno));
          return;
      }
    }
    // A connection with the host's default buffer still works, only slower.
    if (Status s = SetSendBuffer(conn, kConnectionSendBufferBytes); !s.ok()) {
      spdlog::warn("accepted connection: {}", s.ToString());
    }
    grpc::AddInsecureChannelFromFd(server, conn);  // gRPC owns `conn` now
  }
}

}  // namespace nexus::daemon
