// RequestIdExecutor: two requests' coroutines taking turns on one thread
// each see their own request id at every turn, whatever woke them (a post,
// a timer, a value handed over from another thread, as a backend call's
// completion is), and the thread is left as it was found.
#include "gateway/http/request_executor.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "gateway/http/async_slot.h"

namespace nexus::gateway {
namespace {

using Executor = RequestIdExecutor<asio::io_context::executor_type>;

// What each coroutine saw, in the order the turns ran.
struct Turn {
  std::string who;
  std::string id;
};

// Three waits of different kinds, noting the thread's request id after
// each. `slot` is filled by another thread.
asio::awaitable<void> TakeTurns(std::string who, std::vector<Turn>* turns, AsyncSlot<int>* slot) {
  turns->push_back({who, CurrentRequestId()});
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  turns->push_back({who, CurrentRequestId()});
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(0));
  co_await timer.async_wait(asio::use_awaitable);
  turns->push_back({who, CurrentRequestId()});
  co_await slot->Take();
  turns->push_back({who, CurrentRequestId()});
}

void Spawn(asio::io_context& io, const RequestIdCell& cell, asio::awaitable<void> task) {
  asio::co_spawn(Executor(io.get_executor(), &cell), std::move(task), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

TEST(RequestIdExecutorTest, InterleavedRequestsOnOneThreadEachKeepTheirOwnId) {
  asio::io_context io(1);
  RequestIdCell a;
  a.Set("request-a");
  RequestIdCell b;
  b.Set("request-b");
  std::vector<Turn> turns;
  AsyncSlot<int> slot_a;
  AsyncSlot<int> slot_b;
  Spawn(io, a, TakeTurns("a", &turns, &slot_a));
  Spawn(io, b, TakeTurns("b", &turns, &slot_b));
  // The completions of the last waits come from another thread, as a
  // backend call's do.
  std::thread completer([&] {
    slot_b.Set(1);
    slot_a.Set(1);
  });
  SetCurrentRequestId("the-threads-own");
  io.run();
  completer.join();

  ASSERT_EQ(turns.size(), 8u);
  bool interleaved = false;
  for (size_t i = 0; i < turns.size(); ++i) {
    EXPECT_EQ(turns[i].id, "request-" + turns[i].who) << "turn " << i;
    if (i > 0 && turns[i].who != turns[i - 1].who) interleaved = true;
  }
  EXPECT_TRUE(interleaved);
  EXPECT_EQ(CurrentRequestId(), "the-threads-own");
  SetCurrentRequestId("");
}

asio::awaitable<void> NoteId(std::string* seen) {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  *seen = CurrentRequestId();
}

asio::awaitable<void> SpawnChild(std::string* seen) {
  asio::co_spawn(co_await asio::this_coro::executor, NoteId(seen), asio::detached);
}

TEST(RequestIdExecutorTest, ACoroutineSpawnedFromARequestsWorksForThatRequest) {
  asio::io_context io(1);
  RequestIdCell cell;
  cell.Set("parent");
  std::string seen;
  Spawn(io, cell, SpawnChild(&seen));
  io.run();
  EXPECT_EQ(seen, "parent");
}

// The session names each request of a connection in turn: a coroutine's
// next turn carries the id its cell holds then.
asio::awaitable<void> TwoRequests(RequestIdCell* cell, std::vector<std::string>* seen) {
  cell->Set("first");
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  seen->push_back(CurrentRequestId());
  cell->Clear();
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  seen->push_back(CurrentRequestId());
  cell->Set("second");
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  seen->push_back(CurrentRequestId());
}

TEST(RequestIdExecutorTest, EachTurnCarriesTheIdTheCellHoldsThen) {
  asio::io_context io(1);
  RequestIdCell cell;
  std::vector<std::string> seen;
  Spawn(io, cell, TwoRequests(&cell, &seen));
  io.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"first", "", "second"}));
}

TEST(RequestIdExecutorTest, ExecutorsCompareByContextAndCell) {
  asio::io_context io(1);
  RequestIdCell one;
  RequestIdCell two;
  EXPECT_EQ(Executor(io.get_executor(), &one), Executor(io.get_executor(), &one));
  EXPECT_NE(Executor(io.get_executor(), &one), Executor(io.get_executor(), &two));
  // Converted to Asio's polymorphic executor, it still names the context.
  asio::any_io_executor any = Executor(io.get_executor(), &one);
  EXPECT_EQ(&asio::query(any, asio::execution::context), &io);
}

}  // namespace
}  // namespace nexus::gateway
