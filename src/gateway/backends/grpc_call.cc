#include "gateway/backends/grpc_call.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <spdlog/spdlog.h>

#include "common/grpc_status.h"
#include "common/logging.h"

namespace nexus::gateway {

std::shared_ptr<grpc::Channel> MakeBackendChannel(
    const std::string& target, int max_receive_message_bytes,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  if (max_receive_message_bytes != 0) args.SetMaxReceiveMessageSize(max_receive_message_bytes);
  // gRPC's default reconnect backoff grows to two minutes; a backend that
  // restarts must be usable again within a second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Every /api request costs one call, so the per-call filter stack matters:
  // keep only the essential filters, but still enforce deadlines client-side
  // (a hung backend must become a 503, never a hang). Retries are off: a call
  // that failed is answered as such rather than held for another try.
  args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
  args.SetInt(GRPC_ARG_ENABLE_DEADLINE_CHECKS, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // Each stream may have kStreamWindowBytes in flight from the backend,
  // fixed (what matters for downloads; other calls' answers are small). gRPC's default window
  // starts at 64 KiB and, with BDP probing, grows without a bound we set; grown past ~16 MiB the
  // received slices churned the heap (glibc trimmed and re-faulted it: 5-7 s of CPU for a 1 GiB
  // download instead of 0.7). Fixed at 8 MiB, a download keeps nexusd's sends large and the
  // gateway's memory per download bounded.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(target, credentials, args);
}

Status BackendError(const char* service, const char* method, const grpc::Status& status) {
  Status s = FromGrpcStatus(status);
  if (!status.error_details().empty()) return s;
  spdlog::warn("{} {}: grpc code {}: {}", service, method, static_cast<int>(status.error_code()),
               status.error_message());
  switch (s.code()) {
    case StatusCode::kUnavailable:
      if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        return UnavailableError(std::string(service) + " service unavailable (timed out)")
            .set_reason(Reason::kBackendDown);
      }
      return UnavailableError(std::string(service) + " service unavailable")
          .set_reason(Reason::kBackendDown);
    case StatusCode::kRateLimited:
      // A bare RESOURCE_EXHAUSTED is gRPC's own refusal when a server has
      // no thread left for the call ("Server Threadpool Exhausted"): the
      // service is busy, which is not the caller's rate.
      return UnavailableError(std::string(service) + " service is busy; retry shortly")
          .set_retry_after_seconds(1)
          .set_reason(Reason::kBackendDown);
    case StatusCode::kUnimplemented:
      return UnimplementedError(std::string(service) + " service does not implement " + method);
    case StatusCode::kInternal:
      return InternalError(std::string(service) + " " + method + ": " + status.error_message());
    default:
      // A service that answered with a plain gRPC code meant its message for
      // the caller (e.g. UNAUTHENTICATED "invalid token").
      return s;
  }
}

}  // namespace nexus::gateway

namespace nexus::gateway {

void RecordBackendCall(BackendCallSeries& series, std::chrono::steady_clock::time_point started,
                       const grpc::Status& status) {
  series.latency->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::CANCELLED:
      series.errors->Inc();
      break;
    default:
      break;
  }
}

void StreamCallRecord::Finished(const grpc::Status& status) {
  if (recorded_ || !series_) return;
  recorded_ = true;
  RecordBackendCall(*series_, started_, status);
}

void StreamCallRecord::Cancelled() {
  if (recorded_ || !series_) return;
  recorded_ = true;
  series_->latency->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
}

void AddRequestIdMetadata(grpc::ClientContext& context) {
  if (const std::string& id = CurrentRequestId(); !id.empty()) {
    context.AddMetadata(kRequestIdMetadataKey, id);
  }
}

}  // namespace nexus::gateway
