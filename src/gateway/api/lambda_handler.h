// POST /api/lambda/run: runs a snippet in a throw-away sandbox through
// nexusd's RunLambda.
//
// Request (field names case-insensitive): {"Code": string, "Runtime": string,
// "Stdin"?: string, "TimeoutMs"?: int, "MemoryMb"?: int}; nexusd checks the
// values (400). The route accepts a body of up to kLambdaMaxBodyBytes, more
// than other JSON routes: code and stdin may be 1 MiB each.
// Answer: {"stdout","stderr" (UTF-8, invalid bytes replaced by U+FFFD),
// "exit_code","execution_time_ms","signal" (null or e.g. "SIGKILL"),
// "timed_out","oom_killed","stdout_truncated","stderr_truncated"}.
// A 503 from the sandbox runner reads "lambda is unavailable on this host
// (needs root and runc)": its own message may name host paths.
// `daemon` and `req` must outlive the returned coroutine. Thread-safe.
#pragma once

#include <cstdint>

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

inline constexpr int64_t kLambdaMaxBodyBytes = 2 * 1024 * 1024 + 256 * 1024;

asio::awaitable<Result<Response>> LambdaRunHandler(DaemonClient& daemon, Request& req);

}  // namespace nexus::gateway
