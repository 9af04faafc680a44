#include "gateway/http/transfer_floor.h"

#include <gtest/gtest.h>

#include <vector>

namespace nexus::gateway {
namespace {

using namespace std::chrono_literals;
using Clock = TransferFloor::Clock;

// One operation: it waits `wait` on the client and moves `bytes`, then
// `gap` passes with no operation (the gateway waits on nexusd).
struct Op {
  std::chrono::milliseconds wait;
  uint64_t bytes;
  std::chrono::milliseconds gap = 0ms;
};

struct Case {
  const char* name;
  int64_t floor;  // bytes per second
  std::vector<Op> ops;
  int slow_at;  // index of the op whose end finds the window short; -1: never
};

TEST(TransferFloorTest, JudgesEachCompleteWindowOfTheClientsTime) {
  const Case cases[] = {
      {"a fast body", 1000, {{1000ms, 100'000}, {1000ms, 100'000}, {1000ms, 100'000}}, -1},
      {"a byte every 900 ms",
       1000,
       {{900ms, 1}, {900ms, 1}, {900ms, 1}, {900ms, 1}},
       2},  // the window of 2 s completes in the third op
      {"exactly the floor passes", 1000, {{1000ms, 1000}, {1000ms, 1000}, {1000ms, 1000}}, -1},
      {"just under the floor fails", 1000, {{1000ms, 999}, {1000ms, 999}}, 1},
      {"shorter than a window is never judged", 1000, {{500ms, 1}, {500ms, 1}}, -1},
      {"waiting on nexusd is not the client's time",
       1000,
       {{100ms, 150, 10'000ms}, {100ms, 150, 10'000ms}, {100ms, 150, 10'000ms}},
       -1},
      {"a fast first window does not excuse a slow second",
       1000,
       {{2000ms, 1'000'000}, {1000ms, 10}, {1000ms, 10}},
       2},
      {"no floor", 0, {{5000ms, 0}, {5000ms, 0}}, -1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TransferFloor floor(c.floor, 2s);
    Clock::time_point now{};
    int slow_at = -1;
    for (size_t i = 0; i < c.ops.size(); ++i) {
      floor.OpStarted(now);
      now += c.ops[i].wait;
      floor.OpEnded(now, c.ops[i].bytes);
      if (floor.TooSlow(now) && slow_at < 0) slow_at = static_cast<int>(i);
      now += c.ops[i].gap;
    }
    EXPECT_EQ(slow_at, c.slow_at);
  }
}

TEST(TransferFloorTest, ProgressOfAPendingWriteCountsAsItHappens) {
  TransferFloor floor(1000, 2s);
  Clock::time_point now{};
  // One large write the client drains at 1500 bytes/s: checked while pending.
  floor.OpStarted(now);
  for (int i = 1; i <= 10; ++i) {
    now += 1s;
    floor.OpProgress(1500u * i);
    EXPECT_FALSE(floor.TooSlow(now)) << "after " << i << " s";
  }
  // The client stops taking anything: the next complete window is short.
  now += 1s;
  EXPECT_FALSE(floor.TooSlow(now));  // half a window: not judged yet
  now += 1s;
  EXPECT_TRUE(floor.TooSlow(now));
}

TEST(TransferFloorTest, AStalledOperationIsCaughtWhilePending) {
  TransferFloor floor(1000, 2s);
  Clock::time_point now{};
  floor.OpStarted(now);
  now += 1s;
  EXPECT_FALSE(floor.TooSlow(now));
  now += 1s;
  EXPECT_TRUE(floor.TooSlow(now));
}

TEST(TransferFloorTest, ResetForgetsTheLastBody) {
  TransferFloor floor(1000, 2s);
  Clock::time_point now{};
  floor.OpStarted(now);
  now += 1900ms;
  floor.OpEnded(now, 0);
  EXPECT_FALSE(floor.TooSlow(now));
  floor.Reset();
  floor.OpStarted(now);
  now += 1900ms;
  floor.OpEnded(now, 10'000);
  EXPECT_FALSE(floor.TooSlow(now));  // 1.9 s of the new body only
}

}  // namespace
}  // namespace nexus::gateway
