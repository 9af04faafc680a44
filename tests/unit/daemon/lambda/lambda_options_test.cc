// LambdaOptionsFromConfig: defaults resolved, paths made absolute, bounds
// checked.
#include "daemon/lambda/lambda_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/memory_env.h"

namespace nexus::daemon::runtime {
namespace {

TEST(LambdaOptionsTest, ResolvesTheConfig) {
  MemoryEnv env;
  env.SetCurrentDir("/srv/nexus");
  ASSERT_TRUE(env.MakeDirs("/proc/self", 0555).ok());
  ASSERT_TRUE(env.Symlink("/opt/nexus/bin/nexusd", "/proc/self/exe").ok());
  Config c;
  c.data_dir = "relative/data/";
  c.instance = "abc";
  auto o = LambdaOptionsFromConfig(c, env);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->runtime_dir, "/run/nexus-abc") << "named after the instance, not the data dir";
  EXPECT_EQ(o->max_concurrent, 2 * ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_EQ(o->timeout_ms_default, 10000);
  EXPECT_EQ(o->memory_mb_default, 128);
  EXPECT_EQ(o->output_limit_bytes, 1 << 20);
  // By default the init is looked for beside the running binary.
  EXPECT_EQ(o->init_path, "/opt/nexus/bin/nexus-lambda-init");

  c.lambda.init_path = "bin/../tools/nexus-lambda-init";
  c.runtime_dir = "run/here/";
  o = LambdaOptionsFromConfig(c, env);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->init_path, "/srv/nexus/tools/nexus-lambda-init");
  EXPECT_EQ(o->runtime_dir, "/srv/nexus/run/here");
}

TEST(LambdaOptionsTest, WithoutItsOwnPathTheInitIsLeftForTheHostCheckToRefuse) {
  MemoryEnv env;  // no /proc/self/exe
  auto o = LambdaOptionsFromConfig(Config{}, env);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->init_path, "");
}

TEST(LambdaOptionsTest, RefusesTheRootAsRuntimeDir) {
  MemoryEnv env;
  Config c;
  c.runtime_dir = "/run/..";
  EXPECT_EQ(LambdaOptionsFromConfig(c, env).status().code(), StatusCode::kInvalidArgument);
}

TEST(LambdaOptionsTest, RejectsInconsistentBounds) {
  struct Case {
    const char* name;
    void (*edit)(LambdaConfig&);
  } cases[] = {
      {"default timeout above max",
       [](LambdaConfig& l) { l.timeout_ms_default = l.timeout_ms_max + 1; }},
      {"zero timeout", [](LambdaConfig& l) { l.timeout_ms_default = 0; }},
      {"default memory above max",
       [](LambdaConfig& l) { l.memory_mb_default = l.memory_mb_max + 1; }},
      {"tiny memory", [](LambdaConfig& l) { l.memory_mb_default = 4; }},
      {"negative concurrency", [](LambdaConfig& l) { l.max_concurrent = -1; }},
      {"negative pool", [](LambdaConfig& l) { l.pool_size = -1; }},
      {"no output", [](LambdaConfig& l) { l.output_limit_bytes = 0; }},
  };
  MemoryEnv env;
  for (const auto& tc : cases) {
    Config c;
    tc.edit(c.lambda);
    EXPECT_EQ(LambdaOptionsFromConfig(c, env).status().code(), StatusCode::kInvalidArgument)
        << tc.name;
  }
}

}  // namespace
}  // namespace nexus::daemon::runtime
