#include "daemon/rpc/stream_watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace nexus::daemon {
namespace {

using namespace std::chrono_literals;
using SteadyClock = StreamWatchdog::SteadyClock;

TEST(StreamWatchdogTest, CancelsOnlyWhatWaitedLongerThanTheTimeoutAndOnlyOnce) {
  struct Case {
    const char* name;
    bool waiting;                     // a Read or Write is pending
    std::chrono::milliseconds later;  // when the check runs, after Waiting()
    int cancels;                      // expected calls of the cancel function
  };
  const Case cases[] = {
      {"waiting past the timeout", true, 10'001ms, 1},
      {"waiting exactly the timeout", true, 10'000ms, 1},
      {"waiting less than the timeout", true, 9'000ms, 0},
      {"between messages, however long", false, 3'600'000ms, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    StreamWatchdog dog(10s, /*start_thread=*/false);
    int cancels = 0;
    StreamWatchdog::Watch watch = dog.Register([&] { ++cancels; });
    const auto start = SteadyClock::now();
    watch.Waiting();
    if (!c.waiting) watch.Done();
    dog.CheckAt(start + c.later);
    dog.CheckAt(start + c.later + 1s);  // a second look cancels nothing more
    EXPECT_EQ(cancels, c.cancels);
    EXPECT_EQ(watch.fired(), c.cancels > 0);
  }
}

TEST(StreamWatchdogTest, EachMessageStartsTheWaitAfresh) {
  StreamWatchdog dog(10s, /*start_thread=*/false);
  int cancels = 0;
  StreamWatchdog::Watch watch = dog.Register([&] { ++cancels; });
  // A slow but steady stream: each message waited 6 s, 60 s in all.
  for (int i = 0; i < 10; ++i) {
    watch.Waiting();
    dog.CheckAt(SteadyClock::now() + 6s);
    watch.Done();
  }
  EXPECT_EQ(cancels, 0);
}

TEST(StreamWatchdogTest, OnlyTheIdleWatchIsCancelled) {
  StreamWatchdog dog(1s, /*start_thread=*/false);
  int idle_cancels = 0;
  int busy_cancels = 0;
  StreamWatchdog::Watch idle = dog.Register([&] { ++idle_cancels; });
  StreamWatchdog::Watch busy = dog.Register([&] { ++busy_cancels; });
  EXPECT_EQ(dog.watched(), 2u);
  idle.Waiting();
  const auto at = SteadyClock::now() + 2s;
  busy.Waiting();
  busy.Done();
  dog.CheckAt(at);
  EXPECT_EQ(idle_cancels, 1);
  EXPECT_EQ(busy_cancels, 0);
}

TEST(StreamWatchdogTest, AWatchGoneIsNeverCancelled) {
  StreamWatchdog dog(1s, /*start_thread=*/false);
  int cancels = 0;
  {
    StreamWatchdog::Watch watch = dog.Register([&] { ++cancels; });
    watch.Waiting();
    EXPECT_EQ(dog.watched(), 1u);
  }
  EXPECT_EQ(dog.watched(), 0u);
  dog.CheckAt(SteadyClock::now() + 1h);
  EXPECT_EQ(cancels, 0);
}

TEST(StreamWatchdogTest, ItsThreadCancelsAStalledWaitOnItsOwn) {
  // The one test on real time: the thread, not CheckAt, finds the stall.
  StreamWatchdog dog(40ms);
  std::atomic<bool> cancelled{false};
  StreamWatchdog::Watch watch = dog.Register([&] { cancelled = true; });
  watch.Waiting();
  const auto give_up = SteadyClock::now() + 10s;
  while (!cancelled && SteadyClock::now() < give_up) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(cancelled.load());
  EXPECT_TRUE(watch.fired());
}

}  // namespace
}  // namespace nexus::daemon
