// WorkerPool: a fixed set of threads running queued tasks.
//
// nexus-auth runs its slow requests (argon2, SMTP) here, so that a burst of
// them runs a few at a time and the rest wait their turn in a bounded queue
// (the gRPC thread of each one waits with it). When the queue is full,
// TrySubmit refuses and the caller answers "overloaded" at once instead of
// letting latency grow without limit. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nexus::auth {

class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued);
  // Shutdown().
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false when the queue is full or the pool is shut down.
  // A queued task is always run, even by Shutdown.
  bool TrySubmit(std::function<void()> task);

  // The most tasks the pool holds at once: running plus queued.
  size_t capacity() const { return thread_count_ + max_queued_; }
  // Tasks waiting for a thread now (for tests and diagnostics).
  size_t queued() const;

  // Stops accepting tasks, runs the ones already queued, joins the threads.
  // Idempotent; call from one thread (the owner), never from a task.
  void Shutdown();

 private:
  void Run();

  const size_t thread_count_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace nexus::auth
