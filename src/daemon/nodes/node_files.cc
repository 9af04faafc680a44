#include "daemon/nodes/node_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "daemon/runtime/oci_runtime.h"

namespace nexus::daemon::runtime {

namespace fs = std::filesystem;

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status MakeRootOnlyDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return Status::Ok();
  if (errno != EEXIST) return ErrnoError(StatusCode::kInternal, "mkdir '" + path + "'", errno);
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return ErrnoError(StatusCode::kInternal, "stat '" + path + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) return InternalError("'" + path + "' is not a directory");
  if ((st.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0) {
    return ErrnoError(StatusCode::kInternal, "chmod '" + path + "'", errno);
  }
  return Status::Ok();
}

Status RemoveDirTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return InternalError("remove '" + path + "': " + ec.message());
  return Status::Ok();
}

Status WithRuntimeLog(Status failed, const std::string& log_path) {
  if (failed.ok()) return failed;
  std::string why = RuncErrorMessage(ReadFileOrEmpty(log_path));
  if (why.empty()) return failed;
  return Status(failed.code(), failed.message() + ": " + why);
}

}  // namespace nexus::daemon::runtime
