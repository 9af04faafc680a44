// Bridging gRPC unary calls into Asio coroutines, for the backend clients
// (auth_client.cc, daemon_client.cc) only.
//
// The one way the gateway calls a backend: the gRPC callback API, completed
// through asio::async_initiate. The call runs on gRPC's own threads; its
// completion is posted back to the awaiting coroutine's executor, so no I/O
// thread ever blocks and no thread is made per request. The handler is kept in
// a shared_ptr (gRPC wants a copyable std::function) next to a work guard that
// keeps the io_context running until the call completes. Every call carries a
// deadline and no wait_for_ready, so a dead backend fails fast.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/result.h"
#include "gateway/http_types.h"

namespace nexus::gateway {

// A channel to `target` that retries a lost connection quickly (100 ms to
// 1 s backoff), so a restarted backend is back within about a second.
// `max_receive_message_bytes`: 0 keeps gRPC's default (4 MiB), -1 is no limit.
std::shared_ptr<grpc::Channel> MakeBackendChannel(const std::string& target,
                                                  int max_receive_message_bytes = 0);

// The Status for a failed call. A status the service sent on purpose (with
// Nexus details) passes through; a bare transport or library failure is
// logged and reduced to a message without internals: "<service> service
// unavailable" for kUnavailable.
Status BackendError(const char* service, const char* method, const grpc::Status& status);

namespace internal {

template <typename Req, typename Resp>
struct UnaryCallState {
  grpc::ClientContext context;
  Req request;
  Resp response;
  grpc::Status status;
};

// The async_initiate initiation: starts the call, and on completion posts the
// coroutine's handler to its own executor.
template <typename Req, typename Resp, typename Start>
struct StartUnaryCall {
  std::shared_ptr<UnaryCallState<Req, Resp>> state;
  Start start;

  template <typename Handler>
  void operator()(Handler handler) {
    auto executor = asio::get_associated_executor(handler);
    struct Pending {
      Handler handler;
      asio::executor_work_guard<decltype(executor)> work;
    };
    auto pending =
        std::make_shared<Pending>(Pending{std::move(handler), asio::make_work_guard(executor)});
    auto st = state;
    start(&st->context, &st->request, &st->response,
          std::function<void(grpc::Status)>([st, pending](grpc::Status s) {
            st->status = std::move(s);
            auto ex = pending->work.get_executor();
            asio::post(ex, [pending]() mutable {
              pending->work.reset();
              std::move(pending->handler)();
            });
          }));
  }
};

}  // namespace internal

// Runs one unary call. `start(context, request*, response*, callback)` must
// begin it with the stub's callback API, e.g.
//   stub->async()->Health(ctx, req, resp, std::move(callback));
// `service` and `method` are literals naming the call in errors and logs.
template <typename Resp, typename Req, typename Start>
asio::awaitable<Result<Resp>> UnaryCall(Start start, Req request, std::chrono::milliseconds timeout,
                                        const char* service, const char* method) {
  auto state = std::make_shared<internal::UnaryCallState<Req, Resp>>();
  state->request = std::move(request);
  state->context.set_deadline(std::chrono::system_clock::now() + timeout);
  // GCC 12 destroys a braced aggregate temporary written inside a co_await
  // expression twice (a shared_ptr in it is released early): build the
  // initiation as a named local first.
  internal::StartUnaryCall<Req, Resp, Start> initiation{state, std::move(start)};
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(std::move(initiation),
                                                                        asio::use_awaitable);
  if (!state->status.ok()) co_return BackendError(service, method, state->status);
  co_return std::move(state->response);
}

}  // namespace nexus::gateway
