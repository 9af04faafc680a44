#include "cli/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "cli/errors.h"
#include "cli/interrupt.h"

namespace nexus::cli {
namespace {

Status RunWithRetry(const Job& job, size_t index, HttpClient& client, const RetryPolicy& retry) {
  std::chrono::milliseconds wait = retry.first_wait;
  for (int attempt = 0;; ++attempt) {
    Status s = job(index, client);
    if (s.code() != StatusCode::kRateLimited || attempt >= retry.max_retries) return s;
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (InterruptRequested()) return InterruptedError("waiting to retry");
      std::this_thread::sleep_for(
          std::min<std::chrono::milliseconds>(std::chrono::milliseconds(50), retry.first_wait));
    }
    wait = std::min(wait * 2, retry.max_wait);
  }
}

}  // namespace

Status RunParallel(size_t job_count, int workers, const ClientFactory& make_client, const Job& job,
                   const std::function<void(size_t index, const Status&)>& on_failure,
                   const RetryPolicy& retry) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first_failure;  // guarded by mu
  size_t failures = 0;   // guarded by mu

  auto work = [&] {
    std::unique_ptr<HttpClient> client = make_client();
    while (!InterruptRequested()) {
      const size_t i = next.fetch_add(1);
      if (i >= job_count) return;
      Status s = RunWithRetry(job, i, *client, retry);
      if (s.ok()) continue;
      on_failure(i, s);
      std::lock_guard lock(mu);
      ++failures;
      if (first_failure.ok() || IsInterrupted(s)) first_failure = s;
    }
  };

  const size_t n = std::clamp<size_t>(static_cast<size_t>(std::max(workers, 1)), 1,
                                      std::max<size_t>(job_count, 1));
  if (n == 1) {
    work();
  } else {
    std::vector<std::jthread> threads;
    threads.reserve(n);
    for (size_t t = 0; t < n; ++t) threads.emplace_back(work);
  }
  if (InterruptRequested() && (first_failure.ok() || !IsInterrupted(first_failure))) {
    return InterruptedError("transfers stopped");
  }
  if (failures > 1) {
    return Status(first_failure.code(), std::to_string(failures) + " of " +
                                            std::to_string(job_count) + " transfers failed");
  }
  return first_failure;
}

Status SummarizeFailures(const Status& first_failure, size_t failures, size_t job_count,
                         const std::string& lone_context) {
  if (first_failure.ok() || IsInterrupted(first_failure)) return first_failure;
  if (job_count == 1) return first_failure.WithContext(lone_context);
  return Status(first_failure.code(), std::to_string(failures) + " of " +
                                          std::to_string(job_count) +
                                          " transfers failed (see above)");
}

}  // namespace nexus::cli
