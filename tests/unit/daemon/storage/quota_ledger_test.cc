#include "daemon/storage/quota_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

namespace nexus::daemon::storage {
namespace {

// The committed bytes the ledger reads, as a test-controlled table.
class QuotaLedgerTest : public ::testing::Test {
 protected:
  QuotaLedgerTest()
      : ledger_([this](const std::string& owner) -> Result<int64_t> {
          std::lock_guard lock(mu_);
          ++reads_;
          if (!read_error_.ok()) return read_error_;
          return used_[owner];
        }) {}

  void SetUsed(const std::string& owner, int64_t bytes) {
    std::lock_guard lock(mu_);
    used_[owner] = bytes;
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }

  std::mutex mu_;
  std::map<std::string, int64_t> used_;
  int reads_ = 0;
  Status read_error_;
  QuotaLedger ledger_;
};

TEST_F(QuotaLedgerTest, GrowsUpToWhatTheQuotaLeavesAndNoFurther) {
  SetUsed("alice", 600);
  auto r = ledger_.Open("alice", 1000, {});
  EXPECT_TRUE(r->Grow(300).ok());
  EXPECT_TRUE(r->Grow(100).ok());
  EXPECT_EQ(r->bytes(), 400);
  EXPECT_EQ(r->Grow(1).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ledger_.reserved("alice"), 400)
      << "a failed reservation holds its bytes until released";
  r->Release();
  EXPECT_EQ(ledger_.reserved("alice"), 0);
}

TEST_F(QuotaLedgerTest, AnOwnersUploadsShareTheQuotaAndOtherOwnersDoNot) {
  auto a = ledger_.Open("alice", 1000, {});
  auto b = ledger_.Open("alice", 1000, {});
  auto c = ledger_.Open("carol", 1000, {});
  ASSERT_TRUE(a->Grow(700).ok());
  EXPECT_EQ(b->Grow(301).code(), StatusCode::kQuotaExceeded);
  b->Release();
  auto d = ledger_.Open("alice", 1000, {});
  EXPECT_TRUE(d->Grow(300).ok());
  EXPECT_TRUE(c->Grow(1000).ok()) << "carol's quota is her own";
}

TEST_F(QuotaLedgerTest, ACommitCountsTheFileAsCommittedInsteadOfReserved) {
  auto a = ledger_.Open("alice", 1000, {});
  auto b = ledger_.Open("alice", 1000, {});
  ASSERT_TRUE(a->Grow(600).ok());
  ASSERT_TRUE(b->Grow(400).ok());
  // The commit function runs the metadata transaction: the file is in the
  // committed bytes once it returns.
  ASSERT_TRUE(a->Commit([&] {
                 SetUsed("alice", 600);
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(a->bytes(), 0);
  EXPECT_EQ(ledger_.reserved("alice"), 400);
  EXPECT_EQ(b->Grow(1).code(), StatusCode::kQuotaExceeded) << "600 committed + 400 reserved";
}

TEST_F(QuotaLedgerTest, AFailedCommitKeepsTheReservationUntilReleased) {
  auto a = ledger_.Open("alice", 1000, {});
  ASSERT_TRUE(a->Grow(600).ok());
  EXPECT_EQ(a->Commit([] { return QuotaExceededError("no"); }).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ledger_.reserved("alice"), 600);
  a->Release();
  a->Release();  // idempotent
  EXPECT_EQ(ledger_.reserved("alice"), 0);
}

TEST_F(QuotaLedgerTest, NoCheckSeesAFileBothCommittedAndReserved) {
  // While a commit runs, a Grow of the same owner waits for it; it then sees
  // the file committed and no longer reserved, never both.
  auto a = ledger_.Open("alice", 1000, {});
  auto b = ledger_.Open("alice", 1000, {});
  ASSERT_TRUE(a->Grow(500).ok());
  std::atomic<bool> in_commit{false};
  std::atomic<bool> grown{false};
  std::thread committer([&] {
    ASSERT_TRUE(a->Commit([&] {
                   SetUsed("alice", 500);
                   in_commit = true;
                   std::this_thread::sleep_for(std::chrono::milliseconds(50));
                   EXPECT_FALSE(grown.load()) << "a Grow ran inside the commit";
                   return Status::Ok();
                 }).ok());
  });
  while (!in_commit) std::this_thread::yield();
  EXPECT_TRUE(b->Grow(500).ok());
  grown = true;
  committer.join();
}

TEST_F(QuotaLedgerTest, AGrowThatDoesNotFitWaitsForAFailingReservationsRoom) {
  auto a = ledger_.Open("alice", 1000, {});
  auto b = ledger_.Open("alice", 1000, {});
  ASSERT_TRUE(a->Grow(500).ok());
  ASSERT_TRUE(b->Grow(500).ok());
  EXPECT_EQ(a->Grow(1).code(), StatusCode::kQuotaExceeded);  // a is failing now
  std::atomic<bool> done{false};
  Status grown;
  std::thread waiter([&] {
    grown = b->Grow(100);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load()) << "b failed beside a instead of waiting for a's room";
  a->Release();  // a removed what it stored
  waiter.join();
  EXPECT_TRUE(grown.ok()) << grown.ToString();
  EXPECT_EQ(ledger_.reserved("alice"), 600);
}

TEST_F(QuotaLedgerTest, OfManyUploadsThatCannotAllFitAsManyFinishAsFit) {
  constexpr int kUploads = 10;
  constexpr int64_t kSize = 2500;  // four fit in 10000
  constexpr int64_t kPiece = 100;
  std::atomic<int> finished{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kUploads; ++i) {
    threads.emplace_back([&] {
      auto r = ledger_.Open("alice", 10000, {});
      for (int64_t done = 0; done < kSize; done += kPiece) {
        if (!r->Grow(kPiece).ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));  // removing its chunks
          r->Release();
          ++failed;
          return;
        }
        std::this_thread::yield();
      }
      ASSERT_TRUE(r->Commit([&] {
                     std::lock_guard lock(mu_);
                     used_["alice"] += kSize;
                     return Status::Ok();
                   }).ok());
      ++finished;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(finished.load(), 4);
  EXPECT_EQ(failed.load(), kUploads - 4);
  EXPECT_EQ(ledger_.reserved("alice"), 0);
}

TEST_F(QuotaLedgerTest, AReplacedFileCountsAsFreedOnceForAllItsReplacements) {
  SetUsed("alice", 900);  // one file of 900 bytes
  auto a = ledger_.Open("alice", 1000, {"f1", 900});
  auto b = ledger_.Open("alice", 1000, {"f1", 900});
  ASSERT_TRUE(a->Grow(700).ok());
  ASSERT_TRUE(b->Grow(300).ok());
  EXPECT_EQ(b->Grow(1).code(), StatusCode::kQuotaExceeded)
      << "two replacements of one file share its 900 bytes";
}

TEST_F(QuotaLedgerTest, ReplacedFilesNeverCountForMoreThanOneQuota) {
  SetUsed("alice", 0);  // both files deleted since the uploads began
  auto a = ledger_.Open("alice", 1000, {"f1", 1000});
  auto b = ledger_.Open("alice", 1000, {"f2", 1000});
  ASSERT_TRUE(a->Grow(1000).ok());
  ASSERT_TRUE(b->Grow(1000).ok());
  EXPECT_EQ(b->Grow(1).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ledger_.reserved("alice"), 2000) << "at most quota + one quota";
}

TEST_F(QuotaLedgerTest, CommittedBytesAreCachedAndReadAgainBeforeFailing) {
  SetUsed("alice", 900);
  auto a = ledger_.Open("alice", 1000, {});
  ASSERT_TRUE(a->Grow(50).ok());
  ASSERT_TRUE(a->Grow(50).ok());
  EXPECT_EQ(reads(), 1) << "one read while the owner has reservations";
  SetUsed("alice", 0);  // a delete elsewhere
  EXPECT_TRUE(a->Grow(800).ok()) << "the stale cache is read again before failing";
  EXPECT_EQ(reads(), 2);
}

TEST_F(QuotaLedgerTest, AnOwnerWithoutReservationsIsForgotten) {
  SetUsed("alice", 100);
  {
    auto a = ledger_.Open("alice", 1000, {});
    ASSERT_TRUE(a->Grow(10).ok());
  }
  SetUsed("alice", 990);
  auto b = ledger_.Open("alice", 1000, {});
  EXPECT_EQ(b->Grow(11).code(), StatusCode::kQuotaExceeded) << "read afresh, not the old 100";
}

TEST_F(QuotaLedgerTest, AnUnlimitedQuotaCountsNothing) {
  auto r = ledger_.Open("alice", -1, {});
  EXPECT_TRUE(r->Grow(int64_t{1} << 60).ok());
  EXPECT_EQ(ledger_.reserved("alice"), 0);
  EXPECT_EQ(reads(), 0);
  bool ran = false;
  EXPECT_TRUE(r->Commit([&] {
                 ran = true;
                 return Status::Ok();
               }).ok());
  EXPECT_TRUE(ran);
}

TEST_F(QuotaLedgerTest, AHugeQuotaDoesNotOverflow) {
  SetUsed("alice", 10);
  auto r = ledger_.Open("alice", INT64_MAX, {"f", INT64_MAX / 2});
  EXPECT_TRUE(r->Grow(INT64_MAX / 2).ok());
}

TEST_F(QuotaLedgerTest, AFailedReadOfTheCommittedBytesFailsTheGrow) {
  read_error_ = UnavailableError("database busy");
  auto r = ledger_.Open("alice", 1000, {});
  EXPECT_EQ(r->Grow(1).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace nexus::daemon::storage
