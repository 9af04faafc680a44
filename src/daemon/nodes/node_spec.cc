#include "daemon/nodes/node_spec.h"

#include <sys/stat.h>

#include <sstream>

namespace nexus::daemon::runtime {
namespace {

using nlohmann::json;

constexpr uint64_t kAfNetlink = 16;
constexpr uint64_t kNetlinkRoute = 0;
constexpr uint64_t kNetlinkSockDiag = 4;

constexpr const char* kNodePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's default set (moby oci/caps), minus CAP_NET_RAW and CAP_MKNOD; see
// the header for why.
constexpr const char* kCapabilities[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_SETGID", "CAP_SETUID",       "CAP_SETFCAP",          "CAP_SETPCAP",
    "CAP_KILL",   "CAP_SYS_CHROOT",   "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE",
};

// Directories of a fresh rootfs and their modes. "usr", "proc", "sys" and
// "dev" are mount points; base entries that are directories get one too.
struct RootDir {
  const char* path;
  mode_t mode;
};
constexpr RootDir kRootDirs[] = {
    {"etc", 0755},     {"root", 0700}, {"home", 0755}, {"var", 0755}, {"var/tmp", 01777},
    {"var/log", 0755}, {"tmp", 01777}, {"srv", 0755},  {"opt", 0755}, {"mnt", 0755},
    {"run", 0755},     {"usr", 0755},  {"proc", 0555}, {"sys", 0555}, {"dev", 0755},
};

// A directory with exactly `mode`, whether it was there or not.
Status MakeDirMode(Env& env, const std::string& path, mode_t mode) {
  Status made = env.MakeDir(path, mode);
  if (made.code() == StatusCode::kAlreadyExists) return env.Chmod(path, mode);
  return made;
}

// Writes `content` to `path` through a temporary name, so a reader sees the
// old file or the new one, never a part. Not synced: the rootfs files and
// the bundle are written again at every start, so a crash loses nothing
// (and a node start pays no fsync).
Status ReplaceFile(Env& env, const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  (void)env.Remove(tmp);  // left by a crash between the two steps
  Status written = env.WriteNewFile(tmp, content, mode);
  if (written.ok()) written = env.Rename(tmp, path);
  if (!written.ok()) (void)env.Remove(tmp);
  return written;
}

std::string JoinBase(const std::string& base_root, const std::string& name) {
  if (base_root.empty() || base_root == "/") return "/" + name;
  return (base_root.back() == '/' ? base_root : base_root + "/") + name;
}

}  // namespace

const std::vector<std::string> kNodeInitArgs = {
    "/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 2147483647 & wait $!; done"};

std::vector<std::string> NodeCapabilities() {
  return std::vector<std::string>(std::begin(kCapabilities), std::end(kCapabilities));
}

std::vector<SocketFamily> NodeSocketFamilies() {
  std::vector<SocketFamily> families = SandboxSocketFamilies();
  families.push_back({kAfNetlink, {kNetlinkRoute, kNetlinkSockDiag}});
  return families;
}

json NodeSeccomp() {
  json seccomp = SandboxSeccomp(NodeSocketFamilies());
  seccomp["syscalls"].push_back(
      {{"names", {"chroot", "sethostname", "setdomainname"}}, {"action", "SCMP_ACT_ALLOW"}});
  return seccomp;
}

json BuildNodeOciConfig(const NodeSpec& spec) {
  json mounts = json::array();
  mounts.push_back({{"destination", "/proc"},
                    {"type", "proc"},
                    {"source", "proc"},
                    {"options", {"nosuid", "noexec", "nodev"}}});
  mounts.push_back({{"destination", "/dev"},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", {"nosuid", "strictatime", "mode=755", "size=65536"}}});
  mounts.push_back(OciTmpfs("/dev/shm", "shm", spec.shm_bytes, "1777", /*noexec=*/true));
  mounts.push_back({{"destination", "/sys"},
                    {"type", "sysfs"},
                    {"source", "sysfs"},
                    {"options", {"nosuid", "noexec", "nodev", "ro"}}});
  mounts.push_back({{"destination", "/sys/fs/cgroup"},
                    {"type", "cgroup"},
                    {"source", "cgroup"},
                    {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}});
  for (const auto& e : spec.base.entries) {
    if (!e.symlink_target.empty()) continue;  // a symlink in the rootfs instead
    mounts.push_back(OciReadOnlyBind(JoinBase(spec.base_root, e.name), "/" + e.name,
                                     /*noexec=*/false));
  }

  json namespaces = json::array();
  for (const char* ns : {"pid", "ipc", "uts", "mount"}) namespaces.push_back({{"type", ns}});
  namespaces.push_back({{"type", "network"}, {"path", spec.netns_path}});
  if (spec.base.cgroup_namespace) namespaces.push_back({{"type", "cgroup"}});

  json memory = {{"limit", spec.memory_bytes}};
  // OCI "swap" is memory+swap: equal to the limit means no swap at all.
  if (spec.base.swap_limit) memory["swap"] = spec.memory_bytes;

  json caps = NodeCapabilities();
  json process = {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}, {"additionalGids", json::array()}}},
      {"args", kNodeInitArgs},
      {"env", {std::string("PATH=") + kNodePath, "HOME=/root", "LANG=C.UTF-8"}},
      {"cwd", "/root"},
      {"capabilities",
       {{"bounding", caps},
        {"effective", caps},
        {"inheritable", json::array()},
        {"permitted", caps},
        {"ambient", json::array()}}},
      {"noNewPrivileges", true},
  };
  if (spec.nofile > 0) {
    process["rlimits"] = {
        {{"type", "RLIMIT_NOFILE"}, {"hard", spec.nofile}, {"soft", spec.nofile}}};
  }

  json linux_section = {
      {"cgroupsPath", spec.cgroups_path},
      {"namespaces", namespaces},
      {"devices", OciDefaultDevices()},
      {"resources",
       {{"devices", OciDefaultDeviceRules()},
        {"memory", memory},
        {"cpu", {{"shares", spec.cpu_shares}}},
        {"pids", {{"limit", spec.pids_limit}}}}},
      // Docker's list, plus the host's virtual block devices: every loop
      // device's loop/backing_file names a volume of some node, by its path
      // in the data dir (other users' nodes included).
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap", "/sys/devices/virtual/block"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
      {"seccomp", NodeSeccomp()},
  };

  return {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", spec.rootfs}, {"readonly", false}}},
      {"hostname", spec.hostname},
      {"mounts", mounts},
      {"linux", linux_section},
  };
}

std::map<std::string, std::string> NodeEtcFiles(const std::string& hostname, const std::string& ip,
                                                const std::string& resolv_conf) {
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!ip.empty()) hosts += ip + "\t" + hostname + "\n";
  return {
      {"passwd",
       "root:x:0:0:root:/root:/bin/sh\n"
       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
      {"group", "root:x:0:\nnogroup:x:65534:\n"},
      {"hosts", hosts},
      {"hostname", hostname + "\n"},
      {"resolv.conf", resolv_conf},
      {"nsswitch.conf",
       "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n"
       "protocols: files\nservices: files\n"},
  };
}

std::string NodeResolvConf(const std::string& host_resolv_conf, bool outbound) {
  if (!outbound) return "# no outbound network, so no resolver\n";
  std::istringstream in(host_resolv_conf);
  std::string line, out;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, value;
    fields >> key >> value;
    if (key == "search" || key == "domain") {
      out += line + "\n";
    } else if (key == "nameserver" && value.rfind("127.", 0) != 0 && value != "::1") {
      out += "nameserver " + value + "\n";
    }
  }
  return out;
}

Status PopulateNodeRootfs(Env& env, const std::string& rootfs, const NodeSpec& spec,
                          const std::string& ip, const std::string& resolv_conf) {
  NEXUS_RETURN_IF_ERROR(env.MakeDir(rootfs, 0755));
  for (const auto& d : kRootDirs) {
    NEXUS_RETURN_IF_ERROR(MakeDirMode(env, rootfs + "/" + d.path, d.mode));
  }
  for (const auto& e : spec.base.entries) {
    const std::string path = rootfs + "/" + e.name;
    if (e.symlink_target.empty()) {
      NEXUS_RETURN_IF_ERROR(MakeDirMode(env, path, 0755));
    } else {
      NEXUS_RETURN_IF_ERROR(env.Symlink(e.symlink_target, path));
    }
  }
  const std::string etc = rootfs + "/etc";
  for (const auto& [name, content] : NodeEtcFiles(spec.hostname, ip, resolv_conf)) {
    NEXUS_RETURN_IF_ERROR(ReplaceFile(env, etc + "/" + name, content, 0644));
  }
  if (!spec.base.ld_so_cache.empty()) {
    NEXUS_RETURN_IF_ERROR(ReplaceFile(env, etc + "/ld.so.cache", spec.base.ld_so_cache, 0644));
  }
  return Status::Ok();
}

Status WriteNodeBundle(Env& env, const std::string& bundle_dir, const NodeSpec& spec) {
  NEXUS_RETURN_IF_ERROR(MakeDirMode(env, bundle_dir, 0700));
  return ReplaceFile(env, bundle_dir + "/config.json", BuildNodeOciConfig(spec).dump(2), 0600);
}

}  // namespace nexus::daemon::runtime
