// Runs a list of transfers on N worker threads, each with its own
// HttpClient (curl easy handle and connection): `-j N`. Workers take the
// next job from a shared counter; a failed job is reported through
// `on_failure` and the others go on; after Ctrl-C no new job starts.
// The returned Status is the first failure (Ctrl-C wins), or Ok.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "cli/http_client.h"
#include "common/status.h"

namespace nexus::cli {

using ClientFactory = std::function<std::unique_ptr<HttpClient>()>;
using Job = std::function<Status(size_t index, HttpClient& client)>;

Status RunParallel(size_t job_count, int workers, const ClientFactory& make_client, const Job& job,
                   const std::function<void(size_t index, const Status&)>& on_failure);

}  // namespace nexus::cli
