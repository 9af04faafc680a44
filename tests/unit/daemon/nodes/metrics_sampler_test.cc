#include "daemon/nodes/metrics_sampler.h"

#include <gtest/gtest.h>

#include "common/memory_env.h"
#include "support/fake_clock.h"

namespace nexus::daemon::runtime {
namespace {

using testing::FakeClock;

const char kPath[] = "/nexus-test-nodes/abc";
const std::string kCgroupRoot = "/sys/fs/cgroup";

// A fake cgroup tree in a MemoryEnv, v1 (memory and cpuacct hierarchies) or
// v2 (one unified hierarchy), with setters in the files' own formats.
class FakeCgroupTree {
 public:
  explicit FakeCgroupTree(bool unified) : unified_(unified) {}

  CgroupRoots Roots() const {
    if (unified_) return {true, kCgroupRoot, kCgroupRoot};
    return {false, kCgroupRoot + "/memory", kCgroupRoot + "/cpuacct"};
  }
  // What a reader of the tree reads through.
  Env* files() { return &files_; }

  void Set(int64_t memory, int64_t limit, int64_t cpu_ns) {
    if (unified_) {
      const std::string d = kCgroupRoot + kPath;
      files_.PutFile(d + "/memory.current", std::to_string(memory) + "\n");
      files_.PutFile(d + "/memory.max", limit ? std::to_string(limit) + "\n" : "max\n");
      files_.PutFile(d + "/cpu.stat", "usage_usec " + std::to_string(cpu_ns / 1000) +
                                          "\nuser_usec 1\nsystem_usec 2\nnr_periods 0\n");
    } else {
      const std::string memory_dir = kCgroupRoot + "/memory" + kPath;
      files_.PutFile(memory_dir + "/memory.usage_in_bytes", std::to_string(memory) + "\n");
      files_.PutFile(memory_dir + "/memory.limit_in_bytes",
                     std::to_string(limit ? limit : 9223372036854771712) + "\n");
      files_.PutFile(kCgroupRoot + "/cpuacct" + kPath + "/cpuacct.usage",
                     std::to_string(cpu_ns) + "\n");
    }
  }

  void Remove() {
    ASSERT_TRUE(
        files_.RemoveTree(unified_ ? kCgroupRoot + kPath : kCgroupRoot + "/memory" + kPath).ok());
  }

 private:
  bool unified_;
  MemoryEnv files_;
};

class CgroupStatsReaderTest : public ::testing::TestWithParam<bool> {};

TEST_P(CgroupStatsReaderTest, ReadsMemoryAndCpuCounters) {
  FakeCgroupTree tree(GetParam());
  tree.Set(50 << 20, 256 << 20, 7'000'000'000);
  CgroupStatsReader reader(tree.Roots(), tree.files());
  auto c = reader.Read(kPath);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->memory_usage, 50 << 20);
  EXPECT_EQ(c->memory_limit, 256 << 20);
  EXPECT_EQ(c->cpu_usage_ns, 7'000'000'000);
  EXPECT_EQ(reader.Read("/nexus-test-nodes/gone").status().code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(V1AndV2, CgroupStatsReaderTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "v2" : "v1"; });

TEST(CgroupStatsReaderV2Test, MaxMeansNoLimit) {
  FakeCgroupTree tree(true);
  tree.Set(1, 0, 0);
  auto c = CgroupStatsReader(tree.Roots(), tree.files()).Read(kPath);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->memory_limit, 0);
}

TEST(ParseCpuStatUsageUsecTest, FindsTheField) {
  EXPECT_EQ(ParseCpuStatUsageUsec("usage_usec 123\nuser_usec 100\n"), 123);
  EXPECT_EQ(ParseCpuStatUsageUsec("user_usec 100\nusage_usec 5\n"), 5);
  EXPECT_EQ(ParseCpuStatUsageUsec("user_usec 100\n"), -1);
}

class MetricsSamplerTest : public ::testing::TestWithParam<bool> {
 protected:
  FakeCgroupTree tree_{GetParam()};
  CgroupStatsReader reader_{tree_.Roots(), tree_.files()};
  FakeClock clock_;
  MetricsSampler sampler_{reader_, clock_, {5, 60}};
};

TEST_P(MetricsSamplerTest, CpuPercentIsCpuTimeOverWallTimeOfTheLastInterval) {
  sampler_.Track("n", kPath);
  struct Step {
    int64_t advance_ms;
    int64_t cpu_ns;
    double percent;
  } steps[] = {
      {0, 1'000'000'000, 0.0},        // first sample: no interval yet
      {5000, 1'000'000'000, 0.0},     // idle
      {5000, 3'500'000'000, 50.0},    // 2.5 s of CPU in 5 s
      {5000, 13'500'000'000, 200.0},  // two CPUs busy
      {2000, 13'520'000'000, 1.0},    // uneven interval
  };
  for (const auto& s : steps) {
    clock_.AdvanceMillis(s.advance_ms);
    tree_.Set(10 << 20, 64 << 20, s.cpu_ns);
    sampler_.SampleAll();
    auto snap = sampler_.Snapshot("n", false);
    ASSERT_TRUE(snap.ok());
    EXPECT_NEAR(snap->cpu_percent, s.percent, 1e-9) << "after " << s.cpu_ns << " ns";
    EXPECT_EQ(snap->memory_usage, 10 << 20);
    EXPECT_EQ(snap->memory_limit, 64 << 20);
  }
}

TEST_P(MetricsSamplerTest, RingKeepsOnlyTheHistoryWindow) {
  sampler_.Track("n", kPath);
  for (int i = 0; i < 20; ++i) {
    tree_.Set(i, 100, int64_t{i} * 1'000'000);
    sampler_.SampleAll();
    clock_.AdvanceSeconds(5);
  }
  auto snap = sampler_.Snapshot("n", true);
  ASSERT_TRUE(snap.ok());
  // 60 s of history at 5 s: 13 samples (both ends included).
  ASSERT_EQ(snap->history.size(), 13u);
  EXPECT_EQ(snap->history.front().memory_usage, 7);
  EXPECT_EQ(snap->history.back().memory_usage, 19);
  for (size_t i = 1; i < snap->history.size(); ++i) {
    EXPECT_EQ(snap->history[i].timestamp_ms - snap->history[i - 1].timestamp_ms, 5000);
  }
  EXPECT_TRUE(sampler_.Snapshot("n", false)->history.empty());
}

TEST_P(MetricsSamplerTest, PausedNodeKeepsHistoryAndRestartedOneStartsANewBaseline) {
  sampler_.Track("n", kPath);
  tree_.Set(10, 100, 9'000'000'000);
  sampler_.SampleAll();
  sampler_.Pause("n");
  clock_.AdvanceSeconds(5);
  sampler_.SampleAll();  // paused: not read
  auto paused = sampler_.Snapshot("n", true);
  ASSERT_TRUE(paused.ok());
  EXPECT_EQ(paused->memory_usage, 0);
  EXPECT_EQ(paused->history.size(), 1u);

  // A new container: its counter starts from zero again; no negative percent.
  tree_.Set(20, 100, 100'000'000);
  sampler_.Track("n", kPath);
  sampler_.SampleAll();
  clock_.AdvanceSeconds(5);
  tree_.Set(20, 100, 600'000'000);
  sampler_.SampleAll();
  auto resumed = sampler_.Snapshot("n", true);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->history.size(), 3u);
  EXPECT_EQ(resumed->history[1].cpu_percent, 0.0);
  EXPECT_NEAR(resumed->cpu_percent, 10.0, 1e-9);

  sampler_.Forget("n");
  EXPECT_EQ(sampler_.Snapshot("n", false).status().code(), StatusCode::kNotFound);
}

TEST_P(MetricsSamplerTest, SnapshotBeforeTheFirstRoundReadsNowAndGoneCgroupsAreSkipped) {
  tree_.Set(42, 100, 0);
  sampler_.Track("n", kPath);
  auto snap = sampler_.Snapshot("n", true);
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->memory_usage, 42);
  EXPECT_EQ(snap->history.size(), 1u);
  tree_.Remove();
  clock_.AdvanceSeconds(5);
  sampler_.SampleAll();
  EXPECT_EQ(sampler_.Snapshot("n", true)->history.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(V1AndV2, MetricsSamplerTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "v2" : "v1"; });

}  // namespace
}  // namespace nexus::daemon::runtime
