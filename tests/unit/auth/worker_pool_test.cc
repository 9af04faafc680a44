#include "auth/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace nexus::auth {
namespace {

TEST(WorkerPoolTest, RunsEverySubmittedTask) {
  std::atomic<int> done{0};
  {
    WorkerPool pool(3, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++done; }));
  }  // the destructor drains the queue
  EXPECT_EQ(done.load(), 500);
}

TEST(WorkerPoolTest, RefusesWhenTheQueueIsFull) {
  WorkerPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  // Occupies the only thread until released.
  ASSERT_TRUE(pool.TrySubmit([&, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_EQ(pool.queued(), 2u);
  EXPECT_EQ(pool.capacity(), 3u);
  EXPECT_FALSE(pool.TrySubmit([] {}));
  release.set_value();
}

TEST(WorkerPoolTest, RefusesAfterShutdown) {
  WorkerPool pool(1, 10);
  pool.Shutdown();
  EXPECT_FALSE(pool.TrySubmit([] {}));
  pool.Shutdown();  // idempotent
}

}  // namespace
}  // namespace nexus::auth
