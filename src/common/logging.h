// Logging: one spdlog logger per process, named after the service, writing
// to stderr. Call InitLogging once in main before any thread starts; after
// that spdlog's free functions (spdlog::info, ...) are thread-safe.
// Never log secrets: passwords, OTP codes, tokens, keys.
//
// Two formats (config `log_format`): "text", a line for people; "json", one
// object a line for log collectors: {"time", "level", "service",
// "request_id" (when known), "message"}. The gateway's access lines carry
// route, status and duration_ms as fields of their own (access_log.h).
//
// The request id: the gateway names each request (X-Request-Id) and sends
// the name to nexus-auth and nexusd with each call. Work done for a request
// runs with its id as the thread's current request id, and every line the
// thread logs meanwhile carries it, so one request is traceable across the
// three logs. Thread-local: each thread has its own. In nexus-auth and
// nexusd a call's id is set as the serving thread takes the call
// (grpc_request_log.h). In the gateway many requests' coroutines share a
// thread and take turns at every wait, so the id is not set per request but
// per turn: each connection's coroutine runs on an executor that binds the
// id of the request it serves around every handler it runs
// (gateway/http/request_executor.h).
#pragma once

#include <string>
#include <string_view>

namespace nexus {

enum class LogFormat { kText, kJson };

// `format`: "text" or "json" (anything else is text; the config checks it).
void InitLogging(const std::string& service, const std::string& level,
                 const std::string& format = "text");

// As set by InitLogging: the format and the service's name.
LogFormat CurrentLogFormat();
const std::string& LogServiceName();

// `s` as the inside of a JSON string: quotes, backslashes and control bytes
// escaped; bytes that are not UTF-8 pass through.
void AppendJsonEscaped(std::string& out, std::string_view s);

// `{"time":"…","level":"…","service":"…"`: the start of a JSON log line
// (the caller appends its fields and the closing brace).
std::string JsonLogLineStart(std::string_view level);

// The gRPC metadata key that carries the request id between the services.
inline constexpr char kRequestIdMetadataKey[] = "x-request-id";

// The request id of the work this thread is doing ("" when none).
const std::string& CurrentRequestId();
// Makes a copy of `id` this thread's request id, until it is set again.
void SetCurrentRequestId(std::string_view id);

// Makes `id` this thread's request id for the scope's lifetime, then
// restores the one before. `id` is referenced, not copied (binding one costs
// two pointer writes, and the gateway binds one per resumption of a
// coroutine): it must outlive the scope, and may change meanwhile.
class RequestIdScope {
 public:
  explicit RequestIdScope(const std::string& id);
  explicit RequestIdScope(std::string&&) = delete;  // would outlive its string
  ~RequestIdScope();
  RequestIdScope(const RequestIdScope&) = delete;
  RequestIdScope& operator=(const RequestIdScope&) = delete;

 private:
  const std::string* previous_;
};

}  // namespace nexus
