// LambdaRunner: "run this snippet in a throw-away sandbox" — the domain side
// of nexusd's RunLambda (ARCHITECTURE.md "Lambda").
//
// Run() validates the request (runtime, code and stdin size, timeout and
// memory within the configured bounds), waits briefly for one of
// `max_concurrent` slots (else kRateLimited), takes a pre-started sandbox
// from the warm pool when one fits or starts a cold one (sandbox.h), runs the
// code, and destroys the sandbox — container, cgroup and bundle — whatever
// happened. Each sandbox serves exactly one run. The destructor also removes
// the instance's parent cgroup.
//
// Every host-global name carries the instance: containers are named
// "<instance>-l-<random>", cgroups live under "/nexus-<instance>-lambda", and
// the runner's files under <runtime_dir>/lambda (runtime_dir: by default
// /run/nexus-<instance>; both 0700): runc's root (runc/), the bundles (<id>/),
// the shared /etc (etc/) and a copy of nexus-lambda-init (init). A sandbox
// mounts its rootfs, /etc and init from there, so its /proc/self/mountinfo
// names no path of the data dir or of the installation. So tests and a
// running instance never collide, and CleanUpLeftovers() can remove what a
// crashed nexusd left behind without touching anything else.
//
// Latency: Run() returns as soon as the snippet has finished and its result
// (including the OOM verdict) is read; the sandbox is torn down afterwards by
// a reaper thread, still holding its concurrency slot so the number of live
// containers stays bounded. The pool keeps only sandboxes whose supervisor
// said "ready", and refills while no run is in flight (or when it is empty)
// so that starting a spare never competes with a snippet for the CPU.
//
// Code: validation, Run and the runner's directories in lambda.cc, the warm
// pool and the reaper in lambda_pool.cc, ForHost in lambda_host.cc, options
// in lambda_options.h.
//
// Thread-safe: Run() may be called from many threads at once. The runner
// owns the warm pool, its refill thread and the reaper; the destructor (call
// it when no Run() is in flight) stops them, destroys idle sandboxes and
// waits for pending teardowns.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "common/env.h"
#include "common/result.h"
#include "daemon/lambda/lambda_options.h"
#include "daemon/lambda/sandbox.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/oci_spec.h"

namespace nexus::daemon::runtime {

struct LambdaRequest {
  std::string code;
  std::string runtime;     // "python3" or "sh"
  std::string stdin_data;  // the program's stdin
  int64_t timeout_ms = 0;  // 0: the configured default
  int64_t memory_mb = 0;   // 0: the configured default
  std::string owner;       // who asked; for the log only
};

inline constexpr size_t kMaxLambdaCodeBytes = 1 << 20;
inline constexpr size_t kMaxLambdaStdinBytes = 1 << 20;
class LambdaRunner {
 public:
  // `runtime`, `cgroups` and `files` must outlive the runner. A non-ok
  // `availability` (no root, no runc) is what every Run() answers after
  // validation. `files` is where the runner's directories, the init's copy
  // and the bundles are; the real file system when null.
  LambdaRunner(LambdaOptions options, OciRuntime& runtime, CgroupFs& cgroups,
               Status availability = Status::Ok(), Env* files = nullptr);
  ~LambdaRunner();
  LambdaRunner(const LambdaRunner&) = delete;
  LambdaRunner& operator=(const LambdaRunner&) = delete;

  // The real wiring for nexusd: runc (config path or PATH) through the POSIX
  // process runner, the host's cgroups and root layout. Fails only on an
  // inconsistent config; without root or runc it returns a runner whose
  // Run() answers kUnavailable. Cleans up leftovers and fills the pool.
  static Result<std::unique_ptr<LambdaRunner>> ForHost(const Config& config);

  Result<LambdaResult> Run(const LambdaRequest& request);

  // Creates <runtime_dir> and <runtime_dir>/lambda (0700, ours, not
  // symlinks) and copies the init there (0555), which sandboxes then mount;
  // the destructor removes them again (runtime_dir only when empty). Call
  // before anything else.
  Status PrepareRuntimeDir();
  // Destroys this instance's lambda containers, bundles and cgroups (the
  // parent and anything below it) left by an earlier process. Call before the
  // first Run().
  Status CleanUpLeftovers();
  // Writes the generated /etc every sandbox mounts read-only, once, to
  // <runtime_dir>/lambda/etc (replacing a stale one), instead of into every
  // bundle; removed by the destructor. Without it each bundle has its own.
  Status PrepareSharedEtc();
  // Starts the warm pool's refill thread (no-op when pool_size is 0).
  void StartPool();

  const LambdaOptions& options() const { return options_; }
  // <runtime_dir>/lambda: bundles, runc's root, the shared /etc, the init.
  std::string lambda_dir() const;
  // "/nexus-<instance>-lambda": the parent of every sandbox cgroup.
  std::string cgroup_parent() const;
  // Sandboxes started and waiting in the pool (for tests and metrics).
  size_t idle_sandboxes();
  // Waits until the pool holds at least `n` sandboxes; false on timeout.
  bool WaitForPool(size_t n, int64_t timeout_ms);
  // Waits until every used sandbox has been torn down.
  void WaitForTeardown();

 private:
  struct Resolved {
    int64_t timeout_ms;
    int64_t memory_mb;
  };
  // A held concurrency slot; releases it when destroyed.
  class Slot {
   public:
    explicit Slot(LambdaRunner* runner) : runner_(runner) {}
    Slot(Slot&& o) noexcept : runner_(std::exchange(o.runner_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (runner_) runner_->ReleaseSlot();
    }
    // The reaper releases it instead, once the sandbox is gone.
    void Disarm() { runner_ = nullptr; }

   private:
    LambdaRunner* runner_;
  };
  // What ForHost made for the runner; tests hand in their own instead.
  struct Owned {
    std::unique_ptr<ProcessRunner> processes;
    std::unique_ptr<OciRuntime> runtime;
    std::unique_ptr<CgroupFs> cgroups;
  };

  Result<Resolved> Validate(const LambdaRequest& request) const;
  Result<Slot> AcquireSlot();
  void ReleaseSlot();
  std::unique_ptr<Sandbox> NewSandbox(int64_t memory_mb, bool pool);
  // A started sandbox with `memory_mb`: from the pool when it has one.
  Result<std::unique_ptr<Sandbox>> TakeSandbox(int64_t memory_mb);
  // Hands a used sandbox and its slot to the reaper.
  void Retire(std::unique_ptr<Sandbox> sandbox, Slot slot);
  void RefillLoop();
  void ReaperLoop();

  std::unique_ptr<Owned> owned_;  // first: destroyed last (ForHost only)
  LambdaOptions options_;
  OciRuntime& runtime_;
  CgroupFs& cgroups_;
  PosixEnv host_files_;  // what files_ is when the constructor is given none
  Env& files_;
  Status availability_;
  // The sandbox's seccomp program (SeccompProgramFd), compiled once; every
  // sandbox's init reads it. Closed by the destructor, after the last sandbox.
  int seccomp_fd_ = -1;
  std::string shared_etc_;  // set once by PrepareSharedEtc, before any sandbox
  std::string init_copy_;   // set once by PrepareRuntimeDir, before any sandbox

  std::mutex mu_;
  std::condition_variable slot_freed_;
  int64_t active_ = 0;                         // GUARDED_BY(mu_)
  std::deque<std::unique_ptr<Sandbox>> pool_;  // GUARDED_BY(mu_)
  std::condition_variable pool_changed_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread refill_;
  std::deque<std::unique_ptr<Sandbox>> retired_;  // GUARDED_BY(mu_)
  int tearing_down_ = 0;                          // GUARDED_BY(mu_)
  bool reaper_stopping_ = false;                  // GUARDED_BY(mu_)
  std::condition_variable retired_changed_;
  std::thread reaper_;  // last: started by the constructor once all else exists
};

}  // namespace nexus::daemon::runtime
