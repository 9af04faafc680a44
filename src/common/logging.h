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
// the name to nexus-auth and nexusd with each call. A thread serving a
// request's work sets it with RequestIdScope, and every line that thread
// logs meanwhile carries it, so one request is traceable across the three
// logs. Thread-local: each thread has its own.
//
// Known gap, in the gateway: many requests' coroutines share a thread, and
// the id is set only when a request is admitted, when its handler starts
// (pipeline.cc) and when a backend call resumes it
// (completion_queue_threads.h). After any other wait inside a handler (the
// socket, a timer, a transfer slot) the thread may still hold the id of the
// request that ran on it last, until the next backend call resumes this
// one. Lines logged, and calls made, in that window can carry the wrong id.
// Closing it means carrying the id with the request's executor rather than
// the thread.
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
void SetCurrentRequestId(std::string_view id);

// Sets this thread's request id for its lifetime, then restores the one before.
class RequestIdScope {
 public:
  explicit RequestIdScope(std::string_view id);
  ~RequestIdScope();
  RequestIdScope(const RequestIdScope&) = delete;
  RequestIdScope& operator=(const RequestIdScope&) = delete;

 private:
  std::string previous_;
};

}  // namespace nexus
