// OCI bundle generation: the runtime `config.json` for a sandboxed container
// and the files of its bundle directory.
//
// Nexus does not build images: a sandbox's root is an empty, read-only
// directory into which the host's /usr (and /bin, /sbin, /lib* — or, where the
// host has them as symlinks into /usr, the same symlinks) are bind-mounted
// read-only, plus a generated minimal /etc (never the host's) and tmpfs
// mounts for /tmp, /dev and /dev/shm. Everything else — namespaces, cgroup
// limits, no capabilities, seccomp — is in config.json, which runc applies.
//
// BuildOciConfig is a pure function of a SandboxSpec (golden-tested); the host
// facts it needs are probed once by ProbeHostLayout and carried in the spec.
// WriteBundle writes a bundle directory from a spec. All functions are
// thread-safe (no shared state).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/result.h"

namespace nexus::daemon::runtime {

// A top-level directory of the host root that sandboxes see.
struct HostRootEntry {
  std::string name;            // "usr", "bin", ...
  std::string symlink_target;  // non-empty: the host has a symlink, replicated in the rootfs;
                               // empty: a real directory, bind-mounted read-only
};

// What a sandbox needs to know about the host; probed once at start.
struct HostLayout {
  std::vector<HostRootEntry> entries;
  bool cgroup_namespace = true;  // the kernel has cgroup namespaces
  bool swap_limit = true;        // the memory controller can limit swap (v1: memory.memsw.*)
  std::string ld_so_cache;       // host /etc/ld.so.cache, copied into the generated /etc
};

// Reads `root` ("/" on a real host) through `env` for /usr, /bin, /sbin,
// /lib, /lib32, /lib64, /libx32 and etc/ld.so.cache, and the kernel for
// cgroup namespaces. swap_limit is left true: the cgroup probe
// (HostCgroupFs) knows better. Fails when `root`/usr is not a directory.
Result<HostLayout> ProbeHostLayout(Env& env, const std::string& root = "/");
// The same on the real file system.
Result<HostLayout> ProbeHostLayout(const std::string& root = "/");

struct SandboxSpec {
  std::vector<std::string> args;  // args[0] absolute, as the sandbox sees it
  std::vector<std::string> env;
  std::string cwd = "/tmp";
  std::string hostname = "sandbox";
  uint32_t uid = 65534;  // nobody
  uint32_t gid = 65534;  // nogroup
  HostLayout host;
  int64_t memory_bytes = 128 << 20;  // RAM; swap is limited to nothing extra
  int64_t pids_limit = 64;
  int64_t cpu_quota_us = 100000;  // quota/period = number of CPUs
  int64_t cpu_period_us = 100000;
  int64_t tmp_bytes = 16 << 20;
  int64_t shm_bytes = 8 << 20;
  int64_t nofile = 1024;
  // Absolute cgroup path, unique per container; its parent carries the
  // instance name ("/nexus-<instance>-lambda/<id>") so instances never collide.
  std::string cgroups_path;
  // Absolute path of an /etc written once by WriteEtcDir and shared by many
  // containers (bind-mounted read-only like the per-bundle one); empty: the
  // bundle gets its own <bundle_dir>/etc.
  std::string etc_dir;
  // Mounts after the standard ones (e.g. the lambda init's read-only bind).
  std::vector<nlohmann::json> extra_mounts;
  // Whether config.json carries SandboxSeccomp() for runc to apply. False
  // when the container's own init installs the same profile precompiled
  // (seccomp_bpf.h); noNewPrivileges stays on either way.
  bool runtime_seccomp = true;
};

// The config.json for `spec`, whose bundle is (or will be) `bundle_dir`:
// rootfs at <bundle_dir>/rootfs, generated /etc at <bundle_dir>/etc.
nlohmann::json BuildOciConfig(const SandboxSpec& spec, const std::string& bundle_dir);

// An address family socket() and socketpair() may open (AF_UNIX, ...) and,
// when `protocols` is not empty, the only protocols (third argument) of it.
struct SocketFamily {
  uint64_t family;
  std::vector<uint64_t> protocols;
};

// The lambda sandbox's families: AF_UNIX, AF_INET and AF_INET6. Python needs
// no other: getaddrinfo reads /etc/hosts, and where glibc asks netlink which
// address families are configured (AI_ADDRCONFIG) it assumes both when it
// cannot open that socket.
std::vector<SocketFamily> SandboxSocketFamilies();

// The seccomp section, for the native ABI only: an allowlist of the
// syscalls ordinary programs use (clone without namespace flags, personality
// without hardening-weakening flags, socket and socketpair for
// `socket_families` only: any other family answers EAFNOSUPPORT, another
// protocol of a listed family EPROTONOSUPPORT); everything else fails with
// EPERM. A syscall through another ABI (x86-32's int 0x80, x32) kills the
// process. Also fit for the nodes engine, with its own families.
nlohmann::json SandboxSeccomp(
    const std::vector<SocketFamily>& socket_families = SandboxSocketFamilies());

// Building blocks shared with other container configs (the nodes'):
// the default device nodes and their device-cgroup rules (deny all, allow
// those), a read-only bind mount (nosuid, nodev; `bind`, not `rbind`), and a
// tmpfs mount with a mode and a size.
nlohmann::json OciDefaultDevices();
nlohmann::json OciDefaultDeviceRules();
nlohmann::json OciReadOnlyBind(const std::string& source, const std::string& destination,
                               bool noexec);
nlohmann::json OciTmpfs(const std::string& destination, const std::string& source, int64_t bytes,
                        const std::string& mode, bool noexec);

// The generated /etc: file name → content.
std::map<std::string, std::string> GeneratedEtcFiles(const std::string& hostname);

// Creates `bundle_dir` (must not exist) with config.json, an empty rootfs/
// holding the host's root symlinks, and etc/ unless spec.etc_dir names a
// shared one. The bundle directory is 0700 from its creation: only root (runc)
// goes through it, since the sandbox sees its rootfs as / and its etc/ as a
// mount, so what the bundle will hold (a user's code) is no other local user's
// to read. Below it directories are 0755 and files 0644 (config.json 0600)
// whatever the umask, for the sandbox user reads them from inside.
Status WriteBundle(Env& env, const std::string& bundle_dir, const SandboxSpec& spec);
// The same on the real file system.
Status WriteBundle(const std::string& bundle_dir, const SandboxSpec& spec);

// Creates `dir` (must not exist) holding the generated /etc for `hostname`
// and the host's ld.so.cache (when `ld_so_cache` is not empty), modes as
// WriteBundle's.
Status WriteEtcDir(Env& env, const std::string& dir, const std::string& hostname,
                   const std::string& ld_so_cache);
// The same on the real file system.
Status WriteEtcDir(const std::string& dir, const std::string& hostname,
                   const std::string& ld_so_cache);

}  // namespace nexus::daemon::runtime
