// Access log: one line per request, written when its response has been sent.
//
// Line: request id, method, path, status, response body bytes, duration in
// ms, and the username when the request was authenticated. Query parameter
// values and the Authorization header are never written (they may be
// secrets); the query shows only parameter names.
//
// Lines go to a logger of their own ("<service>.access" on stderr) whose
// sink batches writes: one write(2) per request is a measurable share of a
// request's cost. The batch is written when it reaches 32 KiB, at least once
// a second, and at exit. Without InitAccessLog, lines go to the default
// logger. Thread-safe (spdlog).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/http/http_types.h"

namespace nexus::gateway {

std::string FormatAccessLine(const Request& req, int status, uint64_t bytes, double duration_ms);
// The same as one JSON object (log_format = "json"): time, level, service,
// request_id, method, route (the pattern), user, status, bytes, duration_ms.
std::string FormatAccessJson(const Request& req, int status, uint64_t bytes, double duration_ms);

// Call once in main, after InitLogging and before serving.
void InitAccessLog(std::string_view service, std::string_view level);

void LogAccess(const Request& req, int status, uint64_t bytes, double duration_ms);

}  // namespace nexus::gateway
