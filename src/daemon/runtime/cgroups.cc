#include "daemon/runtime/cgroups.h"

#include <sys/vfs.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <utility>

#include "common/env.h"
#include "common/mountinfo.h"

namespace nexus::daemon::runtime {
namespace {

constexpr long kCgroup2SuperMagic = 0x63677270;

// Control files are a few lines; the bound only guards against a surprise.
constexpr size_t kMaxControlFileBytes = 64 * 1024;
// How long one wait for a busy cgroup lasts.
constexpr std::chrono::milliseconds kBusyRetryStep{5};

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

// Removes one cgroup directory; absent is success. A cgroup whose last tasks
// are still exiting is busy for a moment, so a failure is retried while
// `budget` (shared by one Remove/RemoveTree call) lasts; Env keeps no errno
// to tell busy apart, and any other failure only comes back later.
Status RmdirCgroup(Env& files, const std::string& dir, std::chrono::milliseconds& budget) {
  for (;;) {
    Status removed = files.Remove(dir);
    if (removed.ok() || removed.code() == StatusCode::kNotFound) return Status::Ok();
    if (budget <= std::chrono::milliseconds::zero()) {
      return removed.WithContext("remove cgroup '" + dir + "'");
    }
    files.SleepFor(kBusyRetryStep);
    budget -= kBusyRetryStep;
  }
}

// Every directory below `dir`, children after their parents.
void CollectSubdirs(Env& files, const std::string& dir, std::vector<std::string>* out) {
  auto names = files.ListDir(dir);
  if (!names.ok()) return;
  std::vector<std::string> children;
  for (const auto& name : *names) {
    const std::string path = dir + "/" + name;
    auto info = files.LinkStat(path);
    if (info.ok() && info->type == FileType::kDirectory) children.push_back(path);
  }
  for (auto& child : children) {
    out->push_back(child);
    CollectSubdirs(files, child, out);
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

HostCgroupFs::HostCgroupFs(Env* files) : files_(files != nullptr ? *files : host_files_) {}

std::unique_ptr<HostCgroupFs> HostCgroupFs::Unified(Env* files) {
  std::unique_ptr<HostCgroupFs> fs(new HostCgroupFs(files));
  fs->unified_ = true;
  fs->memory_root_ = "/sys/fs/cgroup";
  fs->hierarchies_ = {"/sys/fs/cgroup"};
  fs->swap_limit_ = true;
  return fs;
}

Result<std::unique_ptr<HostCgroupFs>> HostCgroupFs::FromMountinfo(Env* files) {
  std::unique_ptr<HostCgroupFs> fs(new HostCgroupFs(files));
  Result<std::string> mountinfo = fs->files_.ReadFile("/proc/self/mountinfo", 4 << 20);
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
  fs->swap_limit_ = !fs->memory_root_.empty() &&
                    fs->files_.Exists(fs->memory_root_ + "/memory.memsw.limit_in_bytes");
  return fs;
}

Result<bool> HostCgroupFs::OomKilled(const std::string& cgroups_path) {
  if (memory_root_.empty()) return UnavailableError("no memory cgroup controller");
  const std::string dir = memory_root_ + cgroups_path;
  if (unified_) {
    NEXUS_ASSIGN_OR_RETURN(std::string events,
                           files_.ReadFile(dir + "/memory.events", kMaxControlFileBytes));
    return ParseOomKillCount(events) > 0;
  }
  NEXUS_ASSIGN_OR_RETURN(std::string oom_control,
                         files_.ReadFile(dir + "/memory.oom_control", kMaxControlFileBytes));
  int64_t kills = ParseOomKillCount(oom_control);
  if (kills >= 0) return kills > 0;
  // Kernels without the counter: hitting the limit is the best evidence left.
  auto failcnt = files_.ReadFile(dir + "/memory.failcnt", kMaxControlFileBytes);
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
    if (files_.IsDir(h + cgroups_path)) return true;
  }
  return false;
}

Status HostCgroupFs::Remove(const std::string& cgroups_path) {
  NEXUS_RETURN_IF_ERROR(CheckRemovable(cgroups_path));
  std::chrono::milliseconds budget(kBusyRetryMs);
  Status first_error;
  for (const auto& h : hierarchies_) {
    Status s = RmdirCgroup(files_, h + cgroups_path, budget);
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  }
  return first_error;
}

Status HostCgroupFs::RemoveTree(const std::string& cgroups_path) {
  NEXUS_RETURN_IF_ERROR(CheckRemovable(cgroups_path));
  std::chrono::milliseconds budget(kBusyRetryMs);
  Status first_error;
  for (const auto& h : hierarchies_) {
    const std::string root = h + cgroups_path;
    std::vector<std::string> dirs = {root};
    CollectSubdirs(files_, root, &dirs);
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      Status s = RmdirCgroup(files_, *it, budget);
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
