#include "daemon/nodes/node_spec.h"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/memory_env.h"
#include "daemon/runtime/seccomp_bpf.h"
#include "support/read_file.h"
#include "support/seccomp_probes.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Probe;
using testing::RunProbes;

// A node on a Debian 12 host (merged /usr: only /usr is a directory).
NodeSpec WorkerSpec() {
  NodeSpec spec;
  spec.hostname = "worker1";
  spec.rootfs = "/var/lib/nexus/nodes/by-uid/abcdef0123/volume/rootfs";
  spec.netns_path = "/run/netns/test-n-abcdef0123";
  spec.cgroups_path = "/nexus-test-nodes/abcdef0123";
  spec.base.entries = {{"usr", ""},
                       {"bin", "usr/bin"},
                       {"sbin", "usr/sbin"},
                       {"lib", "usr/lib"},
                       {"lib64", "usr/lib64"}};
  spec.base.cgroup_namespace = true;
  spec.base.swap_limit = true;
  spec.memory_bytes = 256 << 20;
  spec.cpu_shares = 512;
  spec.pids_limit = 1024;
  return spec;
}

const json* FindMount(const json& config, const std::string& destination) {
  for (const auto& m : config["mounts"]) {
    if (m["destination"] == destination) return &m;
  }
  return nullptr;
}

// The whole config.json of a node but its seccomp section (the sandbox's
// allowlist, golden-tested with the lambda config, with the node's socket
// families and one more rule, tested below), compared with the reviewed file in testdata. After an
// intended change: NEXUS_UPDATE_GOLDEN=1 rewrites it.
TEST(NodeSpecTest, NodeConfigMatchesTheGoldenFile) {
  json actual = BuildNodeOciConfig(WorkerSpec());
  actual["linux"].erase("seccomp");
  const std::string golden = std::string(NEXUS_NODES_TESTDATA) + "/node_config.json";
  if (const char* update = std::getenv("NEXUS_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(golden) << actual.dump(2) << "\n";
  }
  json expected =
      json::parse(testing::ReadFileToString(golden), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(expected.is_discarded()) << "cannot parse " << golden;
  EXPECT_EQ(actual, expected) << "diff (RFC 6902, golden → actual):\n"
                              << json::diff(expected, actual).dump(2);
}

TEST(NodeSpecTest, NodeJoinsItsOwnNetworkNamespaceAndHasItsLimits) {
  json c = BuildNodeOciConfig(WorkerSpec());
  bool joined = false;
  for (const auto& ns : c["linux"]["namespaces"]) {
    if (ns["type"] == "network") joined = ns.value("path", "") == "/run/netns/test-n-abcdef0123";
  }
  EXPECT_TRUE(joined);
  const json& r = c["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"], 256 << 20);
  EXPECT_EQ(r["memory"]["swap"], 256 << 20) << "memory+swap = memory: no swap";
  EXPECT_EQ(r["cpu"]["shares"], 512);
  EXPECT_EQ(r["pids"]["limit"], 1024);
  EXPECT_EQ(c["linux"]["cgroupsPath"], "/nexus-test-nodes/abcdef0123");

  NodeSpec no_swap_accounting = WorkerSpec();
  no_swap_accounting.base.swap_limit = false;
  EXPECT_FALSE(
      BuildNodeOciConfig(no_swap_accounting)["linux"]["resources"]["memory"].contains("swap"));
}

TEST(NodeSpecTest, RootIsTheWritableVolumeWithTheBaseReadOnlyOverIt) {
  json c = BuildNodeOciConfig(WorkerSpec());
  EXPECT_EQ(c["root"]["path"], "/var/lib/nexus/nodes/by-uid/abcdef0123/volume/rootfs");
  EXPECT_EQ(c["root"]["readonly"], false);
  const json* usr = FindMount(c, "/usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_EQ((*usr)["source"], "/usr");
  auto opts = (*usr)["options"];
  EXPECT_NE(std::find(opts.begin(), opts.end(), "ro"), opts.end());
  EXPECT_EQ(FindMount(c, "/bin"), nullptr) << "a symlink in the rootfs, not a mount";
  EXPECT_EQ(FindMount(c, "/etc"), nullptr) << "/etc lives on the volume, generated";
  EXPECT_EQ(FindMount(c, "/tmp"), nullptr) << "/tmp lives on the volume: it counts";

  NodeSpec imported = WorkerSpec();
  imported.base_root = "/var/lib/nexus/images/alpine";
  imported.base.entries = {{"usr", ""}, {"bin", ""}, {"lib", ""}};
  json i = BuildNodeOciConfig(imported);
  ASSERT_NE(FindMount(i, "/bin"), nullptr);
  EXPECT_EQ((*FindMount(i, "/bin"))["source"], "/var/lib/nexus/images/alpine/bin");
  EXPECT_EQ((*FindMount(i, "/usr"))["source"], "/var/lib/nexus/images/alpine/usr");
}

TEST(NodeSpecTest, InitIsRootWithDockersCapabilitiesMinusRawSocketsAndMknod) {
  json c = BuildNodeOciConfig(WorkerSpec());
  EXPECT_EQ(c["process"]["user"]["uid"], 0);
  EXPECT_EQ(c["process"]["args"], kNodeInitArgs);
  EXPECT_EQ(c["process"]["noNewPrivileges"], true);
  const json& caps = c["process"]["capabilities"];
  for (const char* set : {"bounding", "effective", "permitted"}) {
    EXPECT_EQ(caps[set], json(NodeCapabilities())) << set;
  }
  EXPECT_TRUE(caps["inheritable"].empty());
  EXPECT_TRUE(caps["ambient"].empty());
  auto names = NodeCapabilities();
  for (const char* absent : {"CAP_NET_RAW", "CAP_MKNOD", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"}) {
    EXPECT_EQ(std::find(names.begin(), names.end(), absent), names.end()) << absent;
  }
  for (const char* present : {"CAP_CHOWN", "CAP_SETUID", "CAP_KILL", "CAP_NET_BIND_SERVICE"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), present), names.end()) << present;
  }
  EXPECT_FALSE(c["process"].contains("rlimits")) << "inherited unless configured";
}

TEST(NodeSpecTest, SeccompIsTheSandboxAllowlistWithNodeFamiliesPlusWhatCapabilitiesAreFor) {
  json seccomp = BuildNodeOciConfig(WorkerSpec())["linux"]["seccomp"];
  json sandbox = SandboxSeccomp(NodeSocketFamilies());
  EXPECT_EQ(seccomp["defaultAction"], sandbox["defaultAction"]);
  EXPECT_EQ(seccomp["architectures"], sandbox["architectures"]);
  ASSERT_EQ(seccomp["syscalls"].size(), sandbox["syscalls"].size() + 1);
  for (size_t i = 0; i < sandbox["syscalls"].size(); ++i) {
    EXPECT_EQ(seccomp["syscalls"][i], sandbox["syscalls"][i]) << i;
  }
  const json& extra = seccomp["syscalls"].back();
  EXPECT_EQ(extra["action"], "SCMP_ACT_ALLOW");
  EXPECT_EQ(extra["names"], json({"chroot", "sethostname", "setdomainname"}));
}

#if defined(__x86_64__)
constexpr int kAfUnix = 1, kAfInet = 2, kAfInet6 = 10, kAfNetlink = 16, kAfPacket = 17, kAfKey = 15,
              kAfBluetooth = 31, kAfAlg = 38, kAfVsock = 40, kAfXdp = 44;

// Nodes get AF_NETLINK too, for NETLINK_ROUTE and NETLINK_SOCK_DIAG only.
TEST(NodeSpecTest, SeccompOpensNetlinkForRouteAndDiagOnlyBesidesTheSandboxFamilies) {
  auto program = CompileSeccompProfile(NodeSeccomp());
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  std::vector<Probe> probes = {
      {"AF_UNIX", SYS_socket, {kAfUnix, SOCK_STREAM, 0}, 0},
      {"AF_INET", SYS_socket, {kAfInet, SOCK_DGRAM, 0}, 0},
      {"AF_INET6", SYS_socket, {kAfInet6, SOCK_DGRAM, 0}, 0},
      {"NETLINK_ROUTE", SYS_socket, {kAfNetlink, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE}, 0},
      {"NETLINK_SOCK_DIAG", SYS_socket, {kAfNetlink, SOCK_DGRAM, NETLINK_SOCK_DIAG}, 0},
      {"NETLINK_KOBJECT_UEVENT",
       SYS_socket,
       {kAfNetlink, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT},
       EPROTONOSUPPORT},
      {"NETLINK_AUDIT", SYS_socket, {kAfNetlink, SOCK_RAW, NETLINK_AUDIT}, EPROTONOSUPPORT},
      {"NETLINK_GENERIC", SYS_socket, {kAfNetlink, SOCK_RAW, NETLINK_GENERIC}, EPROTONOSUPPORT},
      {"netlink protocol 1", SYS_socket, {kAfNetlink, SOCK_RAW, 1}, EPROTONOSUPPORT},
      {"NETLINK_ROUTE with garbage above",
       SYS_socket,
       {kAfNetlink, SOCK_RAW, 1L << 32},
       EPROTONOSUPPORT},
      {"AF_VSOCK", SYS_socket, {kAfVsock, SOCK_STREAM, 0}, EAFNOSUPPORT},
      {"AF_PACKET", SYS_socket, {kAfPacket, SOCK_RAW, 0}, EAFNOSUPPORT},
      {"AF_KEY", SYS_socket, {kAfKey, SOCK_RAW, 2}, EAFNOSUPPORT},
      {"AF_BLUETOOTH", SYS_socket, {kAfBluetooth, SOCK_RAW, 0}, EAFNOSUPPORT},
      {"AF_ALG", SYS_socket, {kAfAlg, SOCK_SEQPACKET, 0}, EAFNOSUPPORT},
      {"AF_XDP", SYS_socket, {kAfXdp, SOCK_RAW, 0}, EAFNOSUPPORT},
      {"family 11", SYS_socket, {11, SOCK_DGRAM, 0}, EAFNOSUPPORT},
      {"family 17 and up", SYS_socket, {18, SOCK_DGRAM, 0}, EAFNOSUPPORT},
  };
  int result = RunProbes(*program, probes);
  EXPECT_EQ(result, 0) << (result > 0 ? probes[result - 1].what : "killed");
}

#endif

TEST(NodeSpecTest, GeneratedEtcNamesTheNodeAndItsAddress) {
  auto files = NodeEtcFiles("worker1", "10.0.42.2", "nameserver 192.0.2.1\n");
  EXPECT_EQ(files["hostname"], "worker1\n");
  EXPECT_NE(files["hosts"].find("10.0.42.2\tworker1\n"), std::string::npos);
  EXPECT_NE(files["hosts"].find("127.0.0.1\tlocalhost"), std::string::npos);
  EXPECT_EQ(files["passwd"].rfind("root:x:0:0:root:/root:/bin/sh\n", 0), 0u);
  EXPECT_EQ(files["resolv.conf"], "nameserver 192.0.2.1\n");
}

TEST(NodeSpecTest, ResolvConfKeepsOnlyNameserversANodeCanReach) {
  const std::string host =
      "# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\n"
      "search example.org\noptions edns0\n";
  EXPECT_EQ(NodeResolvConf(host, /*outbound=*/true),
            "nameserver 10.255.255.53\nsearch example.org\n");
  EXPECT_EQ(NodeResolvConf(host, /*outbound=*/false).find("nameserver"), std::string::npos);
}

TEST(NodeSpecTest, PopulatedRootfsHasTheLayoutModesAndEtc) {
  MemoryEnv env;
  ASSERT_TRUE(env.MakeDirs("/volume", 0755).ok());
  NodeSpec spec = WorkerSpec();
  spec.base.ld_so_cache = "cache-bytes";
  const std::string rootfs = "/volume/rootfs";
  ASSERT_TRUE(PopulateNodeRootfs(env, rootfs, spec, "10.0.42.7", "").ok());
  auto mode = [&env](const std::string& p) {
    auto info = env.LinkStat(p);
    return info.ok() ? info->mode : 0u;
  };
  EXPECT_EQ(mode(rootfs), 0755u);
  EXPECT_EQ(mode(rootfs + "/root"), 0700u);
  EXPECT_EQ(mode(rootfs + "/tmp"), 01777u);
  EXPECT_EQ(mode(rootfs + "/var/tmp"), 01777u);
  for (const char* d : {"usr", "proc", "sys", "dev", "home", "srv", "etc"}) {
    EXPECT_TRUE(env.IsDir(rootfs + "/" + d)) << d;
  }
  EXPECT_EQ(*env.ReadLink(rootfs + "/lib64"), "usr/lib64");
  EXPECT_EQ(*env.ReadFile(rootfs + "/etc/hostname", 1 << 20), "worker1\n");
  EXPECT_EQ(*env.ReadFile(rootfs + "/etc/ld.so.cache", 1 << 20), "cache-bytes");
  EXPECT_EQ(mode(rootfs + "/etc/passwd"), 0644u);
  EXPECT_FALSE(PopulateNodeRootfs(env, rootfs, spec, "10.0.42.7", "").ok()) << "must not exist yet";
}

TEST(NodeSpecTest, BundleConfigIsReplacedWhole) {
  MemoryEnv env;
  ASSERT_TRUE(env.MakeDirs("/data/nodes", 0700).ok());
  const std::string bundle = "/data/nodes/bundle";
  ASSERT_TRUE(WriteNodeBundle(env, bundle, WorkerSpec()).ok());
  EXPECT_EQ(env.Stat(bundle)->mode, 0700u);
  NodeSpec bigger = WorkerSpec();
  bigger.memory_bytes = 512 << 20;
  ASSERT_TRUE(WriteNodeBundle(env, bundle, bigger).ok());
  json written = json::parse(*env.ReadFile(bundle + "/config.json", 1 << 20));
  EXPECT_EQ(written["linux"]["resources"]["memory"]["limit"], 512 << 20);
  EXPECT_EQ(*env.ListDir(bundle), std::vector<std::string>{"config.json"})
      << "no temporary file left";
  EXPECT_EQ(env.Stat(bundle + "/config.json")->mode, 0600u);
}

}  // namespace
}  // namespace nexus::daemon::runtime
