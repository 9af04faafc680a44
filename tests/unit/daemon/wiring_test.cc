// WireDaemon, the composition root: from a Config to a daemon whose storage
// serves and whose lambda and nodes answer kUnavailable on a host without
// their runtime, instead of failing nexusd's start.
#include "daemon/wiring.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace nexus::daemon {
namespace {

Config HostWithoutRuntimes(const testing::TempDir& dir) {
  Config config;
  config.instance = "wiretest";
  config.data_dir = dir.path();
  config.runtime_dir = dir.File("run");
  config.daemon.db_path = dir.File("nexus.db");
  config.daemon.host_name = "wiretest-host";
  config.storage.chunks_dir = dir.File("chunks");
  config.nodes.runtime = "nexus-test-no-such-runtime";
  config.network.cni_path = dir.File("cni");
  config.lambda.runc_path = "/nonexistent/runc";
  return config;
}

TEST(WireDaemonTest, WiresStorageAndLeavesNodesAndLambdaUnavailableWithoutTheirRuntimes) {
  testing::TempDir dir;
  testing::FakeClock clock;
  auto daemon = WireDaemon(HostWithoutRuntimes(dir), clock);
  ASSERT_TRUE(daemon.ok()) << daemon.status().ToString();
  Daemon& d = **daemon;
  ASSERT_TRUE(d.health && d.files && d.tree && d.lambda && d.nodes);
  EXPECT_TRUE(d.health->Check().ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir.File("chunks")));
  auto listed = d.files->List("alice");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_TRUE(listed->empty());

  EXPECT_EQ(d.nodes->availability().code(), StatusCode::kUnavailable);
  runtime::LambdaRequest request;
  request.code = "print(1)";
  request.runtime = "python3";
  request.owner = "alice";
  auto run = d.lambda->Run(request);
  EXPECT_EQ(run.status().code(), StatusCode::kUnavailable) << run.status().ToString();
  EXPECT_EQ(d.limits.lambda_runs.global, d.lambda->options().max_concurrent);
}

TEST(WireDaemonTest, AnInconsistentConfigFailsTheWiring) {
  testing::TempDir dir;
  testing::FakeClock clock;
  Config config = HostWithoutRuntimes(dir);
  config.nodes.pids_limit = 0;
  auto daemon = WireDaemon(config, clock);
  EXPECT_EQ(daemon.status().code(), StatusCode::kInvalidArgument) << daemon.status().ToString();
}

}  // namespace
}  // namespace nexus::daemon
