#include "daemon/lambda/lambda_dirs.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace nexus::daemon::runtime {

Status MakeOwnPrivateDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return InternalError("create the parent of '" + path + "': " + ec.message());
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(StatusCode::kInternal, "mkdir '" + path + "'", errno);
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return ErrnoError(StatusCode::kInternal, "stat '" + path + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) return InternalError("'" + path + "' is not a directory");
  if (st.st_uid != ::geteuid()) {
    return InternalError("'" + path + "' belongs to uid " + std::to_string(st.st_uid));
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0) {
    return ErrnoError(StatusCode::kInternal, "chmod '" + path + "'", errno);
  }
  return Status::Ok();
}

void RemoveIfEmpty(const std::string& path) {
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
    spdlog::warn("lambda: remove '{}': {}", path, std::strerror(errno));
  }
}

Status RuntimeDirUsable(const std::string& dir) {
  if (dir.empty() || dir[0] != '/' || dir == "/") {
    return InternalError("lambda runtime_dir '" + dir + "' is not an absolute directory");
  }
  return Status::Ok();
}

}  // namespace nexus::daemon::runtime
