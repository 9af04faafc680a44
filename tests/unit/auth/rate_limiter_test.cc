#include "auth/rate_limiter.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace nexus::auth {
namespace {

class RateLimiterTest : public ::testing::Test {
 protected:
  nexus::testing::FakeClock clock_;
};

TEST_F(RateLimiterTest, SecondsUntilAvailableTellsWithoutTakingATokenFromTheBucket) {
  RateLimiter limiter(clock_, {2, 30});
  EXPECT_EQ(limiter.SecondsUntilAvailable("k"), 0);  // unknown key: a full bucket
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.SecondsUntilAvailable("k"), 0) << i;
  EXPECT_EQ(limiter.Acquire("k"), 0);
  EXPECT_EQ(limiter.Acquire("k"), 0);
  EXPECT_EQ(limiter.SecondsUntilAvailable("k"), 30);
  clock_.AdvanceSeconds(29);
  EXPECT_EQ(limiter.SecondsUntilAvailable("k"), 1);
  clock_.AdvanceSeconds(1);
  EXPECT_EQ(limiter.SecondsUntilAvailable("k"), 0);
  EXPECT_EQ(limiter.Acquire("k"), 0);  // the peeks took nothing
  EXPECT_EQ(limiter.SecondsUntilAvailable("k"), 30);
}

TEST_F(RateLimiterTest, AllowsBurstThenSaysHowLongToWait) {
  RateLimiter limiter(clock_, {3, 30});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("k"), 0) << i;
  EXPECT_EQ(limiter.Acquire("k"), 30);
  clock_.AdvanceSeconds(10);
  EXPECT_EQ(limiter.Acquire("k"), 20);
  clock_.AdvanceMillis(19'500);
  EXPECT_EQ(limiter.Acquire("k"), 1);  // rounds up
  clock_.AdvanceMillis(500);
  EXPECT_EQ(limiter.Acquire("k"), 0);
  EXPECT_EQ(limiter.Acquire("k"), 30);
}

TEST_F(RateLimiterTest, RefusedRequestsTakeNothing) {
  RateLimiter limiter(clock_, {1, 10});
  EXPECT_EQ(limiter.Acquire("k"), 0);
  for (int i = 0; i < 5; ++i) EXPECT_GT(limiter.Acquire("k"), 0);
  clock_.AdvanceSeconds(10);
  EXPECT_EQ(limiter.Acquire("k"), 0);
}

TEST_F(RateLimiterTest, RefillsNoFurtherThanBurst) {
  RateLimiter limiter(clock_, {2, 10});
  clock_.AdvanceSeconds(3600);
  EXPECT_EQ(limiter.Acquire("k"), 0);
  EXPECT_EQ(limiter.Acquire("k"), 0);
  EXPECT_GT(limiter.Acquire("k"), 0);
}

TEST_F(RateLimiterTest, KeysAreIndependent) {
  RateLimiter limiter(clock_, {1, 60});
  EXPECT_EQ(limiter.Acquire("ip:1.2.3.4"), 0);
  EXPECT_GT(limiter.Acquire("ip:1.2.3.4"), 0);
  EXPECT_EQ(limiter.Acquire("ip:5.6.7.8"), 0);
}

TEST_F(RateLimiterTest, ClockGoingBackwardsDoesNotDrainOrRefill) {
  RateLimiter limiter(clock_, {1, 60});
  EXPECT_EQ(limiter.Acquire("k"), 0);
  clock_.AdvanceSeconds(-3600);
  EXPECT_EQ(limiter.Acquire("k"), 60);
}

TEST_F(RateLimiterTest, MemoryStaysBoundedUnderAFloodOfKeys) {
  RateLimiter limiter(clock_, {5, 60}, 100);
  for (int i = 0; i < 10'000; ++i) {
    limiter.Acquire("k" + std::to_string(i));
    if (i % 7 == 0) clock_.AdvanceMillis(1);
    ASSERT_LE(limiter.size_for_test(), 100u);
  }
}

TEST_F(RateLimiterTest, EvictsIdleFullBucketsBeforeBusyOnes) {
  RateLimiter limiter(clock_, {1, 60}, 4);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("idle" + std::to_string(i)), 0);
  clock_.AdvanceSeconds(60);  // the idle buckets are full again
  EXPECT_EQ(limiter.Acquire("busy"), 0);
  ASSERT_EQ(limiter.size_for_test(), 4u);

  EXPECT_EQ(limiter.Acquire("new"), 0);    // the map is full: evicts
  EXPECT_EQ(limiter.size_for_test(), 2u);  // busy and new
  EXPECT_GT(limiter.Acquire("busy"), 0);   // busy kept its empty bucket
}

TEST_F(RateLimiterTest, ZeroRefillDisablesLimiting) {
  RateLimiter limiter(clock_, {1, 0});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Acquire("k"), 0);
}

TEST_F(RateLimiterTest, ConcurrentAcquiresNeverExceedBurst) {
  RateLimiter limiter(clock_, {50, 3600});
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter.Acquire("shared") == 0) ++granted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 50);
}

}  // namespace
}  // namespace nexus::auth
