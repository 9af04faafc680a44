// The CLI's edge for errors: an HTTP answer becomes a Status (the status code
// picks the StatusCode, the message is the server's `error` text from the
// contract's `{"error": "..."}`, or a short description of the status when
// the body is not that), and a Status becomes an exit code: 0 ok, 1 error,
// 2 usage, 130 after Ctrl-C (the shell's 128 + SIGINT). Pure functions,
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace nexus::cli {

StatusCode StatusCodeFromHttp(long http_status);

// The Status for a non-2xx answer with `body`.
Status StatusFromHttpError(long http_status, std::string_view body);

// The exit code for a failed command: 2 for usage errors, 130 after Ctrl-C,
// 1 for everything else.
int ExitCodeFor(const Status& status);

// A wrong use of a command that the flag parser could not see (exit code 2).
Status UsageError(std::string message);
bool IsUsageError(const Status& status);

// A Status that says the user pressed Ctrl-C.
Status InterruptedError(std::string what);
bool IsInterrupted(const Status& status);

}  // namespace nexus::cli
