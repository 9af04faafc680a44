// LambdaRunner against the real runc, the limits and what is left after
// them: the timeout, the memory and pids limits, the cgroups of the
// instance (none survive the runner; a crash's are removed at start), and
// the detached-container engine the nodes use.
// Set-up and the leftover checks in lambda_runc_fixture.h.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/oci_spec.h"
#include "daemon/runtime/process.h"
#include "unit/daemon/lambda/lambda_runc_fixture.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;

TEST_F(LambdaRuncTest, EndlessLoopIsKilledAtTheTimeout) {
  auto start = SteadyClock::now();
  auto r = Python("print('spinning', flush=True)\nwhile True:\n    pass", "", 1000);
  int64_t wall = MillisSince(start);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_EQ(r.signal, "SIGKILL");
  EXPECT_FALSE(r.oom_killed);
  EXPECT_EQ(r.stdout_data, "spinning\n");
  EXPECT_GE(r.execution_time_ms, 1000);
  EXPECT_LT(wall, 2000) << "the run must end within timeout + 1 s";
}

TEST_F(LambdaRuncTest, AllocatingAGigabyteIsKilledByTheOomKiller) {
  auto r = Python("x = bytearray(1 << 30)\nprint('allocated')");
  EXPECT_TRUE(r.oom_killed);
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_EQ(r.signal, "SIGKILL");
  EXPECT_EQ(r.stdout_data, "");
  EXPECT_FALSE(r.timed_out);
}

TEST_F(LambdaRuncTest, ForkBombHitsThePidsLimit) {
  auto r = Python(
      "import os, time\n"
      "n = 0\n"
      "try:\n"
      "    while True:\n"
      "        if os.fork() == 0:\n"
      "            time.sleep(30)\n"
      "            os._exit(0)\n"
      "        n += 1\n"
      "except OSError as e:\n"
      "    print(n, e.errno)\n",
      "", 5000);
  EXPECT_FALSE(r.timed_out) << "the supervisor must not wait for the sleeping children";
  EXPECT_EQ(r.exit_code, 0);
  std::istringstream in(r.stdout_data);
  int forked = -1, err = -1;
  in >> forked >> err;
  EXPECT_GT(forked, 0);
  EXPECT_LT(forked, 64);
  EXPECT_EQ(err, EAGAIN);
}

// Whatever ended the runs — exit, a timeout with a child that ignores
// SIGTERM, the OOM killer, a fork bomb, a pool sandbox never used — no cgroup
// carrying the instance's name survives the runner, in any hierarchy.
TEST_F(LambdaRuncTest, NoCgroupOfTheInstanceRemainsAfterTheRunnerIsDestroyed) {
  config_.lambda.pool_size = 1;
  Runner();
  ASSERT_TRUE(runner_->WaitForPool(1, 20000));
  EXPECT_FALSE(CgroupDirsNamed(config_.instance).empty())
      << "the scan must see the pool sandbox's cgroups, or it proves nothing";
  EXPECT_EQ(Python("print(1)").stdout_data, "1\n");
  auto sleeper = Python(
      "import os, signal, time\n"
      "if os.fork() == 0:\n"
      "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
      "    time.sleep(60)\n"
      "time.sleep(60)\n",
      "", 500);
  EXPECT_TRUE(sleeper.timed_out);
  EXPECT_TRUE(Python("x = bytearray(1 << 30)").oom_killed);
  auto bomb = Python(
      "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
      "", 1000);
  EXPECT_TRUE(bomb.timed_out);
  runner_->WaitForTeardown();
  runner_.reset();
  EXPECT_EQ(CgroupDirsNamed(config_.instance), std::vector<std::string>{});
}

// A crashed nexusd leaves its sandboxes' cgroups (and their parent) in every
// hierarchy; the next start removes them, and only them.
TEST_F(LambdaRuncTest, StartRemovesStaleCgroupsOfTheInstanceOnly) {
  const std::string stale = "nexus-" + config_.instance + "-lambda";
  const std::string other = "nexus-" + config_.instance + "x-lambda";
  std::vector<std::string> made;
  for (const char* h : {"pids", "memory", "cpu", "unified", "systemd"}) {
    const std::string root = std::string("/sys/fs/cgroup/") + h;
    if (!fs::is_directory(root)) continue;
    std::error_code ec;
    fs::create_directories(root + "/" + stale + "/" + config_.instance + "-l-0000000000000001", ec);
    ASSERT_FALSE(ec) << root << ": " << ec.message();
    fs::create_directories(root + "/" + other, ec);
    ASSERT_FALSE(ec) << root << ": " << ec.message();
    made.push_back(root);
  }
  if (made.empty()) GTEST_SKIP() << "no cgroup v1 hierarchies here";
  Runner();
  EXPECT_EQ(CgroupDirsNamed(stale), std::vector<std::string>{});
  for (const auto& root : made) {
    EXPECT_TRUE(fs::is_directory(root + "/" + other)) << "another instance's cgroup was removed";
    ::rmdir((root + "/" + other).c_str());
  }
}

// The engine the nodes use: a detached container through its whole life.
TEST_F(LambdaRuncTest, RuncRuntimeDrivesADetachedContainerThroughItsLife) {
  auto processes = NewPosixProcessRunner();
  RuncRuntime runc({runc_, data_dir_ + "/runc", 10000, nullptr}, *processes);
  auto layout = ProbeHostLayout("/");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  auto cgroups = MakeCgroupFs(kCgroupAuto);
  ASSERT_TRUE(cgroups.ok());
  SandboxSpec spec;
  spec.args = {"/bin/sleep", "30"};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.host = *layout;
  spec.host.swap_limit = (*cgroups)->swap_limit_supported();
  const std::string parent = "/nexus-" + config_.instance + "-lambda";
  spec.cgroups_path = parent + "/engine";
  const std::string bundle = data_dir_ + "/engine";
  ASSERT_TRUE(WriteBundle(bundle, spec).ok());
  const std::string id = config_.instance + "-engine";

  ASSERT_TRUE(runc.Create(id, bundle, bundle + "/console.log").ok());
  auto state = runc.State(id);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->status, ContainerStatus::kCreated);
  EXPECT_GT(state->pid, 0);
  ASSERT_TRUE(runc.Start(id).ok());
  state = runc.State(id);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status, ContainerStatus::kRunning);
  auto list = runc.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, id);
  EXPECT_TRUE((*cgroups)->Exists(spec.cgroups_path));

  auto start = SteadyClock::now();
  ASSERT_TRUE(runc.Destroy(id).ok());
  std::printf("Destroy of a running container: %lld ms\n",
              static_cast<long long>(MillisSince(start)));
  EXPECT_EQ(runc.State(id).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE((*cgroups)->Exists(spec.cgroups_path));
  EXPECT_TRUE(runc.Destroy(id).ok()) << "destroying twice is fine";
  (void)(*cgroups)->Remove(parent);
  fs::remove_all(bundle);
}

}  // namespace
}  // namespace nexus::daemon::runtime
