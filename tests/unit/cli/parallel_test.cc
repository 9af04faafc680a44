#include "cli/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "cli/errors.h"

namespace nexus::cli {
namespace {

// Clients that are never used to send anything: the jobs here do no I/O.
std::unique_ptr<HttpClient> IdleClient() {
  return std::make_unique<HttpClient>("http://127.0.0.1:9", "");
}

TEST(ParallelTest, RunsEveryJobOnceOnAtMostTheGivenWorkers) {
  std::mutex mu;
  std::multiset<size_t> ran;
  std::set<std::thread::id> threads;
  Status s = RunParallel(
      50, 4, &IdleClient,
      [&](size_t i, HttpClient&) {
        std::lock_guard lock(mu);
        ran.insert(i);
        threads.insert(std::this_thread::get_id());
        return Status::Ok();
      },
      [](size_t, const Status&) { FAIL() << "no job fails"; });
  EXPECT_TRUE(s.ok());
  ASSERT_EQ(ran.size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(ran.count(i), 1u) << i;
  EXPECT_LE(threads.size(), 4u);
}

TEST(ParallelTest, FailuresAreReportedAndTheOthersStillRun) {
  std::atomic<int> ok{0};
  std::vector<size_t> failed;
  std::mutex mu;
  Status s = RunParallel(
      10, 3, &IdleClient,
      [&](size_t i, HttpClient&) {
        if (i % 5 == 0) return NotFoundError("job " + std::to_string(i));
        ++ok;
        return Status::Ok();
      },
      [&](size_t i, const Status&) {
        std::lock_guard lock(mu);
        failed.push_back(i);
      });
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(failed.size(), 2u);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "2 of 10 transfers failed");
}

TEST(ParallelTest, OneFailureKeepsItsOwnMessage) {
  Status s = RunParallel(
      3, 1, &IdleClient,
      [](size_t i, HttpClient&) { return i == 1 ? NotFoundError("no such file") : Status::Ok(); },
      [](size_t, const Status&) {});
  EXPECT_EQ(s.message(), "no such file");
}

}  // namespace
}  // namespace nexus::cli

namespace nexus::cli {
namespace {

TEST(ParallelTest, RateLimitedJobsAreRunAgainUntilTheyPass) {
  std::atomic<int> calls{0};
  RetryPolicy no_wait{8, std::chrono::milliseconds(0), std::chrono::milliseconds(0)};
  Status s = RunParallel(
      1, 1, &IdleClient,
      [&](size_t, HttpClient&) {
        return ++calls < 3 ? RateLimitedError("too many uploads at once", 1) : Status::Ok();
      },
      [](size_t, const Status&) { FAIL() << "retried into success"; }, no_wait);
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls.load(), 3);
}

TEST(ParallelTest, RateLimitedJobsGiveUpAfterTheRetries) {
  std::atomic<int> calls{0};
  RetryPolicy no_wait{2, std::chrono::milliseconds(0), std::chrono::milliseconds(0)};
  Status s = RunParallel(
      1, 1, &IdleClient,
      [&](size_t, HttpClient&) {
        ++calls;
        return RateLimitedError("too many uploads at once", 1);
      },
      [](size_t, const Status&) {}, no_wait);
  EXPECT_EQ(s.code(), StatusCode::kRateLimited);
  EXPECT_EQ(calls.load(), 3);
}

}  // namespace
}  // namespace nexus::cli

namespace nexus::cli {
namespace {

TEST(ParallelTest, SummaryNamesALoneFailureAndCountsSeveral) {
  EXPECT_EQ(SummarizeFailures(NotFoundError("gone"), 1, 1, "get '/a'").message(), "get '/a': gone");
  Status several = SummarizeFailures(NotFoundError("gone"), 2, 5, "get '/a'");
  EXPECT_EQ(several.code(), StatusCode::kNotFound);
  EXPECT_EQ(several.message(), "2 of 5 transfers failed (see above)");
  EXPECT_TRUE(SummarizeFailures(Status::Ok(), 0, 5, "x").ok());
  EXPECT_TRUE(IsInterrupted(SummarizeFailures(InterruptedError("put"), 1, 5, "x")));
}

}  // namespace
}  // namespace nexus::cli
