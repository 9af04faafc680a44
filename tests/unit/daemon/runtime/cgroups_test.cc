#include "daemon/runtime/cgroups.h"

#include <gtest/gtest.h>

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

TEST(HostCgroupFsTest, FindsTheHostsHierarchiesAndRefusesToRemoveTheRoot) {
  auto fs = HostCgroupFs::Detect();
  if (!fs.ok()) GTEST_SKIP() << "no cgroup filesystem here: " << fs.status().ToString();
  EXPECT_TRUE((*fs)->Exists("/"));
  EXPECT_FALSE((*fs)->Exists("/nexus-no-such-cgroup-for-tests"));
  EXPECT_EQ((*fs)->Remove("/").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*fs)->Remove("/nexus-no-such-cgroup-for-tests").ok()) << "absent is fine";
}

}  // namespace
}  // namespace nexus::daemon::runtime
