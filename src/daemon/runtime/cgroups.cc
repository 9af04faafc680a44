#include "daemon/runtime/cgroups.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

namespace nexus::daemon::runtime {
namespace {

constexpr long kCgroup2SuperMagic = 0x63677270;

bool ReadSmallFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// mountinfo escapes spaces and friends as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') ok = false;
        v = v * 8 + (c - '0');
      }
      if (ok) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
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
  std::ifstream mountinfo("/proc/self/mountinfo");
  if (!mountinfo) return ErrnoError(StatusCode::kUnavailable, "open /proc/self/mountinfo", errno);
  std::string line;
  while (std::getline(mountinfo, line)) {
    // <id> <parent> <major:minor> <root> <mount point> <options> [optional...] - <fstype> <source>
    // <super options>
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    std::string token;
    while (fields >> token && token != "-") {
    }
    std::string fstype, source, super_options;
    fields >> fstype >> source >> super_options;
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    mount_point = Unescape(mount_point);
    fs->hierarchies_.push_back(mount_point);
    if (fstype == "cgroup") {
      std::stringstream opts(super_options);
      std::string opt;
      while (std::getline(opts, opt, ',')) {
        if (opt == "memory") fs->memory_root_ = mount_point;
        if (opt != "rw" && opt != "ro" && opt.find('=') == std::string::npos) {
          fs->controller_roots_.emplace(opt, mount_point);
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
  std::string text;
  if (unified_) {
    if (!ReadSmallFile(dir + "/memory.events", &text)) {
      return ErrnoError(StatusCode::kInternal, "read '" + dir + "/memory.events'", errno);
    }
    return ParseOomKillCount(text) > 0;
  }
  if (!ReadSmallFile(dir + "/memory.oom_control", &text)) {
    return ErrnoError(StatusCode::kInternal, "read '" + dir + "/memory.oom_control'", errno);
  }
  int64_t kills = ParseOomKillCount(text);
  if (kills >= 0) return kills > 0;
  // Kernels without the counter: hitting the limit is the best evidence left.
  std::string failcnt;
  if (ReadSmallFile(dir + "/memory.failcnt", &failcnt))
    return std::strtoll(failcnt.c_str(), nullptr, 10) > 0;
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
