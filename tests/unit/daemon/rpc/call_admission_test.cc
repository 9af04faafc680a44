#include "daemon/rpc/call_admission.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace nexus::daemon {
namespace {

TEST(CallLimitsTest, DefaultsGiveEveryKindAShareAndTheLambdaShareIsHalfTheRunner) {
  Config config;
  struct Case {
    int64_t runner_max;
    int64_t per_user_setting;
    int64_t expect_per_user;
  };
  const Case cases[] = {{4, 0, 2}, {5, 0, 2}, {1, 0, 1}, {2, 0, 1}, {64, 0, 32}, {8, 3, 3}};
  for (const Case& c : cases) {
    config.lambda.max_concurrent_per_user = c.per_user_setting;
    Result<CallLimits> l = CallLimitsFromConfig(config, c.runner_max);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    EXPECT_EQ(l->lambda_runs.global, c.runner_max);
    EXPECT_EQ(l->lambda_runs.per_user, c.expect_per_user) << "runner max " << c.runner_max;
  }
  Result<CallLimits> l = CallLimitsFromConfig(Config{}, 4);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->downloads.global, 64);
  EXPECT_EQ(l->downloads.per_user, 16);
  EXPECT_EQ(l->uploads.global, 64);
  EXPECT_EQ(l->uploads.per_user, 16);
  EXPECT_EQ(l->execs.global, 32);
  EXPECT_EQ(l->execs.per_user, 4);
  EXPECT_EQ(l->node_changes.global, 16);
  EXPECT_EQ(l->node_changes.per_user, 4);
  EXPECT_EQ(l->stream_idle_timeout, std::chrono::seconds(600));
}

TEST(CallLimitsTest, ThePoolIsEveryCapPlusTheShortCallThreads) {
  Result<CallLimits> l = CallLimitsFromConfig(Config{}, 4);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(ServerThreadsFor(*l), 64 + 64 + 4 + 32 + 16 + kShortCallThreads);
  // Whatever every user's long calls hold together, the short calls keep
  // their threads.
  const int long_calls =
      static_cast<int>(l->downloads.global + l->uploads.global + l->lambda_runs.global +
                       l->execs.global + l->node_changes.global);
  EXPECT_EQ(ServerThreadsFor(*l) - long_calls, kShortCallThreads);
}

TEST(CallLimitsTest, RefusesSharesLargerThanTheirCapOrNotPositive) {
  struct Case {
    const char* what;
    void (*set)(Config&);
    int64_t runner_max;
    const char* expect_in_message;
  };
  const Case cases[] = {
      {"per-user downloads above the cap",
       [](Config& c) { c.daemon.max_concurrent_downloads_per_user = 65; }, 4,
       "max_concurrent_downloads"},
      {"no downloads at all", [](Config& c) { c.daemon.max_concurrent_downloads = 0; }, 4,
       "max_concurrent_downloads"},
      {"per-user uploads of zero", [](Config& c) { c.daemon.max_concurrent_uploads_per_user = 0; },
       4, "max_concurrent_uploads"},
      {"lambda share above the runner", [](Config& c) { c.lambda.max_concurrent_per_user = 5; }, 4,
       "lambda.max_concurrent"},
      {"negative exec share", [](Config& c) { c.nodes.max_concurrent_execs_per_user = -1; }, 4,
       "max_concurrent_execs"},
      {"node changes share above the cap",
       [](Config& c) { c.nodes.max_concurrent_changes_per_user = 17; }, 4,
       "max_concurrent_changes"},
      {"a cap no thread pool should have",
       [](Config& c) { c.nodes.max_concurrent_execs = 1'000'000; }, 4, "holds a thread"},
  };
  for (const Case& c : cases) {
    Config config;
    c.set(config);
    Result<CallLimits> l = CallLimitsFromConfig(config, c.runner_max);
    ASSERT_FALSE(l.ok()) << c.what;
    EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(l.status().message().find(c.expect_in_message), std::string::npos)
        << c.what << ": " << l.status().message();
  }
}

TEST(CallAdmissionTest, EachKindCountsOnItsOwn) {
  CallLimits limits;
  limits.downloads = {2, 1};
  limits.execs = {2, 1};
  CallAdmission admission(limits);
  Result<UserSlots::Lease> download = admission.downloads.TryAcquire("alice");
  ASSERT_TRUE(download.ok());
  EXPECT_FALSE(admission.downloads.TryAcquire("alice").ok());
  // A download held takes nothing from alice's execs.
  Result<UserSlots::Lease> exec = admission.execs.TryAcquire("alice");
  EXPECT_TRUE(exec.ok());
  Result<UserSlots::Lease> refused = admission.execs.TryAcquire("alice");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kRateLimited);
  EXPECT_NE(refused.status().message().find("execs"), std::string::npos);
}

}  // namespace
}  // namespace nexus::daemon
