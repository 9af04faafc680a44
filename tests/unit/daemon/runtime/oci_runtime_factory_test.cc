// The OCI engine table: which engine drives a configured binary, which host
// each engine fits, and what MakeOciRuntime makes or refuses.
#include "daemon/runtime/oci_runtime_factory.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "support/runtime_fake_process.h"

namespace nexus::daemon::runtime {
namespace {

using ::nexus::testing::FakeProcessRunner;

TEST(OciEngineForTest, NamesTheEngineByTheBinarysFileName) {
  struct Case {
    const char* binary;
    const char* engine;
  } cases[] = {
      {"runc", "runc"},
      {"/usr/sbin/runc", "runc"},
      {"crun", "crun"},
      {"/usr/local/bin/crun", "crun"},
      {"/opt/runtimes/my-runc", "runc"},  // any other binary is driven as runc
      {"", "runc"},
  };
  for (const auto& c : cases) EXPECT_EQ(OciEngineFor(c.binary), c.engine) << c.binary;
}

TEST(MakeOciRuntimeTest, MakesEachEngineOfTheTableDrivingTheConfiguredBinary) {
  for (const char* engine : {"runc", "crun"}) {
    FakeProcessRunner processes;
    const std::string binary = std::string("/usr/bin/") + engine;
    auto runtime = MakeOciRuntime(engine, {binary, "/data/root", 1000, nullptr}, processes);
    ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
    (void)(*runtime)->Kill("c1", SIGKILL, /*all=*/false);
    auto spawned = processes.Spawned();
    ASSERT_EQ(spawned.size(), 1u) << engine;
    EXPECT_EQ(spawned[0].argv,
              (std::vector<std::string>{binary, "--root", "/data/root", "kill", "c1", "KILL"}));
  }
}

TEST(MakeOciRuntimeTest, RefusesAnUnknownEngineNamingTheKnownOnes) {
  FakeProcessRunner processes;
  auto runtime =
      MakeOciRuntime("podman", {"/usr/bin/podman", "/data/root", 1000, nullptr}, processes);
  ASSERT_EQ(runtime.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runtime.status().message(), "unknown OCI runtime 'podman' (known: runc, crun)");
  EXPECT_TRUE(processes.Spawned().empty());
}

TEST(CheckOciEngineFitsTest, CrunNeedsAPureCgroupV2HostAndRuncFitsAny) {
  auto v2 = MakeCgroupFs("v2");
  auto none = MakeCgroupFs("none");
  ASSERT_TRUE(v2.ok() && none.ok());
  EXPECT_TRUE(CheckOciEngineFits("runc", **v2).ok());
  EXPECT_TRUE(CheckOciEngineFits("runc", **none).ok());
  EXPECT_TRUE(CheckOciEngineFits("crun", **v2).ok());
  Status v1 = CheckOciEngineFits("crun", **none);
  EXPECT_EQ(v1.code(), StatusCode::kUnavailable);
  EXPECT_EQ(v1.message(), "crun needs a pure cgroup v2 host; select runc");
  EXPECT_EQ(CheckOciEngineFits("podman", **v2).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::runtime
