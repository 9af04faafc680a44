#include "daemon/nodes/node_files.h"

#include <charconv>
#include <string_view>

#include "daemon/runtime/oci_runtime.h"

namespace nexus::daemon::runtime {
namespace {

// resolv.conf, pid files and runc logs are small; a bigger one is not
// what we are looking for.
constexpr size_t kMaxSmallFileBytes = 1 << 20;

}  // namespace

std::string ReadFileOrEmpty(Env& env, const std::string& path) {
  auto text = env.ReadFile(path, kMaxSmallFileBytes);
  return text.ok() ? std::move(text).value() : std::string();
}

int64_t HostMemoryBytes(Env& env) {
  const std::string meminfo = ReadFileOrEmpty(env, "/proc/meminfo");
  constexpr std::string_view kKey = "MemTotal:";
  const size_t at = meminfo.find(kKey);
  if (at == std::string::npos) return 0;
  const char* p = meminfo.data() + at + kKey.size();
  const char* end = meminfo.data() + meminfo.size();
  while (p < end && *p == ' ') ++p;
  int64_t kib = 0;
  auto [next, ec] = std::from_chars(p, end, kib);
  // The kernel writes "MemTotal:  <n> kB".
  if (ec != std::errc() || std::string_view(next, end - next).substr(0, 3) != " kB") return 0;
  return kib > (int64_t{1} << 52) ? 0 : kib << 10;
}

Status MakeRootOnlyDir(Env& env, const std::string& path) {
  Status made = env.MakeDir(path, 0700);
  if (made.code() != StatusCode::kAlreadyExists) return made;
  NEXUS_ASSIGN_OR_RETURN(FileInfo info, env.LinkStat(path));
  if (info.type != FileType::kDirectory) return InternalError("'" + path + "' is not a directory");
  if (info.mode != 0700) return env.Chmod(path, 0700);
  return Status::Ok();
}

Status RemoveDirTree(Env& env, const std::string& path) { return env.RemoveTree(path); }

Status WithRuntimeLog(Env& env, Status failed, const std::string& log_path) {
  if (failed.ok()) return failed;
  std::string why = RuncErrorMessage(ReadFileOrEmpty(env, log_path));
  if (why.empty()) return failed;
  return Status(failed.code(), failed.message() + ": " + why);
}

}  // namespace nexus::daemon::runtime
