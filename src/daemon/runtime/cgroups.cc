#include "daemon/runtime/cgroups.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "common/env.h"
#include "common/mountinfo.h"

namespace nexus::daemon::runtime {
namespace {

constexpr long kCgroup2SuperMagic = 0x63677270;

// Control files are a few lines; the bound only guards against a surprise.
constexpr size_t kMaxControlFileBytes = 64 * 1024;

// The host's own cgroup tree: nothing to fake, so the real file system.
Result<std::string> ReadControlFile(const std::string& path) {
  PosixEnv env;
  return env.ReadFile(path, kMaxControlFileBytes);
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A cgroup path nexusd may remove: absolute, not the root, no "." or "..".
Status CheckRemovable(const std::string& cgroups_path) {
  if (cgroups_path.empty() || cgroups_path[0] != '/' ||
      cgroups_path.find_first_not_of('/') == std::string::npos) {
    return InvalidArgumentError("remove cgroup '" + cgroups_path +
                                "': refusing the root cgroup or a relative path");
  }
  std::stringstream parts(cgroups_path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == "." || part == "..") {
      return InvalidArgumentError("remove cgroup '" + cgroups_path + "': '.' or '..' in path");
    }
  }
  return Status::Ok();
}

// rmdir of one cgroup directory; absent is success. A busy cgroup (tasks
// still exiting) is retried until `deadline`.
Status RmdirCgroup(const std::string& dir, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return Status::Ok();
    int e = errno;
    if (e != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      return ErrnoError(StatusCode::kInternal, "rmdir cgroup '" + dir + "'", e);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Every directory below `dir`, children after their parents.
void CollectSubdirs(const std::string& dir, std::vector<std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> children;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) children.push_back(path);
  }
  ::closedir(d);
  for (auto& child : children) {
    out->push_back(child);
    CollectSubdirs(child, out);
  }
}

}  // namespace

int64_t ParseOomKillCount(const std::string& text) {
  std::istringstream in(text);
  std::string key;
  int64_t value = 0;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return -1;
}

bool HostCgroupFs::HostIsUnified() {
  struct statfs sfs;
  return ::statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == kCgroup2SuperMagic;
}

std::unique_ptr<HostCgroupFs> HostCgroupFs::Unified() {
  std::unique_ptr<HostCgroupFs> fs(new HostCgroupFs());
  fs->unified_ = true;
  fs->memory_root_ = "/sys/fs/cgroup";
  fs->hierarchies_ = {"/sys/fs/cgroup"};
  fs->swap_limit_ = true;
  return fs;
}

Result<std::unique_ptr<HostCgroupFs>> HostCgroupFs::FromMountinfo() {
  std::unique_ptr<HostCgroupFs> fs(new HostCgroupFs());
  PosixEnv env;
  Result<std::string> mountinfo = env.ReadFile("/proc/self/mountinfo", 4 << 20);
  if (!mountinfo.ok()) return UnavailableError(mountinfo.status().message());
  for (const MountinfoEntry& mount : ParseMountinfo(*mountinfo)) {
    if (mount.fstype != "cgroup" && mount.fstype != "cgroup2") continue;
    fs->hierarchies_.push_back(mount.mount_point);
    if (mount.fstype == "cgroup") {
      std::stringstream opts(mount.super_options);
      std::string opt;
      while (std::getline(opts, opt, ',')) {
        if (opt == "memory") fs->memory_root_ = mount.mount_point;
        if (opt != "rw" && opt != "ro" && opt.find('=') == std::string::npos) {
          fs->controller_roots_.emplace(opt, mount.mount_point);
        }
      }
    }
  }
  if (fs->hierarchies_.empty()) return UnavailableError("no cgroup filesystem is mounted");
  fs->swap_limit_ =
      !fs->memory_root_.empty() &&
      ::access((fs->memory_root_ + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0;
  return fs;
}

Result<bool> HostCgroupFs::OomKilled(const std::string& cgroups_path) {
  if (memory_root_.empty()) return UnavailableError("no memory cgroup controller");
  const std::string dir = memory_root_ + cgroups_path;
  if (unified_) {
    NEXUS_ASSIGN_OR_RETURN(std::string events, ReadControlFile(dir + "/memory.events"));
    return ParseOomKillCount(events) > 0;
  }
  NEXUS_ASSIGN_OR_RETURN(std::string oom_control, ReadControlFile(dir + "/memory.oom_control"));
  int64_t kills = ParseOomKillCount(oom_control);
  if (kills >= 0) return kills > 0;
  // Kernels without the counter: hitting the limit is the best evidence left.
  auto failcnt = ReadControlFile(dir + "/memory.failcnt");
  if (failcnt.ok()) return std::strtoll(failcnt->c_str(), nullptr, 10) > 0;
  return false;
}

std::string HostCgroupFs::controller_root(const std::string& controller) const {
  if (unified_) return "/sys/fs/cgroup";
  auto it = controller_roots_.find(controller);
  return it == controller_roots_.end() ? "" : it->second;
}

bool HostCgroupFs::Exists(const std::string& cgroups_path) {
  for (const auto& h : hierarchies_) {
    if (IsDir(h + cgroups_path)) return true;
  }
  return false;
}

Status HostCgroupFs::Remove(const std::string& cgroups_path) {
  NEXUS_RETURN_IF_ERROR(CheckRemovable(cgroups_path));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyRetryMs);
  Status first_error;
  for (const auto& h : hierarchies_) {
    Status s = RmdirCgroup(h + cgroups_path, deadline);
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  }
  return first_error;
}

Status HostCgroupFs::RemoveTree(const std::string& cgroups_path) {
  NEXUS_RETURN_IF_ERROR(CheckRemovable(cgroups_path));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyRetryMs);
  Status first_error;
  for (const auto& h : hierarchies_) {
    const std::string root = h + cgroups_path;
    std::vector<std::string> dirs = {root};
    CollectSubdirs(root, &dirs);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      Status s = RmdirCgroup(*it, deadline);
      if (!s.ok() && first_error.ok()) first_error = std::move(s);
    }
  }
  return first_error;
}

namespace {

struct CgroupBackEnd {
  std::string_view name;
  Result<std::unique_ptr<CgroupFs>> (*make)();
};

constexpr CgroupBackEnd kCgroupBackEnds[] = {
    {"v2",
     []() -> Result<std::unique_ptr<CgroupFs>> {
       return std::unique_ptr<CgroupFs>(HostCgroupFs::Unified());
     }},
    {"v1",
     []() -> Result<std::unique_ptr<CgroupFs>> {
       NEXUS_ASSIGN_OR_RETURN(auto fs, HostCgroupFs::FromMountinfo());
       return std::unique_ptr<CgroupFs>(std::move(fs));
     }},
    {"none",
     []() -> Result<std::unique_ptr<CgroupFs>> {
       return std::unique_ptr<CgroupFs>(std::make_unique<NoCgroupFs>());
     }},
};

}  // namespace

Result<std::unique_ptr<CgroupFs>> MakeCgroupFs(std::string_view name) {
  if (name == kCgroupAuto) name = HostCgroupFs::HostIsUnified() ? "v2" : "v1";
  for (const CgroupBackEnd& b : kCgroupBackEnds) {
    if (b.name == name) return b.make();
  }
  std::string known;
  for (const CgroupBackEnd& b : kCgroupBackEnds)
    known += (known.empty() ? "" : ", ") + std::string(b.name);
  return InvalidArgumentError("unknown cgroup back-end '" + std::string(name) +
                              "' (known: " + known + ", " + std::string(kCgroupAuto) + ")");
}

}  // namespace nexus::daemon::runtime
