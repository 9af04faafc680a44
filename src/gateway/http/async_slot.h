// AsyncSlot: hands one value from any thread to a coroutine waiting on an
// Asio executor. The gRPC clients use it (through AwaitedTag,
// completion_queue_threads.h) to turn an operation's completion, which
// arrives on a completion-queue thread, into a co_await-able result: the
// waiter's handler is posted back to its own executor, with a work guard
// keeping that executor's io_context alive meanwhile (posting_resumer.h);
// no thread blocks.
//
// One producer value at a time and at most one waiter: Set, then Take (in
// either order), then the slot is empty again and reusable. Set and Take are
// safe to call from different threads.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cassert>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "gateway/http/http_types.h"
#include "gateway/http/posting_resumer.h"

namespace nexus::gateway {

template <typename T>
class AsyncSlot {
 public:
  // Stores `value` and resumes the waiter, if there is one.
  void Set(T value) {
    std::function<void()> resume;
    {
      std::lock_guard lock(mu_);
      assert(!value_.has_value());
      value_.emplace(std::move(value));
      resume = std::move(resume_);
      resume_ = nullptr;
    }
    if (resume) resume();
  }

  // Waits until a value is set (returns at once if one already is) and takes
  // it out.
  asio::awaitable<T> Take() {
    // GCC 12 mishandles a braced temporary inside a co_await expression
    // (grpc_call.h): a named initiation.
    Initiation initiation{this};
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(std::move(initiation),
                                                                          asio::use_awaitable);
    std::lock_guard lock(mu_);
    T out = std::move(*value_);
    value_.reset();
    co_return out;
  }

 private:
  struct Initiation {
    AsyncSlot* slot;

    template <typename Handler>
    void operator()(Handler handler) {
      std::function<void()> resume = PostingResumer(std::move(handler));
      {
        std::lock_guard lock(slot->mu_);
        if (!slot->value_.has_value()) {
          slot->resume_ = std::move(resume);
          return;
        }
      }
      resume();
    }
  };

  std::mutex mu_;
  std::optional<T> value_;        // guarded by mu_
  std::function<void()> resume_;  // guarded by mu_: the waiter, if any
};

}  // namespace nexus::gateway
