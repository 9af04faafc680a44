// CgroupFs: what nexusd reads and removes in the host's cgroup filesystem
// directly; creating cgroups and setting limits is runc's job (config.json).
//
// Paths are the absolute `cgroupsPath` values of OCI configs
// ("/nexus-<instance>-lambda/<id>"). On a cgroup v1 or hybrid host such a path
// exists once per hierarchy (memory, pids, ...; runc also creates it in the
// named and unified ones), on a pure v2 host once under /sys/fs/cgroup.
// HostCgroupFs finds the hierarchies when it is made; it is immutable
// afterwards and thread-safe. It reads and removes through an Env (the real
// file system unless a test gives a MemoryEnv holding a fake tree); only
// HostIsUnified asks the kernel directly (the filesystem type). NoCgroupFs stands in on a host
// whose cgroups nexusd cannot use (not root): nothing exists, nothing needs removing. MakeCgroupFs
// picks one from a table (v2, v1, none) as crun picks its cgroup manager. Tests use FakeCgroupFs.
//
// Cgroup paths given to Remove()/RemoveTree() must be absolute and free of
// "." and ".." components; the root cgroup is refused.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/result.h"

namespace nexus::daemon::runtime {

class CgroupFs {
 public:
  virtual ~CgroupFs() = default;
  // Whether the kernel's OOM killer killed a task in the cgroup (v1
  // memory.oom_control / v2 memory.events `oom_kill`). Read it before the
  // container is deleted: deleting removes the cgroup.
  virtual Result<bool> OomKilled(const std::string& cgroups_path) = 0;
  // Whether the cgroup directory exists in any hierarchy.
  virtual bool Exists(const std::string& cgroups_path) = 0;
  // Removes the (empty) cgroup directory from every hierarchy; absent is not
  // an error, a cgroup that still has tasks or children is.
  virtual Status Remove(const std::string& cgroups_path) = 0;
  // Removes the cgroup and every cgroup below it, deepest first, from every
  // hierarchy; a cgroup that still has tasks is an error. The default, for
  // implementations without children, is Remove().
  virtual Status RemoveTree(const std::string& cgroups_path) { return Remove(cgroups_path); }

  // What the hierarchy offers; the defaults are those of a host without
  // cgroups. Whether this is pure cgroup v2 at /sys/fs/cgroup:
  virtual bool unified() const { return false; }
  // Whether the memory controller can limit swap (v1 needs swap accounting,
  // i.e. memory.memsw.* files; v2 always can).
  virtual bool swap_limit_supported() const { return false; }
  // The mount point of a v1 controller's hierarchy ("memory", "cpuacct"),
  // or /sys/fs/cgroup for any controller on a pure v2 host; "" when absent.
  virtual std::string controller_root(const std::string& controller) const {
    (void)controller;
    return "";
  }
};

// The cgroup back-ends, one row each of the table MakeCgroupFs chooses from:
//   "v2"    pure cgroup v2 at /sys/fs/cgroup        HostCgroupFs over it
//   "v1"    v1 or hybrid hierarchies (mountinfo)     HostCgroupFs over them
//   "none"  cgroups nexusd cannot use (not root)     NoCgroupFs
// kCgroupAuto takes "v2" when the host is pure v2, else "v1"; that fails
// (kUnavailable) when no cgroup filesystem is mounted. An unknown name is
// kInvalidArgument naming the known ones.
inline constexpr std::string_view kCgroupAuto = "auto";
Result<std::unique_ptr<CgroupFs>> MakeCgroupFs(std::string_view name);

class HostCgroupFs final : public CgroupFs {
 public:
  // Pure cgroup v2: the one hierarchy at /sys/fs/cgroup.
  static std::unique_ptr<HostCgroupFs> Unified(Env* files = nullptr);
  // Every cgroup hierarchy /proc/self/mountinfo lists (v1 or hybrid); fails
  // when none is mounted.
  static Result<std::unique_ptr<HostCgroupFs>> FromMountinfo(Env* files = nullptr);
  // Whether /sys/fs/cgroup is a cgroup2 filesystem.
  static bool HostIsUnified();

  Result<bool> OomKilled(const std::string& cgroups_path) override;
  bool Exists(const std::string& cgroups_path) override;
  // Both retry a directory that is briefly busy (EBUSY: the last tasks of a
  // just-killed container are still exiting) for up to kBusyRetryMs of
  // Env::SleepFor in all.
  Status Remove(const std::string& cgroups_path) override;
  Status RemoveTree(const std::string& cgroups_path) override;

  static constexpr int64_t kBusyRetryMs = 500;

  bool unified() const override { return unified_; }
  bool swap_limit_supported() const override { return swap_limit_; }
  std::string controller_root(const std::string& controller) const override;

 private:
  // Reads through `files` (which must outlive this); the real file system when null.
  explicit HostCgroupFs(Env* files);

  PosixEnv host_files_;  // what files_ is when none is given
  Env& files_;
  bool unified_ = false;                                 // pure cgroup v2 at /sys/fs/cgroup
  std::string memory_root_;                              // mount point of the memory controller
  std::vector<std::string> hierarchies_;                 // every cgroup mount point
  std::map<std::string, std::string> controller_roots_;  // v1: controller → mount point
  bool swap_limit_ = false;
};

// Stands in for the host's cgroups when nexusd cannot use them; whatever
// uses it is unavailable, so OomKilled is never a verdict.
class NoCgroupFs final : public CgroupFs {
 public:
  Result<bool> OomKilled(const std::string&) override { return UnavailableError("no cgroups"); }
  bool Exists(const std::string&) override { return false; }
  Status Remove(const std::string&) override { return Status::Ok(); }
};

// Parses the oom_kill counter out of memory.oom_control (v1) or memory.events
// (v2) text; -1 when the field is missing (kernels before 4.13).
int64_t ParseOomKillCount(const std::string& text);

}  // namespace nexus::daemon::runtime
