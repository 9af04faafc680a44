// LambdaRunner's concurrency slots, warm pool (refill thread) and reaper
// (teardown thread).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <utility>

#include "daemon/lambda/lambda.h"
#include "daemon/lambda/lambda_dirs.h"

namespace nexus::daemon::runtime {
namespace {

// How long a pool sandbox may take to come up before it counts as broken.
constexpr int64_t kPoolStartTimeoutMs = 10000;

std::string RandomHex64() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

Result<LambdaRunner::Slot> LambdaRunner::AcquireSlot() {
  std::unique_lock<std::mutex> lock(mu_);
  bool got = slot_freed_.wait_for(lock, std::chrono::milliseconds(options_.queue_wait_ms),
                                  [this] { return active_ < options_.max_concurrent; });
  if (!got) {
    return RateLimitedError("too many lambda runs at once; try again shortly", 1);
  }
  ++active_;
  return Slot(this);
}

void LambdaRunner::ReleaseSlot() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
  }
  slot_freed_.notify_one();
  pool_changed_.notify_all();  // the refill waits for an idle moment
}

void LambdaRunner::Retire(std::unique_ptr<Sandbox> sandbox, Slot slot) {
  slot.Disarm();
  {
    std::lock_guard<std::mutex> lock(mu_);
    retired_.push_back(std::move(sandbox));
  }
  retired_changed_.notify_all();
}

void LambdaRunner::ReaperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    retired_changed_.wait(lock, [this] { return !retired_.empty() || reaper_stopping_; });
    if (retired_.empty()) return;  // stopping, and nothing left to tear down
    std::unique_ptr<Sandbox> sandbox = std::move(retired_.front());
    retired_.pop_front();
    ++tearing_down_;
    lock.unlock();
    Status s = sandbox->Destroy();
    if (!s.ok()) spdlog::warn("lambda sandbox {}: teardown: {}", sandbox->id(), s.ToString());
    sandbox.reset();
    ReleaseSlot();
    lock.lock();
    --tearing_down_;
    retired_changed_.notify_all();
  }
}

void LambdaRunner::WaitForTeardown() {
  std::unique_lock<std::mutex> lock(mu_);
  retired_changed_.wait(lock, [this] { return retired_.empty() && tearing_down_ == 0; });
}

std::unique_ptr<Sandbox> LambdaRunner::NewSandbox(int64_t memory_mb, bool pool) {
  SandboxOptions o;
  o.id = options_.instance + "-l-" + RandomHex64();
  o.bundle_dir = lambda_dir() + "/" + o.id;
  o.cgroups_path = cgroup_parent() + "/" + o.id;
  o.memory_bytes = memory_mb << 20;
  o.host = options_.host;
  o.init_path = options_.init_path;
  o.seccomp_fd = seccomp_fd_;
  o.etc_dir = shared_etc_;
  o.pool = pool;
  return std::make_unique<Sandbox>(std::move(o), runtime_, cgroups_, files_);
}

Result<std::unique_ptr<Sandbox>> LambdaRunner::TakeSandbox(int64_t memory_mb) {
  std::deque<std::unique_ptr<Sandbox>> dead;
  std::unique_ptr<Sandbox> warm;
  if (memory_mb == options_.memory_mb_default) {
    std::lock_guard<std::mutex> lock(mu_);
    while (!pool_.empty() && !warm) {
      auto s = std::move(pool_.front());
      pool_.pop_front();
      if (s->Alive()) {
        warm = std::move(s);
      } else {
        dead.push_back(std::move(s));
      }
    }
  }
  if (warm || !dead.empty()) pool_changed_.notify_all();
  dead.clear();
  if (warm) return warm;

  NEXUS_RETURN_IF_ERROR(MakeOwnPrivateDir(files_, lambda_dir()));
  auto sandbox = NewSandbox(memory_mb, /*pool=*/false);
  NEXUS_RETURN_IF_ERROR(sandbox->Start());
  return sandbox;
}

void LambdaRunner::StartPool() {
  if (options_.pool_size <= 0 || !availability_.ok() || refill_.joinable()) return;
  refill_ = std::thread([this] { RefillLoop(); });
}

size_t LambdaRunner::idle_sandboxes() {
  std::lock_guard<std::mutex> lock(mu_);
  return pool_.size();
}

bool LambdaRunner::WaitForPool(size_t n, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return pool_changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                [&] { return pool_.size() >= n; });
}

void LambdaRunner::RefillLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  int failures = 0;
  while (!stopping_) {
    const bool want =
        pool_.size() < static_cast<size_t>(options_.pool_size) && (active_ == 0 || pool_.empty());
    if (!want) {
      pool_changed_.wait(lock);
      continue;
    }
    lock.unlock();
    auto sandbox = NewSandbox(options_.memory_mb_default, /*pool=*/true);
    Status started = MakeOwnPrivateDir(files_, lambda_dir());
    if (started.ok()) started = sandbox->Start();
    if (started.ok()) started = sandbox->WaitReady(kPoolStartTimeoutMs);
    lock.lock();
    if (!started.ok()) {
      spdlog::warn("lambda pool: start sandbox: {}", started.ToString());
      lock.unlock();
      sandbox.reset();
      lock.lock();
      // Back off so a broken host does not spin; retried on the next change.
      ++failures;
      pool_changed_.wait_for(
          lock, std::chrono::milliseconds(std::min(100 << std::min(failures, 6), 5000)));
      continue;
    }
    failures = 0;
    if (stopping_) break;
    pool_.push_back(std::move(sandbox));
    pool_changed_.notify_all();
  }
  // A sandbox started while stopping is destroyed outside the lock.
  lock.unlock();
}

}  // namespace nexus::daemon::runtime
