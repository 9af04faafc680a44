// The set-up every real-runc lambda test shares. Needs root and runc; skips
// with a reason otherwise, but fails when CI=true so that CI always runs it.
// Each test has its own data dir, runtime dir (real directories from
// TempDir: these tests need the kernel) and instance name, and TearDown
// checks that nothing — container, bundle, cgroup — is left.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "daemon/lambda/lambda.h"
#include "support/temp_dir.h"
#include "unit/daemon/lambda/lambda_request.h"

namespace nexus::daemon::runtime {

using SteadyClock = std::chrono::steady_clock;

// "t" and eight random letters or digits: no two tests share cgroups or
// container names.
std::string RandomInstance();

// Every directory under /sys/fs/cgroup (any hierarchy, any depth up to 3
// below its root) whose name contains `name`.
std::vector<std::string> CgroupDirsNamed(const std::string& name);

int64_t MillisSince(SteadyClock::time_point t);

class LambdaRuncTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The runner of config_, made by ForHost on first use.
  LambdaRunner& Runner();
  LambdaResult MustRun(LambdaRequest request);
  LambdaResult Python(const std::string& code, const std::string& stdin_data = "",
                      int64_t timeout_ms = 0);

  std::string runc_;
  std::unique_ptr<testing::TempDir> data_;
  std::unique_ptr<testing::TempDir> run_;
  std::string data_dir_;
  std::string runtime_dir_;
  Config config_;
  std::unique_ptr<LambdaRunner> runner_;
};

}  // namespace nexus::daemon::runtime
