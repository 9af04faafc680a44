#include "daemon/rpc/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nexus::daemon {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";

// True when a process accepts connections on the socket at `path`.
bool SomeoneListens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

Result<std::string> UnixSocketPath(std::string_view address) {
  if (!address.starts_with(kUnixPrefix)) {
    return InvalidArgumentError("listen address '" + std::string(address) +
                                "' is not a unix: address");
  }
  std::string_view path = address.substr(kUnixPrefix.size());
  // "unix:///abs/path" is the URI spelling of "unix:/abs/path".
  if (path.starts_with("//")) path.remove_prefix(2);
  if (path.empty()) return InvalidArgumentError("listen address 'unix:' names no path");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return InvalidArgumentError("unix socket path '" + std::string(path) + "' is longer than " +
                                std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  return std::string(path);
}

Status ClearStaleSocket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoError(StatusCode::kUnavailable, "stat socket '" + path + "'", errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return InvalidArgumentError("'" + path + "' exists and is not a socket; not removing it");
  }
  if (SomeoneListens(path)) {
    return AlreadyExistsError("socket '" + path + "' is served by a running process");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(StatusCode::kUnavailable, "remove stale socket '" + path + "'", errno);
  }
  return Status::Ok();
}

}  // namespace nexus::daemon
