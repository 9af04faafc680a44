#include "daemon/lambda/lambda_dirs.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace nexus::daemon::runtime {

Status MakeOwnPrivateDir(Env& env, const std::string& path) {
  // Parents as `mkdir -p` makes them: what the umask leaves of 0777.
  Status parents = env.MakeDirs(DirName(path), 0777);
  if (!parents.ok()) return AsInternal(parents.WithContext("create the parent of '" + path + "'"));
  Status made = env.MakeDir(path, 0700);
  if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return AsInternal(made);
  auto info = env.LinkStat(path);
  if (!info.ok()) return AsInternal(info.status());
  if (info->type != FileType::kDirectory) return InternalError("'" + path + "' is not a directory");
  if (info->uid != ::geteuid()) {
    return InternalError("'" + path + "' belongs to uid " + std::to_string(info->uid));
  }
  if (info->mode != 0700) {
    if (Status narrowed = env.Chmod(path, 0700); !narrowed.ok()) return AsInternal(narrowed);
  }
  return Status::Ok();
}

void RemoveIfEmpty(Env& env, const std::string& path) {
  auto info = env.LinkStat(path);
  if (!info.ok() || info->type != FileType::kDirectory) return;  // gone, or no directory of ours
  auto names = env.ListDir(path);
  if (!names.ok() || !names->empty()) return;  // still in use
  Status removed = env.Remove(path);
  if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
    spdlog::warn("lambda: {}", removed.message());
  }
}

Status RuntimeDirUsable(const std::string& dir) {
  if (dir.empty() || dir[0] != '/' || dir == "/") {
    return InternalError("lambda runtime_dir '" + dir + "' is not an absolute directory");
  }
  return Status::Ok();
}

Status AsInternal(const Status& failure) {
  if (failure.ok() || failure.code() == StatusCode::kInternal) return failure;
  return Status(StatusCode::kInternal, failure.message());
}

}  // namespace nexus::daemon::runtime
