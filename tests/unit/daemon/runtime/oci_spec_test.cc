#include "daemon/runtime/oci_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>

#include "common/memory_env.h"
#include "support/read_file.h"

namespace nexus::daemon::runtime {
namespace {

using nlohmann::json;

const char kBundle[] = "/var/lib/nexus/lambda/test-l-0001";

// A Debian 12 host: merged /usr, so only /usr is a directory.
SandboxSpec LambdaSpec() {
  SandboxSpec spec;
  spec.args = {"/usr/bin/python3", "-I", "-S", "/sandbox/init.py"};
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
  spec.host.entries = {{"usr", ""},
                       {"bin", "usr/bin"},
                       {"sbin", "usr/sbin"},
                       {"lib", "usr/lib"},
                       {"lib64", "usr/lib64"}};
  spec.host.cgroup_namespace = true;
  spec.host.swap_limit = true;
  spec.memory_bytes = 128 << 20;
  spec.cgroups_path = "/nexus-test-lambda/test-l-0001";
  return spec;
}

const json* FindMount(const json& config, const std::string& destination) {
  for (const auto& m : config["mounts"]) {
    if (m["destination"] == destination) return &m;
  }
  return nullptr;
}

bool HasOption(const json& mount, const std::string& option) {
  const auto& o = mount["options"];
  return std::find(o.begin(), o.end(), option) != o.end();
}

// The whole config.json of a lambda sandbox, compared with the reviewed file
// in testdata. After an intended change: NEXUS_UPDATE_GOLDEN=1 rewrites it.
TEST(OciSpecTest, LambdaConfigMatchesTheGoldenFile) {
  json actual = BuildOciConfig(LambdaSpec(), kBundle);
  const std::string golden = std::string(NEXUS_RUNTIME_TESTDATA) + "/lambda_config.json";
  if (const char* update = std::getenv("NEXUS_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(golden) << actual.dump(2) << "\n";
  }
  json expected =
      json::parse(testing::ReadFileToString(golden), nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(expected.is_discarded()) << "cannot parse " << golden;
  EXPECT_EQ(actual, expected) << "diff (RFC 6902, golden → actual):\n"
                              << json::diff(expected, actual).dump(2);
}

TEST(OciSpecTest, ProcessHasNoCapabilitiesAndCannotGainPrivileges) {
  json c = BuildOciConfig(LambdaSpec(), kBundle);
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
    ASSERT_TRUE(c["process"]["capabilities"].contains(set)) << set;
    EXPECT_TRUE(c["process"]["capabilities"][set].empty()) << set;
  }
  EXPECT_EQ(c["process"]["noNewPrivileges"], true);
  EXPECT_EQ(c["process"]["user"]["uid"], 65534);
  EXPECT_EQ(c["process"]["user"]["gid"], 65534);
  EXPECT_TRUE(c["process"]["user"]["additionalGids"].empty());
  EXPECT_EQ(c["process"]["terminal"], false);
}

TEST(OciSpecTest, RootIsReadOnlyAndEtcIsTheGeneratedOne) {
  json c = BuildOciConfig(LambdaSpec(), kBundle);
  EXPECT_EQ(c["root"]["readonly"], true);
  const json* etc = FindMount(c, "/etc");
  ASSERT_NE(etc, nullptr);
  EXPECT_EQ((*etc)["source"], std::string(kBundle) + "/etc");
  EXPECT_TRUE(HasOption(*etc, "ro"));
  for (const auto& m : c["mounts"])
    EXPECT_NE(m["source"], "/etc") << "host /etc must never be mounted";
}

TEST(OciSpecTest, HostDirectoriesAreReadOnlyBindsAndSymlinksAreNotMounted) {
  SandboxSpec spec = LambdaSpec();
  spec.host.entries.push_back({"lib32", ""});  // a real directory on this host
  json c = BuildOciConfig(spec, kBundle);
  struct Case {
    const char* destination;
    bool mounted;
  } cases[] = {
      {"/usr", true}, {"/lib32", true}, {"/bin", false}, {"/lib", false}, {"/sbin", false}};
  for (const auto& tc : cases) {
    const json* m = FindMount(c, tc.destination);
    EXPECT_EQ(m != nullptr, tc.mounted) << tc.destination;
    if (!m) continue;
    EXPECT_EQ((*m)["type"], "bind");
    for (const char* opt : {"ro", "nosuid", "nodev"}) EXPECT_TRUE(HasOption(*m, opt)) << opt;
  }
}

TEST(OciSpecTest, TmpIsASmallTmpfs) {
  json c = BuildOciConfig(LambdaSpec(), kBundle);
  const json* tmp = FindMount(c, "/tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ((*tmp)["type"], "tmpfs");
  EXPECT_TRUE(HasOption(*tmp, "size=16777216"));
  EXPECT_TRUE(HasOption(*tmp, "mode=1777"));
  EXPECT_TRUE(HasOption(*tmp, "nosuid"));
  EXPECT_TRUE(HasOption(*tmp, "nodev"));
}

TEST(OciSpecTest, ExtraMountsComeLastAndSeccompCanBeLeftToTheInit) {
  SandboxSpec spec = LambdaSpec();
  spec.extra_mounts = {OciReadOnlyBind("/opt/init", "/sandbox/init", /*noexec=*/false)};
  spec.runtime_seccomp = false;
  json c = BuildOciConfig(spec, kBundle);
  EXPECT_EQ(c["mounts"].back(), spec.extra_mounts[0]);
  EXPECT_EQ(c["mounts"].size(), BuildOciConfig(LambdaSpec(), kBundle)["mounts"].size() + 1);
  EXPECT_FALSE(c["linux"].contains("seccomp"));
  EXPECT_EQ(c["process"]["noNewPrivileges"], true);
  EXPECT_TRUE(BuildOciConfig(LambdaSpec(), kBundle)["linux"].contains("seccomp"));
}

TEST(OciSpecTest, LimitsMemoryWithoutSwapPidsAndCpu) {
  SandboxSpec spec = LambdaSpec();
  spec.memory_bytes = 64 << 20;
  json r = BuildOciConfig(spec, kBundle)["linux"]["resources"];
  EXPECT_EQ(r["memory"]["limit"], 64 << 20);
  EXPECT_EQ(r["memory"]["swap"], 64 << 20);
  EXPECT_EQ(r["pids"]["limit"], 64);
  EXPECT_EQ(r["cpu"]["quota"], 100000);
  EXPECT_EQ(r["cpu"]["period"], 100000);
}

TEST(OciSpecTest, LeavesSwapAloneWhenTheHostCannotLimitIt) {
  SandboxSpec spec = LambdaSpec();
  spec.host.swap_limit = false;
  json r = BuildOciConfig(spec, kBundle)["linux"]["resources"];
  EXPECT_FALSE(r["memory"].contains("swap"));
}

TEST(OciSpecTest, UsesEveryNamespaceAndCgroupOnlyWhenTheKernelHasIt) {
  struct Case {
    bool cgroupns;
    size_t count;
  } cases[] = {{true, 6}, {false, 5}};
  for (const auto& tc : cases) {
    SandboxSpec spec = LambdaSpec();
    spec.host.cgroup_namespace = tc.cgroupns;
    json ns = BuildOciConfig(spec, kBundle)["linux"]["namespaces"];
    EXPECT_EQ(ns.size(), tc.count);
    bool has_cgroup = false, has_network = false;
    for (const auto& n : ns) {
      has_cgroup |= n["type"] == "cgroup";
      has_network |= n["type"] == "network";
      EXPECT_FALSE(n.contains("path")) << "every namespace is new";
    }
    EXPECT_EQ(has_cgroup, tc.cgroupns);
    EXPECT_TRUE(has_network);
  }
}

// Every name any rule allows, unconditionally or not.
std::vector<std::string> AllowedNames(const json& seccomp) {
  std::vector<std::string> names;
  for (const auto& rule : seccomp["syscalls"]) {
    if (rule["action"] != "SCMP_ACT_ALLOW") continue;
    for (const auto& n : rule["names"]) names.push_back(n.get<std::string>());
  }
  return names;
}

TEST(OciSpecTest, SeccompDeniesByDefaultWithEperm) {
  json s = SandboxSeccomp();
  EXPECT_EQ(s["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(s["defaultErrnoRet"], 1);
}

// x86-32's socketcall hides a socket's family from seccomp, and libseccomp
// would allow socketcall(SYS_SOCKET) for every family: no second ABI.
TEST(OciSpecTest, SeccompCoversTheNativeAbiOnly) {
#if defined(__x86_64__)
  EXPECT_EQ(SandboxSeccomp()["architectures"], json({"SCMP_ARCH_X86_64"}));
#elif defined(__aarch64__)
  EXPECT_EQ(SandboxSeccomp()["architectures"], json({"SCMP_ARCH_AARCH64"}));
#endif
}

// socket and socketpair are never allowed whatever their arguments: every
// rule for them names a family, and the family rules of different actions
// never match the same value.
TEST(OciSpecTest, SeccompRulesForSocketsAlwaysNameAFamilyAndNeverOverlap) {
  json s = SandboxSeccomp();
  std::map<uint64_t, std::string> action_for_family;
  uint64_t above = 0;
  int above_rules = 0;
  for (const auto& rule : s["syscalls"]) {
    bool socket_rule = false;
    for (const auto& n : rule["names"]) socket_rule |= n == "socket" || n == "socketpair";
    if (!socket_rule) continue;
    EXPECT_EQ(rule["names"], json({"socket", "socketpair"}));
    ASSERT_TRUE(rule.contains("args")) << rule.dump();
    ASSERT_EQ(rule["args"].size(), 1u) << rule.dump();
    const json& a = rule["args"][0];
    EXPECT_EQ(a["index"], 0);
    const std::string action =
        rule["action"].get<std::string>() + std::to_string(rule.value("errnoRet", 0));
    if (a["op"] == "SCMP_CMP_GT") {
      above = a["value"];
      ++above_rules;
      EXPECT_EQ(action, "SCMP_ACT_ERRNO97");
      continue;
    }
    ASSERT_EQ(a["op"], "SCMP_CMP_EQ");
    EXPECT_TRUE(action_for_family.emplace(a["value"].get<uint64_t>(), action).second)
        << "two rules for family " << a["value"];
  }
  EXPECT_EQ(above_rules, 1);
  for (uint64_t family = 0; family <= above; ++family) {
    ASSERT_TRUE(action_for_family.count(family)) << "no rule for family " << family;
    const bool allowed = family == 1 || family == 2 || family == 10;
    EXPECT_EQ(action_for_family[family], allowed ? "SCMP_ACT_ALLOW0" : "SCMP_ACT_ERRNO97")
        << family;
  }
  EXPECT_EQ(action_for_family.size(), above + 1) << "a family rule above the GT bound";
}

TEST(OciSpecTest, SeccompAllowsNoneOfTheMachineAndKernelSyscalls) {
  auto allowed = AllowedNames(SandboxSeccomp());
  for (const char* name : {"mount",
                           "umount2",
                           "ptrace",
                           "bpf",
                           "keyctl",
                           "add_key",
                           "request_key",
                           "unshare",
                           "setns",
                           "kexec_load",
                           "kexec_file_load",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "clock_settime",
                           "clock_adjtime",
                           "settimeofday",
                           "adjtimex",
                           "pivot_root",
                           "chroot",
                           "swapon",
                           "swapoff",
                           "reboot",
                           "perf_event_open",
                           "userfaultfd",
                           "open_by_handle_at",
                           "name_to_handle_at",
                           "io_uring_setup",
                           "process_vm_readv",
                           "fsopen",
                           "move_mount",
                           "syslog",
                           "acct",
                           "modify_ldt",
                           "iopl",
                           "sethostname"}) {
    EXPECT_EQ(std::count(allowed.begin(), allowed.end(), name), 0) << name;
  }
}

TEST(OciSpecTest, SeccompAllowsWhatOrdinaryProgramsUse) {
  auto allowed = AllowedNames(SandboxSeccomp());
  for (const char* name : {"read", "write", "openat", "mmap", "execve", "exit_group", "futex",
                           "rt_sigaction", "epoll_wait", "connect", "wait4", "pipe2", "getrandom",
                           "clock_gettime", "statx", "pidfd_open", "rseq"}) {
    EXPECT_EQ(std::count(allowed.begin(), allowed.end(), name), 1) << name;
  }
}

TEST(OciSpecTest, SeccompAllowsCloneOnlyWithoutNamespaceFlags) {
  json s = SandboxSeccomp();
  int clone_rules = 0, clone3_rules = 0;
  for (const auto& rule : s["syscalls"]) {
    if (rule["names"] == json::array({"clone"})) {
      ++clone_rules;
      EXPECT_EQ(rule["action"], "SCMP_ACT_ALLOW");
      EXPECT_EQ(rule["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
      EXPECT_EQ(rule["args"][0]["value"].get<uint64_t>() & 0x10000000, 0x10000000u)
          << "CLONE_NEWUSER is in the mask";
      EXPECT_EQ(rule["args"][0]["valueTwo"], 0);
    }
    if (rule["names"] == json::array({"clone3"})) {
      ++clone3_rules;
      EXPECT_EQ(rule["errnoRet"], 38);  // ENOSYS: libc falls back to clone
    }
  }
  EXPECT_EQ(clone_rules, 1);
  EXPECT_EQ(clone3_rules, 1);
}

TEST(OciSpecTest, SeccompAllowsOnlyPlainPersonalities) {
  std::vector<uint64_t> values;
  json s = SandboxSeccomp();
  for (const auto& rule : s["syscalls"]) {
    if (rule["names"] != json::array({"personality"})) continue;
    EXPECT_EQ(rule["action"], "SCMP_ACT_ALLOW");
    EXPECT_EQ(rule["args"][0]["op"], "SCMP_CMP_EQ");
    values.push_back(rule["args"][0]["value"].get<uint64_t>());
  }
  EXPECT_EQ(values, (std::vector<uint64_t>{0x0, 0x0008, 0x20000, 0x20008, 0xffffffff}));
}

TEST(OciSpecTest, GeneratedEtcKnowsNobodyAndLocalhostOnly) {
  auto files = GeneratedEtcFiles("sandbox");
  EXPECT_NE(files["passwd"].find("nobody:x:65534:65534:"), std::string::npos);
  EXPECT_NE(files["group"].find("nogroup:x:65534:"), std::string::npos);
  EXPECT_NE(files["hosts"].find("127.0.0.1\tlocalhost"), std::string::npos);
  EXPECT_EQ(files["hostname"], "sandbox\n");
  EXPECT_EQ(files.count("resolv.conf"), 1u);
  EXPECT_NE(files["nsswitch.conf"].find("hosts: files"), std::string::npos);
  EXPECT_EQ(files.count("shadow"), 0u);
}

class HostFilesTest : public ::testing::Test {
 protected:
  std::string ReadFile(const std::string& path) { return *env_.ReadFile(path, 1 << 20); }
  mode_t Mode(const std::string& path) { return env_.Stat(path)->mode; }

  MemoryEnv env_;
};

using ProbeHostLayoutTest = HostFilesTest;

TEST_F(ProbeHostLayoutTest, ReportsDirectoriesAndSymlinksOfTheRoot) {
  ASSERT_TRUE(env_.MakeDirs("/host/usr/bin", 0755).ok());
  ASSERT_TRUE(env_.MakeDirs("/host/lib32", 0755).ok());
  ASSERT_TRUE(env_.Symlink("usr/bin", "/host/bin").ok());
  env_.PutFile("/host/etc/ld.so.cache", "cache");
  env_.PutFile("/proc/self/ns/cgroup", "");
  auto layout = ProbeHostLayout(env_, "/host");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  ASSERT_EQ(layout->entries.size(), 3u);
  EXPECT_EQ(layout->entries[0].name, "usr");
  EXPECT_EQ(layout->entries[0].symlink_target, "");
  EXPECT_EQ(layout->entries[1].name, "bin");
  EXPECT_EQ(layout->entries[1].symlink_target, "usr/bin");
  EXPECT_EQ(layout->entries[2].name, "lib32");
  EXPECT_EQ(layout->ld_so_cache, "cache");
  EXPECT_TRUE(layout->cgroup_namespace);
}

TEST_F(ProbeHostLayoutTest, FailsWithoutUsr) {
  ASSERT_TRUE(env_.MakeDirs("/host/lib", 0755).ok());
  auto layout = ProbeHostLayout(env_, "/host");
  EXPECT_FALSE(layout.ok());
}

using WriteBundleTest = HostFilesTest;

TEST_F(WriteBundleTest, WritesAPrivateBundleWithConfigRootfsSymlinksAndAReadableEtc) {
  ASSERT_TRUE(env_.MakeDirs("/var/lib/nexus", 0700).ok());
  SandboxSpec spec = LambdaSpec();
  spec.host.ld_so_cache = "cache-bytes";
  const std::string bundle = "/var/lib/nexus/b";
  Status s = WriteBundle(env_, bundle, spec);
  ASSERT_TRUE(s.ok()) << s.ToString();

  json config = json::parse(ReadFile(bundle + "/config.json"));
  EXPECT_EQ(config, BuildOciConfig(spec, bundle));
  EXPECT_EQ(*env_.ReadLink(bundle + "/rootfs/bin"), "usr/bin");
  EXPECT_EQ(*env_.ReadLink(bundle + "/rootfs/lib64"), "usr/lib64");
  EXPECT_FALSE(env_.Exists(bundle + "/rootfs/usr")) << "runc creates mount points itself";
  EXPECT_EQ(ReadFile(bundle + "/etc/hostname"), "sandbox\n");
  EXPECT_EQ(ReadFile(bundle + "/etc/ld.so.cache"), "cache-bytes");
  EXPECT_EQ(Mode(bundle), 0700u) << "no other user goes through the bundle";
  EXPECT_EQ(Mode(bundle + "/config.json"), 0600u);
  EXPECT_EQ(Mode(bundle + "/rootfs"), 0755u);
  EXPECT_EQ(Mode(bundle + "/etc"), 0755u);
  EXPECT_EQ(Mode(bundle + "/etc/passwd"), 0644u);
}

TEST_F(WriteBundleTest, ASharedEtcIsMountedInsteadOfOneInTheBundle) {
  ASSERT_TRUE(env_.MakeDirs("/var/lib/nexus", 0700).ok());
  const std::string etc = "/var/lib/nexus/shared-etc";
  Status written = WriteEtcDir(env_, etc, "sandbox", "cache-bytes");
  ASSERT_TRUE(written.ok()) << written.ToString();
  EXPECT_EQ(ReadFile(etc + "/hostname"), "sandbox\n");
  EXPECT_EQ(ReadFile(etc + "/ld.so.cache"), "cache-bytes");
  EXPECT_EQ(Mode(etc + "/passwd"), 0644u);
  EXPECT_EQ(Mode(etc), 0755u);

  SandboxSpec spec = LambdaSpec();
  spec.etc_dir = etc;
  const std::string bundle = "/var/lib/nexus/b";
  ASSERT_TRUE(WriteBundle(env_, bundle, spec).ok());
  EXPECT_FALSE(env_.Exists(bundle + "/etc"));
  json config = json::parse(ReadFile(bundle + "/config.json"));
  const json* m = FindMount(config, "/etc");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ((*m)["source"], etc);
  EXPECT_TRUE(HasOption(*m, "ro"));
  EXPECT_TRUE(HasOption(*m, "noexec"));
  EXPECT_FALSE(WriteEtcDir(env_, etc, "sandbox", "").ok()) << "an existing one is not reused";
}

TEST_F(WriteBundleTest, RefusesAnExistingDirectory) {
  ASSERT_TRUE(env_.MakeDirs("/var/lib/nexus/b", 0700).ok());
  EXPECT_FALSE(WriteBundle(env_, "/var/lib/nexus/b", LambdaSpec()).ok());
}

}  // namespace
}  // namespace nexus::daemon::runtime
