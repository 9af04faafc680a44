#include "daemon/runtime/oci_spec.h"

#include <sys/stat.h>

#include <set>

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

// The seccomp profile is an allowlist, in the manner of Docker's default:
// what ordinary programs use is allowed, everything else — sockets of other
// address families than the caller's list (SocketRules), mounts, module
// and kexec loading, keyrings, bpf, perf, ptrace and process_vm_*, clock
// setting, swap, reboot, io_uring, userfaultfd, file handles, the new mount
// API, NUMA placement, and any syscall added to kernels after this list —
// fails with EPERM (runc answers ENOSYS for syscalls newer than every one
// named here, so libc fallbacks still work). Names unknown to the host's
// libseccomp are skipped by runc, so the list may name other ABIs' syscalls.
// clang-format off
constexpr const char* kAllowedSyscalls[] = {
    // file I/O
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range", "lseek", "_llseek",
    "dup", "dup2", "dup3", "pipe", "pipe2", "fcntl", "fcntl64", "ioctl", "flock", "fsync",
    "fdatasync", "sync", "syncfs", "sync_file_range", "fallocate", "fadvise64", "fadvise64_64",
    "readahead", "truncate", "truncate64", "ftruncate", "ftruncate64", "sendfile", "sendfile64",
    "splice", "tee", "vmsplice", "copy_file_range",
    // file metadata and directories
    "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "newfstatat", "fstatat64", "statx",
    "statfs", "statfs64", "fstatfs", "fstatfs64", "access", "faccessat", "faccessat2", "readlink",
    "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat",
    "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
    "unlink", "unlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "chown32",
    "fchown", "fchown32", "fchownat", "lchown", "lchown32", "umask", "utime", "utimes",
    "utimensat", "utimensat_time64", "futimesat", "mknod", "mknodat", "getxattr", "lgetxattr",
    "fgetxattr", "listxattr", "llistxattr", "flistxattr", "setxattr", "lsetxattr", "fsetxattr",
    "removexattr", "lremovexattr", "fremovexattr", "inotify_init", "inotify_init1",
    "inotify_add_watch", "inotify_rm_watch",
    // memory
    "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
    "mlock", "mlock2", "munlock", "mlockall", "munlockall", "membarrier", "memfd_create",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages", "map_shadow_stack",
    // processes and threads (clone and personality have rules of their own)
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "waitpid",
    "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp",
    "getsid", "setsid", "getpriority", "setpriority", "prctl", "arch_prctl", "set_tid_address",
    "set_robust_list", "get_robust_list", "rseq", "futex", "futex_time64", "futex_waitv",
    "futex_wake", "futex_wait", "futex_requeue", "sched_yield", "sched_getaffinity",
    "sched_setaffinity", "sched_getparam", "sched_setparam", "sched_getscheduler",
    "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_getattr", "sched_setattr",
    "getcpu", "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times",
    "sysinfo", "uname", "pidfd_open", "pidfd_send_signal", "capget", "capset", "ioprio_get",
    "ioprio_set", "restart_syscall", "seccomp", "set_thread_area", "get_thread_area",
    // identity (changing it fails without capabilities, with the usual errors)
    "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
    "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32", "setuid",
    "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
    "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32",
    "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
    // signals
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "sigaction", "sigprocmask", "sigreturn", "sigpending", "sigsuspend", "signal", "sigaltstack",
    "signalfd", "signalfd4", "pause", "alarm", "getitimer", "setitimer",
    // time (reading it, sleeping, timers)
    "nanosleep", "clock_nanosleep", "clock_nanosleep_time64", "clock_gettime", "clock_gettime64",
    "clock_getres", "clock_getres_time64", "gettimeofday", "time", "timer_create",
    "timer_delete", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timer_getoverrun", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64",
    // waiting for events
    "poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "eventfd", "eventfd2",
    // sockets (socket and socketpair have rules of their own: SocketRules)
    "bind", "listen", "accept", "accept4", "connect",
    "getsockname", "getpeername", "getsockopt", "setsockopt", "shutdown", "send", "sendto",
    "sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64",
    // System V and POSIX IPC (the IPC namespace is the sandbox's own)
    "ipc", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open",
    "mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
    // asynchronous I/O (the old interface; io_uring is not allowed)
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64",
    // the rest
    "getrandom", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
};
// clang-format on

constexpr int kEperm = 1;
constexpr int kEnosys = 38;
constexpr int kEprotonosupport = 93;
constexpr int kEafnosupport = 97;
constexpr uint64_t kAfUnix = 1;
constexpr uint64_t kAfInet = 2;
constexpr uint64_t kAfInet6 = 10;
constexpr uint64_t kSocketProtocolArg = 2;
// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: a
// user namespace would hand the sandbox a full capability set over new kernel
// surface; the others need capabilities it does not have anyway.
constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;
// personality() values ordinary programs use: PER_LINUX, PER_LINUX32 and
// their UNAME26 variants, and the 0xffffffff query. Not ADDR_NO_RANDOMIZE,
// READ_IMPLIES_EXEC and friends, which weaken the process's own hardening.
constexpr uint64_t kAllowedPersonalities[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};

// Conditions on a syscall argument (the first unless named).
json MaskedEq(uint64_t mask, uint64_t value) {
  return {{"index", 0}, {"value", mask}, {"valueTwo", value}, {"op", "SCMP_CMP_MASKED_EQ"}};
}
json Equal(uint64_t value, uint64_t index = 0) {
  return {{"index", index}, {"value", value}, {"op", "SCMP_CMP_EQ"}};
}
json Greater(uint64_t value, uint64_t index = 0) {
  return {{"index", index}, {"value", value}, {"op", "SCMP_CMP_GT"}};
}

// The native ABI only. A profile that also lists x86-32 cannot restrict
// socket families there: its socket calls may go through socketcall(2),
// whose arguments are in memory seccomp cannot read, and libseccomp turns a
// rule for socket with a family condition into socketcall(SYS_SOCKET)
// allowed for every family (and refuses a second action for socket at all).
// A syscall of another ABI (int 0x80, x32) meets libseccomp's
// bad-architecture action: the process is killed.
json Architectures() {
#if defined(__x86_64__)
  return {"SCMP_ARCH_X86_64"};
#elif defined(__aarch64__)
  return {"SCMP_ARCH_AARCH64"};
#else
  return json::array();
#endif
}

// Adds ERRNO(errno_value) rules for socket and socketpair whose argument
// `arg` is any value up to the largest of `except` but those in it, or above
// that largest: everything the allowing rules (one per value of `except`) do
// not match, and never what they match, so no two rules of different actions
// overlap. `also`, when not null, is a condition on another argument each of
// these rules carries too (the family, when `arg` is the protocol).
void AddRefusals(json& rules, uint64_t arg, const std::set<uint64_t>& except, int errno_value,
                 const json& also) {
  const uint64_t top = except.empty() ? 0 : *except.rbegin();
  auto add = [&](json condition) {
    json args = json::array({std::move(condition)});
    if (!also.is_null()) args.push_back(also);
    rules.push_back({{"names", {"socket", "socketpair"}},
                     {"action", "SCMP_ACT_ERRNO"},
                     {"errnoRet", errno_value},
                     {"args", std::move(args)}});
  };
  for (uint64_t v = 0; v <= top; ++v) {
    if (!except.count(v)) add(Equal(v, arg));
  }
  add(Greater(top, arg));
}

// socket() and socketpair() for `families` only. Any other family answers
// EAFNOSUPPORT, as a kernel without it would, so programs fall back (to
// IPv4, to a pipe) as they do there; a protocol a family does not list
// answers EPROTONOSUPPORT. The first argument is compared as 64 bits, so
// garbage in its upper half is refused too, never taken for a family.
json SocketRules(const std::vector<SocketFamily>& families) {
  json rules = json::array();
  std::set<uint64_t> allowed;
  for (const SocketFamily& f : families) {
    allowed.insert(f.family);
    if (f.protocols.empty()) {
      rules.push_back({{"names", {"socket", "socketpair"}},
                       {"action", "SCMP_ACT_ALLOW"},
                       {"args", json::array({Equal(f.family)})}});
      continue;
    }
    std::set<uint64_t> protocols(f.protocols.begin(), f.protocols.end());
    for (uint64_t p : protocols) {
      rules.push_back({{"names", {"socket", "socketpair"}},
                       {"action", "SCMP_ACT_ALLOW"},
                       {"args", json::array({Equal(f.family), Equal(p, kSocketProtocolArg)})}});
    }
    AddRefusals(rules, kSocketProtocolArg, protocols, kEprotonosupport, Equal(f.family));
  }
  AddRefusals(rules, 0, allowed, kEafnosupport, json());
  return rules;
}

// Bundle files are read by the sandbox user from inside: world-readable
// whatever the umask (Env::MakeDir and WriteNewFile take the mode exactly).
constexpr mode_t kBundleDirMode = 0755;
constexpr mode_t kBundleFileMode = 0644;

// ld.so.cache is some tens of KiB; the bound guards against a surprise.
constexpr size_t kMaxLdSoCacheBytes = 16 << 20;

}  // namespace

Result<HostLayout> ProbeHostLayout(Env& env, const std::string& root) {
  HostLayout layout;
  std::string base = root.empty() || root.back() == '/' ? root : root + "/";
  for (const char* name : kHostRootNames) {
    std::string path = base + name;
    auto info = env.LinkStat(path);
    if (!info.ok()) continue;
    if (info->type == FileType::kSymlink) {
      NEXUS_ASSIGN_OR_RETURN(std::string target, env.ReadLink(path));
      layout.entries.push_back({name, std::move(target)});
    } else if (info->type == FileType::kDirectory) {
      layout.entries.push_back({name, ""});
    }
  }
  bool has_usr = false;
  for (const auto& e : layout.entries) has_usr |= (e.name == "usr" && e.symlink_target.empty());
  if (!has_usr) return UnavailableError("probe host root '" + root + "': usr is not a directory");

  layout.cgroup_namespace = env.Exists("/proc/self/ns/cgroup");
  // No cache is fine: the sandbox's loader then searches the default paths.
  auto cache = env.ReadFile(base + "etc/ld.so.cache", kMaxLdSoCacheBytes);
  if (cache.ok()) layout.ld_so_cache = std::move(cache).value();
  return layout;
}

Result<HostLayout> ProbeHostLayout(const std::string& root) {
  PosixEnv env;
  return ProbeHostLayout(env, root);
}

std::vector<SocketFamily> SandboxSocketFamilies() {
  return {{kAfUnix, {}}, {kAfInet, {}}, {kAfInet6, {}}};
}

json SandboxSeccomp(const std::vector<SocketFamily>& socket_families) {
  json syscalls = json::array();
  json allowed = json::array();
  for (const char* name : kAllowedSyscalls) allowed.push_back(name);
  syscalls.push_back({{"names", allowed}, {"action", "SCMP_ACT_ALLOW"}});
  for (json& rule : SocketRules(socket_families)) syscalls.push_back(std::move(rule));
  syscalls.push_back({{"names", {"clone"}},
                      {"action", "SCMP_ACT_ALLOW"},
                      {"args", json::array({MaskedEq(kCloneNamespaceFlags, 0)})}});
  // clone3 passes its flags in memory that seccomp cannot inspect; ENOSYS
  // makes libc fall back to clone, whose flags the rule above checks.
  syscalls.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", kEnosys}});
  for (uint64_t persona : kAllowedPersonalities) {
    syscalls.push_back({{"names", {"personality"}},
                        {"action", "SCMP_ACT_ALLOW"},
                        {"args", json::array({Equal(persona)})}});
  }
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"defaultErrnoRet", kEperm},
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
  mounts.push_back(ReadOnlyBind(spec.etc_dir.empty() ? bundle_dir + "/etc" : spec.etc_dir, "/etc",
                                /*noexec=*/true));
  mounts.push_back(Tmpfs("/tmp", "tmpfs", spec.tmp_bytes, "1777", /*noexec=*/true));
  for (const auto& m : spec.extra_mounts) mounts.push_back(m);

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
  };
  if (spec.runtime_seccomp) linux_section["seccomp"] = SandboxSeccomp();

  return {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", spec.hostname},
      {"mounts", mounts},
      {"linux", linux_section},
  };
}

json OciDefaultDevices() { return Devices(); }
json OciDefaultDeviceRules() { return DeviceCgroupRules(); }
json OciReadOnlyBind(const std::string& source, const std::string& destination, bool noexec) {
  return ReadOnlyBind(source, destination, noexec);
}
json OciTmpfs(const std::string& destination, const std::string& source, int64_t bytes,
              const std::string& mode, bool noexec) {
  return Tmpfs(destination, source, bytes, mode, noexec);
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

Status WriteBundle(Env& env, const std::string& bundle_dir, const SandboxSpec& spec) {
  NEXUS_RETURN_IF_ERROR(env.MakeDir(bundle_dir, 0700));
  const std::string rootfs = bundle_dir + "/rootfs";
  NEXUS_RETURN_IF_ERROR(env.MakeDir(rootfs, kBundleDirMode));
  for (const auto& e : spec.host.entries) {
    if (e.symlink_target.empty()) continue;
    NEXUS_RETURN_IF_ERROR(env.Symlink(e.symlink_target, rootfs + "/" + e.name));
  }
  if (spec.etc_dir.empty()) {
    NEXUS_RETURN_IF_ERROR(
        WriteEtcDir(env, bundle_dir + "/etc", spec.hostname, spec.host.ld_so_cache));
  }
  return env.WriteNewFile(bundle_dir + "/config.json", BuildOciConfig(spec, bundle_dir).dump(),
                          0600);
}

Status WriteBundle(const std::string& bundle_dir, const SandboxSpec& spec) {
  PosixEnv env;
  return WriteBundle(env, bundle_dir, spec);
}

Status WriteEtcDir(Env& env, const std::string& dir, const std::string& hostname,
                   const std::string& ld_so_cache) {
  NEXUS_RETURN_IF_ERROR(env.MakeDir(dir, kBundleDirMode));
  for (const auto& [name, content] : GeneratedEtcFiles(hostname)) {
    NEXUS_RETURN_IF_ERROR(env.WriteNewFile(dir + "/" + name, content, kBundleFileMode));
  }
  if (!ld_so_cache.empty()) {
    NEXUS_RETURN_IF_ERROR(env.WriteNewFile(dir + "/ld.so.cache", ld_so_cache, kBundleFileMode));
  }
  return Status::Ok();
}

Status WriteEtcDir(const std::string& dir, const std::string& hostname,
                   const std::string& ld_so_cache) {
  PosixEnv env;
  return WriteEtcDir(env, dir, hostname, ld_so_cache);
}

}  // namespace nexus::daemon::runtime
