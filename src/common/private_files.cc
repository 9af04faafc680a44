#include "common/private_files.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace nexus {
namespace {

namespace fs = std::filesystem;

std::string Octal(mode_t mode) {
  char out[8];
  std::snprintf(out, sizeof out, "%04o", static_cast<unsigned>(mode & 07777));
  return out;
}

}  // namespace

Status MakePrivateDirectory(const std::string& dir) {
  if (dir.empty()) return InvalidArgumentError("a private directory's path is empty");
  const fs::path parent = fs::path(dir).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return UnavailableError("create directory '" + parent.string() + "': " + ec.message());
  }
  // 0700 from the start: the umask can only take bits away.
  if (::mkdir(dir.c_str(), 0700) == 0) return Status::Ok();
  if (errno != EEXIST)
    return ErrnoError(StatusCode::kUnavailable, "create directory '" + dir + "'", errno);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return ErrnoError(StatusCode::kUnavailable, "stat '" + dir + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) return InvalidArgumentError("'" + dir + "' is not a directory");
  if ((st.st_mode & 077) == 0) return Status::Ok();
  if (st.st_mode & S_ISVTX) {
    return InvalidArgumentError("'" + dir + "' is a shared directory (mode " + Octal(st.st_mode) +
                                "): give Nexus a directory of its own");
  }
  const mode_t tightened = st.st_mode & 0700;
  if (::chmod(dir.c_str(), tightened) != 0) {
    return ErrnoError(StatusCode::kUnavailable, "make '" + dir + "' private (chmod 0700)", errno);
  }
  spdlog::info("made '{}' private: mode {} -> {}", dir, Octal(st.st_mode), Octal(tightened));
  return Status::Ok();
}

Status MakeFilePrivate(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoError(StatusCode::kUnavailable, "stat '" + path + "'", errno);
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) return Status::Ok();
  const mode_t tightened = st.st_mode & 0700;
  if (::chmod(path.c_str(), tightened) != 0) {
    return ErrnoError(StatusCode::kUnavailable, "make '" + path + "' private", errno);
  }
  spdlog::info("made '{}' private: mode {} -> {}", path, Octal(st.st_mode), Octal(tightened));
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(StatusCode::kUnavailable, "open directory '" + dir + "'", errno);
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(StatusCode::kUnavailable, "fsync directory '" + dir + "'", e);
  return Status::Ok();
}

}  // namespace nexus
