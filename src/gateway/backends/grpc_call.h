// Bridging gRPC unary calls into Asio coroutines, for the backend clients
// (auth_client.cc, daemon_client.cc, daemon_streams.cc) only.
//
// The one way the gateway calls a backend: gRPC's completion-queue API on a
// queue drained by threads of the client's own (completion_queue_threads.h
// says why not the callback API). The call's completion is posted back to
// the awaiting coroutine's executor, so no I/O thread ever blocks and no
// thread is made per request; a work guard keeps the io_context running
// until the call completes. Every call carries a deadline and no
// wait_for_ready, so a dead backend fails fast.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/async_unary_call.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "common/result.h"
#include "gateway/backends/completion_queue_threads.h"
#include "gateway/http/http_types.h"
#include "gateway/metrics/http_metrics.h"

namespace nexus::gateway {

// How many bytes each call's response stream may have in flight towards us
// (its HTTP/2 window), fixed: see MakeBackendChannel.
inline constexpr int kStreamWindowBytes = 8 << 20;

// A channel to `target` that retries a lost connection quickly (100 ms to
// 1 s backoff), so a restarted backend is back within about a second.
// `max_receive_message_bytes`: 0 keeps gRPC's default (4 MiB), -1 is no limit.
// `credentials`: TLS for a TCP target (grpc_tls.h); null: none (a Unix socket).
std::shared_ptr<grpc::Channel> MakeBackendChannel(
    const std::string& target, int max_receive_message_bytes = 0,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// The Status for a failed call. A status the service sent on purpose (with
// Nexus details) passes through; a bare transport or library failure is
// logged and reduced to a message without internals: "<service> service
// unavailable" for kUnavailable, with Reason::kBackendDown.
Status BackendError(const char* service, const char* method, const grpc::Status& status);

// Observes a finished call's latency, and counts it as an error when it
// failed for a reason other than its request (unavailable, deadline, internal).
void RecordBackendCall(BackendCallSeries& series, std::chrono::steady_clock::time_point started,
                       const grpc::Status& status);

// The figures of one streaming call: one observation, from its start to its
// final status, counted as RecordBackendCall counts a unary call. A stream
// the gateway cancels itself (its client went away or broke its body) ends
// when it is cancelled, and is no backend error. Only the first Finished or
// Cancelled counts. Without a series it records nothing. Driven by the
// call's coroutine: not thread-safe.
class StreamCallRecord {
 public:
  explicit StreamCallRecord(BackendCallSeries* series)
      : series_(series), started_(std::chrono::steady_clock::now()) {}
  void Finished(const grpc::Status& status);
  void Cancelled();

 private:
  BackendCallSeries* series_;
  std::chrono::steady_clock::time_point started_;
  bool recorded_ = false;
};

// Sends the thread's request id (logging.h), if it has one, with the call
// of `context`: what lets nexus-auth and nexusd log a call under the HTTP
// request it serves. Call before the call starts.
void AddRequestIdMetadata(grpc::ClientContext& context);

namespace internal {

template <typename Req, typename Resp>
struct UnaryCallState {
  grpc::ClientContext context;
  Req request;
  Resp response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> reader;
  AwaitedTag finished;
};

}  // namespace internal

// A generated stub's completion-queue preparer of one unary method, e.g.
// &Files::Stub::PrepareAsyncListFiles.
template <typename Stub, typename Req, typename Resp>
using PrepareUnary = std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> (Stub::*)(
    grpc::ClientContext*, const Req&, grpc::CompletionQueue*);

// Runs one unary call of `prepare` on `stub` (which must outlive the call)
// on `queue`: one line per RPC in a client. `service` and `method` are
// literals naming the call in errors and logs. `series`, when set, gets
// the call's latency and, when it failed, an error.
template <typename Stub, typename Req, typename Resp>
asio::awaitable<Result<Resp>> StubCall(Stub& stub, PrepareUnary<Stub, Req, Resp> prepare,
                                       grpc::CompletionQueue* queue, Req request,
                                       std::chrono::milliseconds timeout, const char* service,
                                       const char* method, BackendCallSeries* series = nullptr) {
  const auto started = std::chrono::steady_clock::now();
  auto state = std::make_shared<internal::UnaryCallState<Req, Resp>>();
  state->request = std::move(request);
  state->context.set_deadline(std::chrono::system_clock::now() + timeout);
  AddRequestIdMetadata(state->context);
  state->reader = (stub.*prepare)(&state->context, state->request, queue);
  state->reader->StartCall();
  state->reader->Finish(&state->response, &state->status, state->finished.Arm(state));
  // A unary call's Finish always completes with ok: the status tells.
  co_await state->finished.Wait();
  if (series) RecordBackendCall(*series, started, state->status);
  if (!state->status.ok()) co_return BackendError(service, method, state->status);
  co_return std::move(state->response);
}

}  // namespace nexus::gateway
