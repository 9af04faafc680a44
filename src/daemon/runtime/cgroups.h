// CgroupFs: what nexusd reads and removes in the host's cgroup filesystem
// directly; creating cgroups and setting limits is runc's job (config.json).
//
// Paths are the absolute `cgroupsPath` values of OCI configs
// ("/nexus-<instance>-lambda/<id>"). On a cgroup v1 or hybrid host such a path
// exists once per hierarchy (memory, pids, ...; runc also creates it in the
// named and unified ones), on a pure v2 host once under /sys/fs/cgroup.
// HostCgroupFs finds the hierarchies from /proc/self/mountinfo at Detect();
// it is immutable afterwards and thread-safe. Tests use FakeCgroupFs.
//
// Cgroup paths given to Remove()/RemoveTree() must be absolute and free of
// "." and ".." components; the root cgroup is refused.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

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
};

class HostCgroupFs final : public CgroupFs {
 public:
  // Reads mountinfo; fails when no cgroup filesystem is mounted.
  static Result<std::unique_ptr<HostCgroupFs>> Detect();

  Result<bool> OomKilled(const std::string& cgroups_path) override;
  bool Exists(const std::string& cgroups_path) override;
  // Both retry a directory that is briefly busy (EBUSY: the last tasks of a
  // just-killed container are still exiting) for up to kBusyRetryMs.
  Status Remove(const std::string& cgroups_path) override;
  Status RemoveTree(const std::string& cgroups_path) override;

  static constexpr int64_t kBusyRetryMs = 500;

  bool unified() const { return unified_; }
  // Whether the memory controller can limit swap (v1 needs swap accounting,
  // i.e. memory.memsw.* files; v2 always can).
  bool swap_limit_supported() const { return swap_limit_; }
  // The mount point of a v1 controller's hierarchy ("memory", "cpuacct"),
  // or /sys/fs/cgroup for any controller on a pure v2 host; "" when absent.
  std::string controller_root(const std::string& controller) const;

 private:
  HostCgroupFs() = default;

  bool unified_ = false;                                 // pure cgroup v2 at /sys/fs/cgroup
  std::string memory_root_;                              // mount point of the memory controller
  std::vector<std::string> hierarchies_;                 // every cgroup mount point
  std::map<std::string, std::string> controller_roots_;  // v1: controller → mount point
  bool swap_limit_ = false;
};

// Parses the oom_kill counter out of memory.oom_control (v1) or memory.events
// (v2) text; -1 when the field is missing (kernels before 4.13).
int64_t ParseOomKillCount(const std::string& text);

}  // namespace nexus::daemon::runtime
