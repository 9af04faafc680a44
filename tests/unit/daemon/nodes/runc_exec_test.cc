// RuncRuntime::Exec: the `runc exec` command line, with fake processes.
#include <gtest/gtest.h>

#include "daemon/runtime/oci_runtime.h"
#include "support/runtime_fake_process.h"

namespace nexus::daemon::runtime {
namespace {

using testing::FakeProcessRunner;

TEST(RuncExecTest, RunsRuncExecWithThePidFileBeforeTheCommand) {
  FakeProcessRunner processes;
  RuncRuntime runc({"/usr/sbin/runc", "/data/nodes/runc", 10000, nullptr}, processes);
  auto child = runc.Exec("test-n-1", {{"sh", "-c", "echo hi"}, "/data/exec.pid"});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  auto spawned = processes.Spawned();
  ASSERT_EQ(spawned.size(), 1u);
  EXPECT_EQ(spawned[0].argv,
            (std::vector<std::string>{"/usr/sbin/runc", "--root", "/data/nodes/runc", "exec",
                                      "--pid-file", "/data/exec.pid", "test-n-1", "sh", "-c",
                                      "echo hi"}));
  EXPECT_TRUE(spawned[0].output_file.empty()) << "attached: pipes";
  EXPECT_EQ(runc.Exec("test-n-1", {{}, ""}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::runtime
