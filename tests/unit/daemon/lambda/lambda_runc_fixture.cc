#include "unit/daemon/lambda/lambda_runc_fixture.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

namespace fs = std::filesystem;

std::string RandomInstance() {
  std::mt19937 rng{std::random_device{}()};
  const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name = "t";
  for (int i = 0; i < 8; ++i) name += alphabet[rng() % 36];
  return name;
}

std::vector<std::string> CgroupDirsNamed(const std::string& name) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it("/sys/fs/cgroup", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it.depth() > 3) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (it->path().filename().string().find(name) != std::string::npos) {
      found.push_back(it->path().string());
      it.disable_recursion_pending();
    }
  }
  return found;
}

int64_t MillisSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

void LambdaRuncTest::SetUp() {
  std::string why;
  if (::geteuid() != 0) why = "not root";
  runc_ = FindExecutable("runc");
  if (why.empty() && runc_.empty()) why = "runc is not installed";
  if (!why.empty()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "lambda needs root and runc: " << why;
    GTEST_SKIP() << "lambda needs root and runc: " << why;
  }
  data_ = std::make_unique<testing::TempDir>("nexus-lambda-test");
  data_dir_ = data_->path();
  config_.data_dir = data_dir_;
  // Apart from the data dir, as /run/nexus-<instance> is in production.
  run_ = std::make_unique<testing::TempDir>("nexus-lambda-run");
  runtime_dir_ = run_->path();
  config_.runtime_dir = runtime_dir_;
  config_.instance = RandomInstance();
  config_.lambda.pool_size = 0;
  config_.lambda.init_path = NEXUS_LAMBDA_INIT_PATH;
}

void LambdaRuncTest::TearDown() {
  if (data_ == nullptr) return;
  const bool had_runner = runner_ != nullptr;
  runner_.reset();  // stops the pool, removes the cgroup parent and its directory
  if (had_runner) {
    EXPECT_FALSE(fs::exists(runtime_dir_)) << "the runtime directory was left";
  }
  std::error_code ec;
  if (fs::is_directory(runtime_dir_ + "/lambda")) {
    EXPECT_TRUE(fs::is_empty(runtime_dir_ + "/lambda", ec)) << "bundle directories left behind";
  }
  const std::string root = runtime_dir_ + "/lambda/runc";
  auto processes = NewPosixProcessRunner();
  RuncRuntime runc({runc_, root, 10000, nullptr}, *processes);
  auto list = runc.List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> left;
  for (const auto& c : *list) {
    left.push_back(c.id);
    (void)runc.Destroy(c.id);
  }
  EXPECT_TRUE(left.empty()) << "containers left in the runc root: " << left.size();
  auto cgroups = MakeCgroupFs(kCgroupAuto);
  ASSERT_TRUE(cgroups.ok());
  const std::string parent = "/nexus-" + config_.instance + "-lambda";
  EXPECT_FALSE((*cgroups)->Exists(parent)) << "cgroup " << parent << " left behind";
  (void)(*cgroups)->RemoveTree(parent);
  // The TempDirs go with the fixture.
}

LambdaRunner& LambdaRuncTest::Runner() {
  if (!runner_) {
    auto r = LambdaRunner::ForHost(config_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    runner_ = std::move(r).value();
  }
  return *runner_;
}

LambdaResult LambdaRuncTest::MustRun(LambdaRequest request) {
  auto result = Runner().Run(request);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : LambdaResult{};
}

LambdaResult LambdaRuncTest::Python(const std::string& code, const std::string& stdin_data,
                                    int64_t timeout_ms) {
  return MustRun(Req(code, "python3", stdin_data, timeout_ms, 0));
}

}  // namespace nexus::daemon::runtime
