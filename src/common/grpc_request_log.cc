#include "common/grpc_request_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

#include "common/logging.h"

namespace nexus {
namespace {

using grpc::experimental::InterceptionHookPoints;

// A sane id only, as the gateway makes sure; anything else is not logged.
std::string SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return "";
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\') return "";
  }
  return std::string(id);
}

class RequestLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit RequestLogInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method()), started_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      if (auto* md = methods->GetRecvInitialMetadata()) {
        auto it = md->find(kRequestIdMetadataKey);
        if (it != md->end()) {
          request_id_ = SaneRequestId(std::string_view(it->second.data(), it->second.size()));
        }
      }
      // The serving thread runs the handler next: its lines carry the id.
      SetCurrentRequestId(request_id_);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      LogEnd(methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  void LogEnd(const grpc::Status& status) {
    const auto level = status.ok() ? spdlog::level::debug : spdlog::level::info;
    if (!spdlog::default_logger_raw()->should_log(level)) return;
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    const int code = static_cast<int>(status.error_code());
    RequestIdScope scope(request_id_);
    spdlog::log(level, "rpc {} code={} {:.2f}ms request_id={}", method_ ? method_ : "?", code, ms,
                request_id_.empty() ? "-" : request_id_);
  }

  const char* method_;
  const std::chrono::steady_clock::time_point started_;
  std::string request_id_;
};

class RequestLogFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RequestLogInterceptor(info);
  }
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RequestLogInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<RequestLogFactory>());
  return out;
}

}  // namespace nexus
