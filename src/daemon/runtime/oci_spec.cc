#include "daemon/runtime/oci_spec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>

namespace nexus::daemon::runtime {
namespace {

using nlohmann::json;

// The top-level host directories a sandbox may see. /usr is required; the
// others exist as directories on older layouts and as symlinks into /usr on
// merged-/usr systems (Debian 12).
constexpr const char* kHostRootNames[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};

// Read-only bind: a plain `bind`, not `rbind`, so a filesystem mounted below
// /usr on the host (which would not be read-only) stays out of the sandbox.
json ReadOnlyBind(const std::string& source, const std::string& destination, bool noexec) {
  json options = {"bind", "ro", "nosuid", "nodev"};
  if (noexec) options.push_back("noexec");
  return {{"destination", destination}, {"type", "bind"}, {"source", source}, {"options", options}};
}

json Tmpfs(const std::string& destination, const std::string& source, int64_t bytes,
           const std::string& mode, bool noexec) {
  json options = {"nosuid", "nodev"};
  if (noexec) options.push_back("noexec");
  options.push_back("mode=" + mode);
  options.push_back("size=" + std::to_string(bytes));
  return {
      {"destination", destination}, {"type", "tmpfs"}, {"source", source}, {"options", options}};
}

// The devices every OCI runtime provides (runtime-spec "Default Devices"),
// listed explicitly so the config says what the sandbox gets.
struct DeviceNode {
  const char* path;
  int64_t major;
  int64_t minor;
};
constexpr DeviceNode kDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

json Devices() {
  json list = json::array();
  for (const auto& d : kDevices) {
    list.push_back({{"path", d.path},
                    {"type", "c"},
                    {"major", d.major},
                    {"minor", d.minor},
                    {"fileMode", 0666},
                    {"uid", 0},
                    {"gid", 0}});
  }
  return list;
}

json DeviceCgroupRules() {
  json rules = json::array({{{"allow", false}, {"access", "rwm"}}});
  for (const auto& d : kDevices) {
    rules.push_back({{"allow", true},
                     {"type", "c"},
                     {"major", d.major},
                     {"minor", d.minor},
                     {"access", "rwm"}});
  }
  return rules;
}

// Syscalls a sandbox never needs and that reach machine-wide state or big
// kernel attack surface. Names unknown to the host's libseccomp are skipped
// by runc, so the list may name syscalls of newer kernels.
constexpr const char* kDeniedSyscalls[] = {
    // mounts and filesystem roots
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    // namespaces
    "unshare",
    "setns",
    // tracing other processes and reading their memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    // kernel extension and attack surface
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "uselib",
    // keyrings (not namespaced)
    "keyctl",
    "add_key",
    "request_key",
    // clocks (not namespaced)
    "clock_settime",
    "clock_adjtime",
    "settimeofday",
    "adjtimex",
    "stime",
    // the machine
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "vhangup",
    "nfsservctl",
    "iopl",
    "ioperm",
    "sethostname",
    "setdomainname",
    "lookup_dcookie",
    "ustat",
    "sysfs",
    "_sysctl",
    "vm86",
    "vm86old",
    "fanotify_init",
    // file handles bypass path permission checks
    "open_by_handle_at",
    "name_to_handle_at",
    // NUMA placement affects other tenants of the machine
    "mbind",
    "set_mempolicy",
    "migrate_pages",
    "move_pages",
};

constexpr int kEperm = 1;
constexpr int kEnosys = 38;
constexpr uint64_t kCloneNewUser = 0x10000000;
// personality() flags that weaken the process's own hardening.
constexpr uint64_t kPersonalityRiskyFlags[] = {
    0x0040000,  // ADDR_NO_RANDOMIZE
    0x0100000,  // MMAP_PAGE_ZERO
    0x0200000,  // ADDR_COMPAT_LAYOUT
    0x0400000,  // READ_IMPLIES_EXEC
};
constexpr uint64_t kPersonalityQuery = 0xffffffff;

// Conditions on the first syscall argument.
json MaskedEq(uint64_t bits) {
  return {{"index", 0}, {"value", bits}, {"valueTwo", bits}, {"op", "SCMP_CMP_MASKED_EQ"}};
}
json NotEqual(uint64_t value) { return {{"index", 0}, {"value", value}, {"op", "SCMP_CMP_NE"}}; }

json Architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#else
  return json::array();
#endif
}

Status WriteFileMode(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(StatusCode::kInternal, "create '" + path + "'", errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return ErrnoError(StatusCode::kInternal, "write '" + path + "'", e);
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoError(StatusCode::kInternal, "chmod '" + path + "'", e);
  }
  if (::close(fd) != 0) return ErrnoError(StatusCode::kInternal, "close '" + path + "'", errno);
  return Status::Ok();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) {
    return ErrnoError(StatusCode::kInternal, "mkdir '" + path + "'", errno);
  }
  if (::chmod(path.c_str(), 0755) != 0) {  // the umask must not narrow it
    return ErrnoError(StatusCode::kInternal, "chmod '" + path + "'", errno);
  }
  return Status::Ok();
}

}  // namespace

Result<HostLayout> ProbeHostLayout(const std::string& root) {
  HostLayout layout;
  std::string base = root.empty() || root.back() == '/' ? root : root + "/";
  for (const char* name : kHostRootNames) {
    std::string path = base + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
      if (n <= 0) return ErrnoError(StatusCode::kInternal, "readlink '" + path + "'", errno);
      layout.entries.push_back({name, std::string(target, static_cast<size_t>(n))});
    } else if (S_ISDIR(st.st_mode)) {
      layout.entries.push_back({name, ""});
    }
  }
  bool has_usr = false;
  for (const auto& e : layout.entries) has_usr |= (e.name == "usr" && e.symlink_target.empty());
  if (!has_usr) return UnavailableError("probe host root '" + root + "': usr is not a directory");

  layout.cgroup_namespace = ::access("/proc/self/ns/cgroup", F_OK) == 0;
  std::ifstream cache(base + "etc/ld.so.cache", std::ios::binary);
  if (cache) {
    std::ostringstream ss;
    ss << cache.rdbuf();
    layout.ld_so_cache = ss.str();
  }
  return layout;
}

json SandboxSeccomp() {
  json syscalls = json::array();
  json denied = json::array();
  for (const char* name : kDeniedSyscalls) denied.push_back(name);
  syscalls.push_back({{"names", denied}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEperm}});
  // A user namespace would hand the sandbox a full capability set over new
  // kernel surface; the other namespace flags already need capabilities.
  syscalls.push_back({{"names", {"clone"}},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"errnoRet", kEperm},
                      {"args", json::array({MaskedEq(kCloneNewUser)})}});
  // clone3 passes its flags in memory that seccomp cannot inspect; ENOSYS
  // makes libc fall back to clone, which the rule above checks.
  syscalls.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEnosys}});
  for (uint64_t flag : kPersonalityRiskyFlags) {
    syscalls.push_back({{"names", {"personality"}},
                        {"action", "SCMP_ACT_ERRNO"},
                        {"errnoRet", kEperm},
                        {"args", json::array({MaskedEq(flag), NotEqual(kPersonalityQuery)})}});
  }
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", Architectures()},
          {"syscalls", syscalls}};
}

json BuildOciConfig(const SandboxSpec& spec, const std::string& bundle_dir) {
  json mounts = json::array();
  mounts.push_back({{"destination", "/proc"},
                    {"type", "proc"},
                    {"source", "proc"},
                    {"options", {"nosuid", "noexec", "nodev"}}});
  mounts.push_back({{"destination", "/dev"},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", {"nosuid", "noexec", "strictatime", "mode=755", "size=65536"}}});
  mounts.push_back(Tmpfs("/dev/shm", "shm", spec.shm_bytes, "1777", /*noexec=*/true));
  for (const auto& e : spec.host.entries) {
    if (!e.symlink_target.empty()) continue;  // a symlink in the rootfs instead
    mounts.push_back(ReadOnlyBind("/" + e.name, "/" + e.name, /*noexec=*/false));
  }
  mounts.push_back(ReadOnlyBind(bundle_dir + "/etc", "/etc", /*noexec=*/true));
  mounts.push_back(Tmpfs("/tmp", "tmpfs", spec.tmp_bytes, "1777", /*noexec=*/true));

  json namespaces = json::array();
  for (const char* ns : {"pid", "ipc", "uts", "mount", "network"})
    namespaces.push_back({{"type", ns}});
  if (spec.host.cgroup_namespace) namespaces.push_back({{"type", "cgroup"}});

  json memory = {{"limit", spec.memory_bytes}};
  // OCI "swap" is memory+swap: equal to the limit means no swap at all.
  if (spec.host.swap_limit) memory["swap"] = spec.memory_bytes;

  json no_caps = json::array();
  json process = {
      {"terminal", false},
      {"user", {{"uid", spec.uid}, {"gid", spec.gid}, {"additionalGids", json::array()}}},
      {"args", spec.args},
      {"env", spec.env},
      {"cwd", spec.cwd},
      {"capabilities",
       {{"bounding", no_caps},
        {"effective", no_caps},
        {"inheritable", no_caps},
        {"permitted", no_caps},
        {"ambient", no_caps}}},
      // No RLIMIT_NPROC: it counts every process of the uid on the whole host
      // (all sandboxes share uid 65534); the pids cgroup is the per-sandbox limit.
      {"rlimits",
       {{{"type", "RLIMIT_NOFILE"}, {"hard", spec.nofile}, {"soft", spec.nofile}},
        {{"type", "RLIMIT_CORE"}, {"hard", 0}, {"soft", 0}}}},
      {"noNewPrivileges", true},
  };

  json linux_section = {
      {"cgroupsPath", spec.cgroups_path},
      {"namespaces", namespaces},
      {"devices", Devices()},
      {"resources",
       {{"devices", DeviceCgroupRules()},
        {"memory", memory},
        {"pids", {{"limit", spec.pids_limit}}},
        {"cpu", {{"quota", spec.cpu_quota_us}, {"period", spec.cpu_period_us}}}}},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
      {"seccomp", SandboxSeccomp()},
  };

  return {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", spec.hostname},
      {"mounts", mounts},
      {"linux", linux_section},
  };
}

std::map<std::string, std::string> GeneratedEtcFiles(const std::string& hostname) {
  return {
      {"passwd",
       "root:x:0:0:root:/root:/usr/sbin/nologin\n"
       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
      {"group", "root:x:0:\nnogroup:x:65534:\n"},
      {"hosts", "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost\n"},
      {"hostname", hostname + "\n"},
      // No network beyond loopback: no resolver to name.
      {"resolv.conf", ""},
      {"nsswitch.conf",
       "passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\n"
       "protocols: files\nservices: files\n"},
  };
}

Status WriteBundle(const std::string& bundle_dir, const SandboxSpec& spec) {
  NEXUS_RETURN_IF_ERROR(MakeDir(bundle_dir));
  const std::string rootfs = bundle_dir + "/rootfs";
  NEXUS_RETURN_IF_ERROR(MakeDir(rootfs));
  for (const auto& e : spec.host.entries) {
    if (e.symlink_target.empty()) continue;
    std::string link = rootfs + "/" + e.name;
    if (::symlink(e.symlink_target.c_str(), link.c_str()) != 0) {
      return ErrnoError(StatusCode::kInternal, "symlink '" + link + "'", errno);
    }
  }
  const std::string etc = bundle_dir + "/etc";
  NEXUS_RETURN_IF_ERROR(MakeDir(etc));
  for (const auto& [name, content] : GeneratedEtcFiles(spec.hostname)) {
    NEXUS_RETURN_IF_ERROR(WriteFileMode(etc + "/" + name, content, 0644));
  }
  if (!spec.host.ld_so_cache.empty()) {
    NEXUS_RETURN_IF_ERROR(WriteFileMode(etc + "/ld.so.cache", spec.host.ld_so_cache, 0644));
  }
  return WriteFileMode(bundle_dir + "/config.json", BuildOciConfig(spec, bundle_dir).dump(2), 0600);
}

}  // namespace nexus::daemon::runtime
