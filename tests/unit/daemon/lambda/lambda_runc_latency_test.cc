// Not a check: the hello-world latencies of a lambda run against the real
// runc, from a bare interpreter to a warm LambdaRunner. Disabled; see the
// test's comment for how to run it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/env.h"
#include "daemon/lambda/sandbox.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/oci_spec.h"
#include "daemon/runtime/process.h"
#include "daemon/runtime/seccomp_bpf.h"
#include "unit/daemon/lambda/lambda_runc_fixture.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;

// Not a check: prints hello-world latencies, interleaved so that machine load
// hits all alike: bare `python3 -c`, bare `runc run` of a lambda bundle (the
// same config and init, no LambdaRunner around it), LambdaRunner cold,
// then LambdaRunner warm (pool of 2, refilled between runs). Run with
// --gtest_also_run_disabled_tests --gtest_filter='*Measure*'
// (NEXUS_BENCH_RUNS=n, default 20).
TEST_F(LambdaRuncTest, DISABLED_MeasureHelloWorldLatency) {
  const int n = std::getenv("NEXUS_BENCH_RUNS") ? std::atoi(std::getenv("NEXUS_BENCH_RUNS")) : 20;
  const char kHello[] = "print('hello from nexus')";
  auto processes = NewPosixProcessRunner();
  PosixEnv files;
  Runner();

  // A bundle like LambdaRunner's, run directly with runc.
  const std::string bundle = data_dir_ + "/bench-bundle";
  SandboxSpec spec;
  spec.args = {kSandboxInit};
  spec.env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
  spec.host = Runner().options().host;
  spec.cgroups_path = "/nexus-" + config_.instance + "-lambda/bench";
  spec.extra_mounts = {OciReadOnlyBind(NEXUS_LAMBDA_INIT_PATH, kSandboxInit, false)};
  spec.runtime_seccomp = false;  // the init installs it, as in a LambdaRunner sandbox
  ASSERT_TRUE(WriteBundle(bundle, spec).ok());
  fs::create_directories(bundle + "/rootfs/sandbox");
  std::ofstream(bundle + "/rootfs/sandbox/init").close();
  std::ofstream(bundle + "/rootfs/sandbox/main.py") << kHello;
  auto program = CompileSeccompProfile(SandboxSeccomp());
  ASSERT_TRUE(program.ok());
  auto seccomp_fd = SeccompProgramFd(*program);
  ASSERT_TRUE(seccomp_fd.ok());

  // The same config running `python3 -c` as its process, no init: what a
  // bare `runc run --keep` of it costs up to the answer.
  const std::string bare_bundle = data_dir_ + "/bench-bare";
  SandboxSpec bare_spec = spec;
  bare_spec.args = {kSandboxPython, "-c", kHello};
  bare_spec.cgroups_path = "/nexus-" + config_.instance + "-lambda/bench-bare";
  ASSERT_TRUE(WriteBundle(bare_bundle, bare_spec).ok());

  // A cold sandbox step by step (µs): writing the bundle and spawning runc;
  // runc's create and start until the init says "ready"; the order, the
  // interpreter, the code and the OOM read; the teardown.
  auto runc = std::make_unique<RuncRuntime>(RuncOptions{runc_, data_dir_ + "/runc", 10000, nullptr},
                                            *processes);
  auto cgroups = MakeCgroupFs(kCgroupAuto);
  ASSERT_TRUE(cgroups.ok());
  auto micros = [](SteadyClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t).count();
  };

  std::vector<int64_t> bare_python, bare_runc, bare_keep, cold, cold_exec;
  std::vector<int64_t> step_start, step_ready, step_run, step_destroy;
  for (int i = 0; i < n; ++i) {
    {
      SandboxOptions o;
      o.id = config_.instance + "-l-step" + std::to_string(i);
      o.bundle_dir = data_dir_ + "/lambda/" + o.id;
      o.cgroups_path = "/nexus-" + config_.instance + "-lambda/" + o.id;
      o.host = Runner().options().host;
      o.init_path = NEXUS_LAMBDA_INIT_PATH;
      o.seccomp_fd = *seccomp_fd;
      fs::create_directories(data_dir_ + "/lambda");
      Sandbox sandbox(o, *runc, **cgroups, files);
      auto t = SteadyClock::now();
      ASSERT_TRUE(sandbox.Start().ok());
      step_start.push_back(micros(t));
      t = SteadyClock::now();
      ASSERT_TRUE(sandbox.WaitReady(10000).ok());
      step_ready.push_back(micros(t));
      t = SteadyClock::now();
      SandboxRun run;
      run.runtime = "python3";
      run.code = kHello;
      auto r = sandbox.RunCode(run);
      step_run.push_back(micros(t));
      ASSERT_TRUE(r.ok() && r->stdout_data == "hello from nexus\n");
      t = SteadyClock::now();
      ASSERT_TRUE(sandbox.Destroy().ok());
      step_destroy.push_back(micros(t));
    }

    auto t = SteadyClock::now();
    SpawnOptions keep;
    keep.argv = {runc_,    "--root",   data_dir_ + "/runc", "run",
                 "--keep", "--bundle", bare_bundle,         "bench-bare"};
    auto k = processes->Run(keep, {});
    bare_keep.push_back(MillisSince(t));
    ASSERT_TRUE(k.ok() && k->stdout_data == "hello from nexus\n") << (k.ok() ? k->stderr_data : "");
    ASSERT_TRUE(runc->Delete("bench-bare").ok());

    t = SteadyClock::now();
    SpawnOptions py;
    py.argv = {kSandboxPython, "-c", kHello};
    auto p = processes->Run(py, {});
    bare_python.push_back(MillisSince(t));
    ASSERT_TRUE(p.ok() && p->stdout_data == "hello from nexus\n");

    t = SteadyClock::now();
    SpawnOptions rc;
    rc.argv = {runc_,  "--root", data_dir_ + "/runc", "run", "--preserve-fds", "4", "--bundle",
               bundle, "bench"};
    rc.control_pipe = true;
    using Kind = SpawnOptions::ExtraFd::Kind;
    rc.extra_fds = {{Kind::kStdoutPipe}, {Kind::kStderrPipe}, {Kind::kCallers, *seccomp_fd}};
    CommunicateOptions io;
    io.stdin_data = "python3 10000\n";
    auto r = processes->Run(rc, io);
    bare_runc.push_back(MillisSince(t));
    ASSERT_TRUE(r.ok() && r->stdout_data == "hello from nexus\n") << (r.ok() ? r->stderr_data : "");

    t = SteadyClock::now();
    auto l = runner_->Run(Req(kHello, "python3", "", 0, 0));
    cold.push_back(MillisSince(t));
    ASSERT_TRUE(l.ok() && l->stdout_data == "hello from nexus\n");
    cold_exec.push_back(l->execution_time_ms);
  }
  fs::remove_all(bundle);
  fs::remove_all(bare_bundle);
  ::close(*seccomp_fd);
  runner_.reset();
  config_.lambda.pool_size = 2;
  Runner();
  std::vector<int64_t> warm, warm_exec;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(runner_->WaitForPool(2, 10000));
    auto t = SteadyClock::now();
    auto l = runner_->Run(Req(kHello, "python3", "", 0, 0));
    warm.push_back(MillisSince(t));
    ASSERT_TRUE(l.ok() && l->stdout_data == "hello from nexus\n");
    warm_exec.push_back(l->execution_time_ms);
  }
  auto report = [n](const char* label, std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-28s median %4lld ms  p90 %4lld ms  min %4lld ms\n", label,
                static_cast<long long>(v[n / 2]), static_cast<long long>(v[n * 9 / 10]),
                static_cast<long long>(v[0]));
  };
  report("python3 -c (bare)", bare_python);
  report("runc run --keep python3 -c", bare_keep);
  report("runc run (bare)", bare_runc);
  report("cold step: bundle+spawn us", step_start);
  report("cold step: to ready us", step_ready);
  report("cold step: order..OOM us", step_run);
  report("cold step: teardown us", step_destroy);
  report("LambdaRunner cold", cold);
  report("  its execution_time_ms", cold_exec);
  report("LambdaRunner warm", warm);
  report("  its execution_time_ms", warm_exec);
}

}  // namespace
}  // namespace nexus::daemon::runtime
