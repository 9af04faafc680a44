// Access log: one line per request, written when its response has been sent.
//
// Line: request id, method, path, status, response body bytes, duration in
// ms, and the username when the request was authenticated. Query parameter
// values and the Authorization header are never written (they may be
// secrets); the query shows only parameter names. Thread-safe (spdlog).
#pragma once

#include <cstdint>
#include <string>

#include "gateway/http_types.h"

namespace nexus::gateway {

std::string FormatAccessLine(const Request& req, int status, uint64_t bytes, double duration_ms);

void LogAccess(const Request& req, int status, uint64_t bytes, double duration_ms);

}  // namespace nexus::gateway
