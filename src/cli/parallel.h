// Runs a list of transfers on N worker threads, each with its own
// HttpClient (curl easy handle and connection): `-j N`. Workers take the
// next job from a shared counter; a failed job is reported through
// `on_failure` and the others go on; after Ctrl-C no new job starts.
// The returned Status is the first failure (Ctrl-C wins), or Ok.
//
// A job the server refuses with 429 (the user's share of uploads or
// downloads at once is taken, e.g. by another client) is run again after a
// wait that doubles each time, so `-j` above the server's share still
// finishes. The job must be safe to run again (it reopens what it reads).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "cli/http_client.h"
#include "common/status.h"

namespace nexus::cli {

using ClientFactory = std::function<std::unique_ptr<HttpClient>()>;
using Job = std::function<Status(size_t index, HttpClient& client)>;

struct RetryPolicy {
  int max_retries = 8;
  std::chrono::milliseconds first_wait{250};
  std::chrono::milliseconds max_wait{4000};
};

Status RunParallel(size_t job_count, int workers, const ClientFactory& make_client, const Job& job,
                   const std::function<void(size_t index, const Status&)>& on_failure,
                   const RetryPolicy& retry = RetryPolicy());

// What the user reads at the end of a run whose `failures` were each shown
// as they happened: a lone job's failure with `lone_context` in front, else
// only how many failed. Ok and Ctrl-C pass through.
Status SummarizeFailures(const Status& first_failure, size_t failures, size_t job_count,
                         const std::string& lone_context);

}  // namespace nexus::cli
