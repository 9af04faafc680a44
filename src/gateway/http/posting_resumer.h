// PostingResumer: how a coroutine suspended in an Asio async operation is
// resumed from another thread. The completion (a gRPC completion-queue
// thread, or another request's coroutine) calls the returned function; it
// posts the coroutine's handler back to the coroutine's own executor, so the
// coroutine never runs on the completing thread, and holds a work guard
// meanwhile, so that executor's io_context keeps running until it does.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <utility>

#include "gateway/http/http_types.h"

namespace nexus::gateway {

// Wraps an async_initiate handler into a copyable callable that resumes it
// as above. Call it once.
template <typename Handler>
std::function<void()> PostingResumer(Handler handler) {
  auto executor = asio::get_associated_executor(handler);
  struct Pending {
    Handler handler;
    asio::executor_work_guard<decltype(executor)> work;
  };
  auto pending =
      std::make_shared<Pending>(Pending{std::move(handler), asio::make_work_guard(executor)});
  return [pending] {
    auto ex = pending->work.get_executor();
    asio::post(ex, [pending]() mutable {
      pending->work.reset();
      std::move(pending->handler)();
    });
  };
}

}  // namespace nexus::gateway
