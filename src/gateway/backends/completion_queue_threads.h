// How the gateway's gRPC clients learn that a call's operation completed: a
// completion queue drained by threads of our own, each blocked in
// CompletionQueue::Next(), whose tags hand the result to an awaiting
// coroutine.
//
// Why not gRPC's callback API (stub->async(), reactors): the Debian gRPC
// (1.51) has no background poller on Linux, so it runs every callback on two
// shared "nexting" threads that poll with a 1 s deadline and, when that
// passes without an event, sleep 100 ms before polling again. An idle
// process therefore stops polling for 100 ms of every ~1.1 s, and a request
// arriving then waits for it: 65-90 ms added to about one request in ten
// when requests come a fraction of a second apart. A thread in Next() has no
// such sleep: it is always a poller, and wakes as soon as the socket has
// data. (gRPC's src/cpp/common/completion_queue_cc.cc, CallbackAlternativeCQ;
// nexus-auth and nexusd serve with the sync API for the same reason.)
//
// A CompletionTag is what goes on the queue; an AwaitedTag is one that a
// coroutine co_awaits and that keeps its owner alive until it completed (a
// call's state must outlive every operation it started, even when the
// coroutine that started them has gone). Thread-safe as gRPC's queue is.
#pragma once

#include <grpcpp/completion_queue.h>

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/http/async_slot.h"

namespace nexus::gateway {

// Something to run when an operation started with `this` as its tag ends.
class CompletionTag {
 public:
  // Runs on a queue thread: must not block.
  virtual void Complete(bool ok) = 0;

 protected:
  ~CompletionTag() = default;
};

// A tag whose outcome (gRPC's `ok`) a coroutine waits for with Wait().
// Arm(owner) before starting each operation: the tag then holds `owner`
// until the operation completed.
class AwaitedTag final : public CompletionTag {
 public:
  void* Arm(std::shared_ptr<void> owner) {
    owner_ = std::move(owner);
    return this;
  }
  // The waiter resumes on its own executor (async_slot.h), which also
  // brings back its request id (gateway/http/request_executor.h).
  asio::awaitable<bool> Wait() { return outcome_.Take(); }

  void Complete(bool ok) override {
    // The waiter may destroy the owner (and this tag) once it resumed:
    // release the reference only after the hand-over, from this frame.
    std::shared_ptr<void> owner = std::move(owner_);
    outcome_.Set(ok);
  }

 private:
  std::shared_ptr<void> owner_;
  AsyncSlot<bool> outcome_;
};

// A completion queue and the threads that drain it. The destructor shuts the
// queue down and joins the threads once every started operation completed,
// so it must run after the calls using the queue ended.
class CompletionQueueThreads {
 public:
  explicit CompletionQueueThreads(int threads);
  ~CompletionQueueThreads();
  CompletionQueueThreads(const CompletionQueueThreads&) = delete;
  CompletionQueueThreads& operator=(const CompletionQueueThreads&) = delete;

  grpc::CompletionQueue* queue() { return &queue_; }

 private:
  grpc::CompletionQueue queue_;
  std::vector<std::thread> threads_;
};

}  // namespace nexus::gateway
