// The OCI `config.json` of a node — a long-lived container with its own IP,
// limits and disk — and the files its root filesystem starts with.
//
// A node's root filesystem is the `rootfs` directory on its volume (an ext4
// image, volume.h), writable, so everything a node writes anywhere — /root,
// /etc, /var, /tmp, /home, ... — lands on its volume and a node can never
// write more than its storage size. Over it, read-only: the base's /usr (and
// /bin, /sbin, /lib* where the base has them as directories; where they are
// symlinks into /usr, the same symlinks live in the rootfs), /proc, a tmpfs
// /dev, /dev/shm, a read-only /sys (the host's virtual block devices masked:
// each loop device's backing_file names some node's volume in the data dir)
// and the node's own cgroups (cgroup namespace). The base is the host's root by default or an
// imported rootfs; never the host's /etc: the node's /etc is generated (NodeEtcFiles).
//
// The node's init runs as root inside its namespaces with Docker's default
// capability set minus CAP_NET_RAW (raw sockets could forge traffic to other
// users' nodes on the shared bridge) and CAP_MKNOD (the device cgroup denies
// new devices anyway), with noNewPrivileges, and the sandbox's seccomp
// allowlist plus the few calls those capabilities are for (chroot,
// sethostname, setdomainname) and the netlink sockets of NodeSocketFamilies;
// native ABI only, as the sandbox's. The network namespace is one that exists
// before the container (network.h), so stopping and starting a node keeps its
// interface and IP. Memory has no swap; cpu_shares is written as cpu.shares
// (runc converts it to cpu.weight on cgroup v2).
//
// Pure functions (golden-tested) plus WriteNodeBundle and PopulateNodeRootfs,
// which write files; all thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "daemon/runtime/oci_spec.h"

namespace nexus::daemon::runtime {

// The init process of every node: a shell that sleeps forever, reaps the
// orphans re-parented to it (its `wait` collects any child) and exits on
// SIGTERM, which a pid 1 without a handler would ignore.
extern const std::vector<std::string> kNodeInitArgs;

struct NodeSpec {
  std::string hostname;         // the node's name
  std::string rootfs;           // absolute: <volume>/rootfs
  std::string netns_path;       // absolute: the node's network namespace
  std::string cgroups_path;     // absolute, unique per node
  std::string base_root = "/";  // where the base's /usr, /bin, ... come from
  HostLayout base;              // the base's top-level entries (ProbeHostLayout(base_root))
  int64_t memory_bytes = 256 << 20;
  int64_t cpu_shares = 1024;
  int64_t pids_limit = 1024;
  int64_t shm_bytes = 64 << 20;
  // RLIMIT_NOFILE (soft = hard); 0: inherit nexusd's, as Docker's containers
  // inherit dockerd's (raising the hard limit needs CAP_SYS_RESOURCE).
  int64_t nofile = 0;
};

// Docker's default capabilities minus CAP_NET_RAW and CAP_MKNOD.
std::vector<std::string> NodeCapabilities();

// The lambda sandbox's families plus AF_NETLINK for NETLINK_ROUTE (ip,
// getifaddrs: the node's own interfaces) and NETLINK_SOCK_DIAG (ss). Not the
// other netlink protocols: NETLINK_KOBJECT_UEVENT, for one, would show a node
// the host's device events (other nodes' loop devices coming and going).
std::vector<SocketFamily> NodeSocketFamilies();

// The sandbox's allowlist with NodeSocketFamilies() plus chroot, sethostname
// and setdomainname.
nlohmann::json NodeSeccomp();

nlohmann::json BuildNodeOciConfig(const NodeSpec& spec);

// The generated /etc of a node named `hostname` with address `ip`:
// hostname, hosts, passwd, group, resolv.conf (`resolv_conf`), nsswitch.conf.
std::map<std::string, std::string> NodeEtcFiles(const std::string& hostname, const std::string& ip,
                                                const std::string& resolv_conf);

// A node's resolv.conf: with outbound NAT, the host's nameservers that a node
// can reach (not loopback ones, which would be the node's own) and its search
// line; without, none.
std::string NodeResolvConf(const std::string& host_resolv_conf, bool outbound);

// Creates `rootfs` (must not exist) on a fresh volume: the top-level
// directories (root 0700, tmp and var/tmp 1777, mount points for /usr, /proc,
// /sys, /dev), the base's root symlinks, and /etc from NodeEtcFiles plus the
// base's ld.so.cache.
Status PopulateNodeRootfs(Env& env, const std::string& rootfs, const NodeSpec& spec,
                          const std::string& ip, const std::string& resolv_conf);

// Writes <bundle_dir>/config.json (creating the directory if needed and
// replacing an older config atomically).
Status WriteNodeBundle(Env& env, const std::string& bundle_dir, const NodeSpec& spec);

}  // namespace nexus::daemon::runtime
