// ConnectionPool: connections opened only when needed and kept, never more
// than the maximum, a waiter served by the next one returned, a failed open
// that frees its slot, and two connections of one pool really running a
// reader beside an open write transaction. On a SQLite file, and on
// PostgreSQL when NEXUS_TEST_POSTGRES_URI names a cluster (the
// sql_test_postgres entry).
#include "common/sql/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "unit/common/sql_backends.h"

namespace nexus::sql {
namespace {

using namespace std::chrono_literals;

class ConnectionPoolTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (std::string(GetParam()) == "sqlite") {
      target_ = dir_.path() + "/pool.db";
    } else {
      const char* uri = std::getenv("NEXUS_TEST_POSTGRES_URI");
      ASSERT_TRUE(uri != nullptr && *uri != '\0');
      target_ = uri;
    }
    auto pool = OpenMetadataPool(target_, {}, 2);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    pool_ = std::move(*pool);
    auto c = pool_->Acquire();
    ASSERT_TRUE(c.ok());
    (*c)->ExecScript("DROP TABLE IF EXISTS pool_t");
    (*c)->ExecScript("CREATE TABLE pool_t (k TEXT PRIMARY KEY)");
    (*c)->Prepare("INSERT INTO pool_t(k) VALUES('a')").Exec();
  }

  static int64_t Count(Connection& c) {
    Statement q = c.Prepare("SELECT COUNT(*) FROM pool_t");
    EXPECT_TRUE(q.Step());
    return q.Int64(0);
  }

  nexus::testing::TempDir dir_;
  std::string target_;
  std::unique_ptr<ConnectionPool> pool_;
};

TEST_P(ConnectionPoolTest, OpensASecondConnectionOnlyWhenTheFirstIsLent) {
  EXPECT_EQ(pool_->max_connections(), 2);
  EXPECT_EQ(pool_->open_connections(), 1);
  {
    auto a = pool_->Acquire();
    ASSERT_TRUE(a.ok());
  }
  {
    auto a = pool_->Acquire();
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(pool_->open_connections(), 1) << "the idle one is reused";
    auto b = pool_->Acquire();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(pool_->open_connections(), 2);
    EXPECT_NE(&**a, &**b);
    EXPECT_EQ(Count(**b), 1);
  }
  EXPECT_EQ(pool_->open_connections(), 2) << "opened connections are kept";
}

TEST_P(ConnectionPoolTest, AReaderRunsBesideAnOpenWriteTransaction) {
  auto writer = pool_->Acquire();
  auto reader = pool_->Acquire();
  ASSERT_TRUE(writer.ok() && reader.ok());
  Transaction write(**writer, TxMode::kWrite);
  (*writer)->Prepare("INSERT INTO pool_t(k) VALUES('b')").Exec();
  // On its own connection the reader neither waits for the writer nor sees
  // what it has not committed.
  {
    Transaction read(**reader, TxMode::kRead);
    EXPECT_EQ(Count(**reader), 1);
  }
  write.Commit();
  Transaction read(**reader, TxMode::kRead);
  EXPECT_EQ(Count(**reader), 2);
}

TEST_P(ConnectionPoolTest, NeverOpensMoreThanItsMaximumAndAWaiterGetsTheOneReturned) {
  auto a = pool_->Acquire();
  auto b = pool_->Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  Connection* const returned = &**b;
  std::atomic<bool> served{false};
  std::future<Connection*> waiter = std::async(std::launch::async, [&]() -> Connection* {
    auto c = pool_->Acquire();
    served = true;
    return c.ok() ? &**c : nullptr;
  });
  EXPECT_EQ(waiter.wait_for(200ms), std::future_status::timeout);
  EXPECT_FALSE(served);
  { auto gone = std::move(*b); }
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(waiter.get(), returned);
  EXPECT_EQ(pool_->open_connections(), 2);
}

TEST_P(ConnectionPoolTest, AFailedOpenIsAnsweredAndFreesItsSlot) {
  std::atomic<int> tries{0};
  auto first = ConnectMetadataDatabase(target_);
  ASSERT_TRUE(first.ok());
  const std::string target = target_;
  ConnectionPool pool(
      std::move(*first),
      [&tries, target]() -> Result<std::unique_ptr<Connection>> {
        if (tries++ == 0) return UnavailableError("the server went away");
        return ConnectMetadataDatabase(target);
      },
      2);
  auto a = pool.Acquire();
  ASSERT_TRUE(a.ok());
  auto failed = pool.Acquire();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(pool.open_connections(), 1);
  auto b = pool.Acquire();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(pool.open_connections(), 2);
  EXPECT_EQ(Count(**b), 1);
}

TEST(ConnectionPoolOfOneTest, AnInMemoryDatabaseGetsOneConnectionWhateverTheMaximum) {
  auto pool = OpenMetadataPool(":memory:", {}, 8);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  EXPECT_EQ((*pool)->max_connections(), 1);
}

TEST(ConnectionPoolOfOneTest, LendsTheBorrowedConnectionToOneHolderAtATime) {
  auto db = ConnectMetadataDatabase(":memory:");
  ASSERT_TRUE(db.ok());
  ConnectionPool pool(**db);
  std::future<void> waiter;
  {
    auto a = pool.Acquire();
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(&**a, db->get());
    waiter = std::async(std::launch::async, [&] { auto b = pool.Acquire(); });
    EXPECT_EQ(waiter.wait_for(200ms), std::future_status::timeout);
  }
  EXPECT_EQ(waiter.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(pool.open_connections(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConnectionPoolTest,
                         ::testing::ValuesIn(testing::SqlTestBackends()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace nexus::sql
