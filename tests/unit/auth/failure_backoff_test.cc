#include "auth/failure_backoff.h"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace nexus::auth {
namespace {

class FailureBackoffTest : public ::testing::Test {
 protected:
  nexus::testing::FakeClock clock_;
};

TEST_F(FailureBackoffTest, AllowsTheBurstThenDoublesTheWaitUpToTheCap) {
  FailureBackoff backoff(clock_, {3, 2, 10});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(backoff.Begin("k"), 0) << i;
  EXPECT_EQ(backoff.Begin("k"), 2);
  clock_.AdvanceMillis(1500);
  EXPECT_EQ(backoff.Begin("k"), 1);  // rounds up
  clock_.AdvanceMillis(500);
  EXPECT_EQ(backoff.Begin("k"), 0);  // the fourth failure
  EXPECT_EQ(backoff.Begin("k"), 4);
  clock_.AdvanceSeconds(4);
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 8);
  clock_.AdvanceSeconds(8);
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 10);  // capped
  clock_.AdvanceSeconds(10);
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 10);
}

TEST_F(FailureBackoffTest, RefusedAttemptsCountNothing) {
  FailureBackoff backoff(clock_, {1, 5, 900});
  EXPECT_EQ(backoff.Begin("k"), 0);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(backoff.Begin("k"), 5);
  clock_.AdvanceSeconds(5);
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 10);
}

TEST_F(FailureBackoffTest, SuccessForgetsTheFailures) {
  FailureBackoff backoff(clock_, {2, 60, 900});
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_GT(backoff.Begin("k"), 0);
  clock_.AdvanceSeconds(60);
  EXPECT_EQ(backoff.Begin("k"), 0);
  backoff.Succeeded("k");
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 0);
}

TEST_F(FailureBackoffTest, KeysAreIndependent) {
  FailureBackoff backoff(clock_, {1, 60, 900});
  EXPECT_EQ(backoff.Begin("alice\n203.0.113.7"), 0);
  EXPECT_GT(backoff.Begin("alice\n203.0.113.7"), 0);
  EXPECT_EQ(backoff.Begin("alice\n198.51.100.1"), 0);
  EXPECT_EQ(backoff.Begin("bob\n203.0.113.7"), 0);
}

TEST_F(FailureBackoffTest, ADayWithoutAttemptsForgetsTheFailures) {
  FailureBackoff backoff(clock_, {1, 900, 900});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(backoff.Begin("k"), 0);
    clock_.AdvanceSeconds(900);
  }
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 900);
  clock_.AdvanceSeconds(FailureBackoff::kForgetAfterSeconds + 1);
  EXPECT_EQ(backoff.Begin("k"), 0);
  EXPECT_EQ(backoff.Begin("k"), 900);  // one failure again: the first wait
}

TEST_F(FailureBackoffTest, ParallelAttemptsCannotExceedTheBurst) {
  // Attempts are counted when they begin, so a burst sent at once gets no
  // more than the burst through, however long each attempt then takes.
  FailureBackoff backoff(clock_, {5, 60, 900});
  constexpr int kThreads = 16;
  std::atomic<int> admitted{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      if (backoff.Begin("k") == 0) ++admitted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 5);
}

TEST_F(FailureBackoffTest, ClockGoingBackwardsDoesNotRelease) {
  FailureBackoff backoff(clock_, {1, 60, 900});
  EXPECT_EQ(backoff.Begin("k"), 0);
  clock_.AdvanceSeconds(-3600);
  EXPECT_EQ(backoff.Begin("k"), 3660);
}

TEST_F(FailureBackoffTest, MemoryStaysBoundedUnderAFloodOfKeys) {
  FailureBackoff backoff(clock_, {1, 60, 900}, 100);
  for (int i = 0; i < 10'000; ++i) {
    backoff.Begin("k" + std::to_string(i));
    if (i % 7 == 0) clock_.AdvanceMillis(1);
    ASSERT_LE(backoff.size_for_test(), 100u);
  }
}

TEST_F(FailureBackoffTest, EvictsKeysBelowTheBurstBeforeSlowedOnes) {
  FailureBackoff backoff(clock_, {2, 60, 900}, 4);
  EXPECT_EQ(backoff.Begin("slowed"), 0);
  EXPECT_EQ(backoff.Begin("slowed"), 0);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(backoff.Begin("once" + std::to_string(i)), 0);
  EXPECT_EQ(backoff.Begin("once2"), 0);
  ASSERT_EQ(backoff.size_for_test(), 4u);
  EXPECT_EQ(backoff.Begin("new"), 0);  // full: the once* keys go
  EXPECT_EQ(backoff.size_for_test(), 2u);
  EXPECT_EQ(backoff.Begin("slowed"), 60);
}

}  // namespace
}  // namespace nexus::auth
