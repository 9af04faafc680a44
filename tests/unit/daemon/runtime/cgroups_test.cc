#include "daemon/runtime/cgroups.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "common/memory_env.h"

namespace nexus::daemon::runtime {
namespace {

TEST(ParseOomKillCountTest, ReadsTheCounterOfV1AndV2Files) {
  struct Case {
    const char* text;
    int64_t count;
  } cases[] = {
      {"oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", 2},                // v1 memory.oom_control
      {"low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n", 1},  // v2 memory.events
      {"oom_kill_disable 0\nunder_oom 0\n", -1},                           // kernel < 4.13
      {"", -1},
  };
  for (const auto& tc : cases) EXPECT_EQ(ParseOomKillCount(tc.text), tc.count) << tc.text;
}

TEST(MakeCgroupFsTest, PicksTheBackEndOfTheTableByName) {
  auto v2 = MakeCgroupFs("v2");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_TRUE((*v2)->unified());
  EXPECT_TRUE((*v2)->swap_limit_supported());
  EXPECT_EQ((*v2)->controller_root("memory"), "/sys/fs/cgroup");

  auto none = MakeCgroupFs("none");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE((*none)->unified());
  EXPECT_FALSE((*none)->Exists("/"));
  EXPECT_TRUE((*none)->Remove("/nexus-x").ok()) << "nothing to remove";
  EXPECT_EQ((*none)->OomKilled("/nexus-x").status().code(), StatusCode::kUnavailable)
      << "no verdict without cgroups";
  EXPECT_EQ((*none)->controller_root("memory"), "");
}

TEST(MakeCgroupFsTest, AutoTakesV2OnAPureV2HostAndV1Otherwise) {
  auto fs = MakeCgroupFs(kCgroupAuto);
  if (!fs.ok()) GTEST_SKIP() << "no cgroup filesystem here: " << fs.status().ToString();
  EXPECT_EQ((*fs)->unified(), HostCgroupFs::HostIsUnified());
}

TEST(MakeCgroupFsTest, RefusesAnUnknownBackEndNamingTheKnownOnes) {
  auto fs = MakeCgroupFs("systemd");
  ASSERT_EQ(fs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs.status().message(), "unknown cgroup back-end 'systemd' (known: v2, v1, none, auto)");
}

TEST(HostCgroupFsTest, FindsTheHostsHierarchiesAndRefusesToRemoveTheRoot) {
  auto fs = MakeCgroupFs(kCgroupAuto);
  if (!fs.ok()) GTEST_SKIP() << "no cgroup filesystem here: " << fs.status().ToString();
  EXPECT_TRUE((*fs)->Exists("/"));
  EXPECT_FALSE((*fs)->Exists("/nexus-no-such-cgroup-for-tests"));
  EXPECT_EQ((*fs)->Remove("/").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*fs)->Remove("/nexus-no-such-cgroup-for-tests").ok()) << "absent is fine";
}

TEST(HostCgroupFsTest, RefusesPathsThatCouldLeaveTheCgroupTree) {
  auto fs = MakeCgroupFs(kCgroupAuto);
  if (!fs.ok()) GTEST_SKIP() << "no cgroup filesystem here: " << fs.status().ToString();
  const char* cases[] = {"", "/", "//", "relative", "/nexus-x/../..", "/nexus-x/./y"};
  for (const char* path : cases) {
    EXPECT_EQ((*fs)->Remove(path).code(), StatusCode::kInvalidArgument) << path;
    EXPECT_EQ((*fs)->RemoveTree(path).code(), StatusCode::kInvalidArgument) << path;
  }
}

// Needs root (creating cgroups); a leftover tree like a crashed nexusd's: a
// parent with empty children and grandchildren in several hierarchies.
TEST(HostCgroupFsTest, RemoveTreeRemovesEmptyDescendantsInEveryHierarchy) {
  auto fs = MakeCgroupFs(kCgroupAuto);
  if (!fs.ok()) GTEST_SKIP() << "no cgroup filesystem here: " << fs.status().ToString();
  if (::geteuid() != 0) GTEST_SKIP() << "creating cgroups needs root";
  const std::string parent = "/nexus-cgtest" + std::to_string(::getpid()) + "-lambda";
  const std::string pids = (*fs)->controller_root("pids");
  const std::string memory = (*fs)->controller_root("memory");
  if (pids.empty() || memory.empty()) GTEST_SKIP() << "no pids and memory controllers";
  std::error_code ec;
  std::filesystem::create_directories(pids + parent + "/a/b", ec);
  ASSERT_FALSE(ec) << ec.message();
  std::filesystem::create_directories(memory + parent + "/c", ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE((*fs)->Exists(parent));
  EXPECT_FALSE((*fs)->Remove(parent).ok()) << "Remove() alone keeps a cgroup with children";

  EXPECT_TRUE((*fs)->RemoveTree(parent).ok());
  EXPECT_FALSE((*fs)->Exists(parent));
  EXPECT_TRUE((*fs)->RemoveTree(parent).ok()) << "absent is fine";
}

// A v1 host's cgroup hierarchies as a MemoryEnv holds them: what HostCgroupFs
// reads and removes, without root and without the host's tree.
class FakeV1HostTest : public ::testing::Test {
 protected:
  FakeV1HostTest() {
    files_.PutFile("/proc/self/mountinfo",
                   "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
                   "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
                   "31 25 0:27 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids\n"
                   "32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n");
    for (const char* root : {kMemory, kPids, kCpu}) {
      EXPECT_TRUE(files_.MakeDirs(root, 0555).ok());
    }
  }

  std::unique_ptr<HostCgroupFs> Open() {
    auto fs = HostCgroupFs::FromMountinfo(&files_);
    EXPECT_TRUE(fs.ok()) << fs.status().ToString();
    return fs.ok() ? std::move(fs).value() : nullptr;
  }

  static constexpr const char* kMemory = "/sys/fs/cgroup/memory";
  static constexpr const char* kPids = "/sys/fs/cgroup/pids";
  static constexpr const char* kCpu = "/sys/fs/cgroup/cpu,cpuacct";
  MemoryEnv files_;
};

TEST_F(FakeV1HostTest, FindsEachControllersHierarchyAndWhetherSwapIsAccounted) {
  auto fs = Open();
  ASSERT_NE(fs, nullptr);
  EXPECT_FALSE(fs->unified());
  EXPECT_EQ(fs->controller_root("memory"), kMemory);
  EXPECT_EQ(fs->controller_root("cpuacct"), kCpu);
  EXPECT_EQ(fs->controller_root("blkio"), "");
  EXPECT_FALSE(fs->swap_limit_supported());

  files_.PutFile(std::string(kMemory) + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  EXPECT_TRUE(Open()->swap_limit_supported());
}

TEST_F(FakeV1HostTest, WithoutACgroupMountTheHostHasNoCgroups) {
  files_.PutFile("/proc/self/mountinfo", "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n");
  EXPECT_EQ(HostCgroupFs::FromMountinfo(&files_).status().code(), StatusCode::kUnavailable);
}

TEST_F(FakeV1HostTest, OomKilledReadsTheCounterOrFallsBackToTheFailureCount) {
  auto fs = Open();
  ASSERT_NE(fs, nullptr);
  const std::string dir = std::string(kMemory) + "/nexus-x-lambda/a";
  files_.PutFile(dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  EXPECT_EQ(fs->OomKilled("/nexus-x-lambda/a").value(), true);

  files_.PutFile(dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");  // < 4.13
  files_.PutFile(dir + "/memory.failcnt", "0\n");
  EXPECT_EQ(fs->OomKilled("/nexus-x-lambda/a").value(), false);
  files_.PutFile(dir + "/memory.failcnt", "3\n");
  EXPECT_EQ(fs->OomKilled("/nexus-x-lambda/a").value(), true);
  EXPECT_FALSE(fs->OomKilled("/nexus-x-lambda/gone").ok());
}

TEST_F(FakeV1HostTest, RemoveTreeRemovesDescendantsInEveryHierarchyAndRemoveWaitsForABusyOne) {
  auto fs = Open();
  ASSERT_NE(fs, nullptr);
  const std::string parent = "/nexus-x-lambda";
  ASSERT_TRUE(files_.MakeDirs(kPids + parent + "/a/b", 0755).ok());
  ASSERT_TRUE(files_.MakeDirs(kMemory + parent + "/c", 0755).ok());
  ASSERT_TRUE(fs->Exists(parent));

  EXPECT_FALSE(fs->Remove(parent).ok()) << "Remove() alone keeps a cgroup with children";
  EXPECT_EQ(files_.slept(), std::chrono::milliseconds(HostCgroupFs::kBusyRetryMs))
      << "it waited for the children to go, once for the whole call";
  EXPECT_FALSE(files_.Exists(std::string(kCpu) + parent)) << "absent there already";

  EXPECT_TRUE(fs->RemoveTree(parent).ok());
  EXPECT_FALSE(fs->Exists(parent));
  EXPECT_TRUE(files_.IsDir(kPids)) << "the hierarchy itself stays";
  EXPECT_TRUE(fs->RemoveTree(parent).ok()) << "absent is fine";
}

}  // namespace
}  // namespace nexus::daemon::runtime
