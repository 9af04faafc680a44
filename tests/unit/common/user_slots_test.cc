#include "common/user_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace nexus {
namespace {

TEST(SlotLimitsTest, ValidLimitsNeedAPositivePerUserShareNoLargerThanTheWhole) {
  struct Case {
    SlotLimits limits;
    bool ok;
  };
  const Case cases[] = {
      {{1, 1}, true},  {{64, 8}, true}, {{8, 8}, true},   {{0, 0}, false},
      {{8, 0}, false}, {{8, 9}, false}, {{-1, 1}, false}, {{4, -2}, false},
  };
  for (const Case& c : cases) {
    Status s = ValidateSlotLimits("daemon.max_concurrent_downloads", c.limits);
    EXPECT_EQ(s.ok(), c.ok) << c.limits.global << "/" << c.limits.per_user;
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
      EXPECT_NE(s.message().find("daemon.max_concurrent_downloads"), std::string::npos);
    }
  }
}

// Each step acquires for `user` (or, with release >= 0, releases the lease
// taken at step `release`) and expects the outcome.
struct Step {
  std::string user;
  bool granted = false;
  int release = -1;
};

struct ScenarioCase {
  const char* name;
  SlotLimits limits;
  std::vector<Step> steps;
};

TEST(UserSlotsTest, GrantsWithinBothCapsAndRefusesBeyondEither) {
  const ScenarioCase cases[] = {
      {"one user stops at their share, others go on",
       {4, 2},
       {{"a", true}, {"a", true}, {"a", false}, {"b", true}, {"b", true}, {"b", false}}},
      {"the overall cap stops everybody once reached",
       {3, 2},
       {{"a", true}, {"a", true}, {"b", true}, {"b", false}, {"c", false}}},
      {"a released slot is free again for its user",
       {4, 1},
       {{"a", true}, {"a", false}, {"", false, 0}, {"a", true}, {"a", false}}},
      {"a released slot is free again for anybody",
       {2, 2},
       {{"a", true}, {"a", true}, {"b", false}, {"", false, 1}, {"b", true}, {"c", false}}},
      {"users are told apart exactly",
       {8, 1},
       {{"alice", true}, {"Alice", true}, {"alice ", true}, {"alice", false}}},
      {"one slot in all", {1, 1}, {{"a", true}, {"b", false}, {"", false, 0}, {"b", true}}},
  };
  for (const ScenarioCase& c : cases) {
    SCOPED_TRACE(c.name);
    UserSlots slots("downloads", c.limits, 3);
    std::vector<UserSlots::Lease> leases(c.steps.size());
    for (size_t i = 0; i < c.steps.size(); ++i) {
      const Step& step = c.steps[i];
      if (step.release >= 0) {
        ASSERT_TRUE(leases[step.release].held()) << "step " << i;
        leases[step.release].Release();
        continue;
      }
      Result<UserSlots::Lease> got = slots.TryAcquire(step.user);
      EXPECT_EQ(got.ok(), step.granted) << "step " << i << " for '" << step.user << "'";
      if (got.ok()) {
        leases[i] = std::move(got).value();
      } else {
        EXPECT_EQ(got.status().code(), StatusCode::kRateLimited);
        EXPECT_EQ(got.status().retry_after_seconds(), 3);
        EXPECT_NE(got.status().message().find("downloads"), std::string::npos);
      }
    }
  }
}

TEST(UserSlotsTest, RefusalsSayWhetherTheUserOrTheServerIsFull) {
  UserSlots slots("lambda runs", {2, 1});
  Result<UserSlots::Lease> a = slots.TryAcquire("a");
  ASSERT_TRUE(a.ok());
  Result<UserSlots::Lease> again = slots.TryAcquire("a");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("for this user"), std::string::npos)
      << again.status().message();
  Result<UserSlots::Lease> b = slots.TryAcquire("b");
  ASSERT_TRUE(b.ok());
  Result<UserSlots::Lease> c = slots.TryAcquire("c");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("the server"), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().retry_after_seconds(), 1);  // the default
}

TEST(UserSlotsTest, LeasesReleaseOnDestructionAndMoveWithoutDoubleRelease) {
  UserSlots slots("execs", {4, 2});
  {
    Result<UserSlots::Lease> first = slots.TryAcquire("a");
    ASSERT_TRUE(first.ok());
    UserSlots::Lease moved = std::move(first).value();
    EXPECT_TRUE(moved.held());
    EXPECT_EQ(slots.in_use(), 1);
    UserSlots::Lease assigned;
    EXPECT_FALSE(assigned.held());
    assigned = std::move(moved);
    EXPECT_FALSE(moved.held());  // NOLINT(bugprone-use-after-move): checking the move
    EXPECT_EQ(slots.in_use_by("a"), 1);
    // Assigning over a held lease gives the old slot back.
    Result<UserSlots::Lease> second = slots.TryAcquire("b");
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(slots.in_use(), 2);
    assigned = std::move(second).value();
    EXPECT_EQ(slots.in_use_by("a"), 0);
    EXPECT_EQ(slots.in_use_by("b"), 1);
    assigned.Release();
    assigned.Release();  // a second release is a no-op
    EXPECT_EQ(slots.in_use(), 0);
    Result<UserSlots::Lease> third = slots.TryAcquire("c");
    ASSERT_TRUE(third.ok());
  }
  EXPECT_EQ(slots.in_use(), 0);
  EXPECT_EQ(slots.in_use_by("c"), 0);
}

TEST(UserSlotsTest, ConcurrentAcquiresNeverExceedEitherCap) {
  UserSlots slots("uploads", {6, 2});
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  std::atomic<bool> over{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string user = "u" + std::to_string(t % 4);
      for (int i = 0; i < kRounds; ++i) {
        Result<UserSlots::Lease> lease = slots.TryAcquire(user);
        if (!lease.ok()) continue;
        if (slots.in_use() > 6 || slots.in_use_by(user) > 2) over = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(over.load());
  EXPECT_EQ(slots.in_use(), 0);
}

}  // namespace
}  // namespace nexus
