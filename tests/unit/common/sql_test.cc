// The SQL layer: placeholder rewriting, and one connection's statements,
// errors and transactions on SQLite (and on PostgreSQL when
// NEXUS_TEST_POSTGRES_URI names a cluster, as tests/support/pg_cluster.sh
// sets it).
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

#include "common/insufficient_storage.h"
#include "common/sql/connection.h"
#include "common/sql/error.h"
#include "common/sql/placeholders.h"
#include "common/sql/postgres_connection.h"
#include "common/sql/sqlite_connection.h"
#include "unit/common/sql_backends.h"

namespace nexus::sql {
namespace {

TEST(SqlErrorTest, AFullDatabaseIsInsufficientStorageWithoutTheOperation) {
  Status s = ToStatus("commit file f1", Error(ErrorKind::kFull, "database or disk is full"));
  EXPECT_EQ(s.code(), StatusCode::kQuotaExceeded);
  EXPECT_TRUE(IsInsufficientStorage(s));
  EXPECT_EQ(s.message(), "insufficient storage");
}

TEST(SqlErrorTest, ALostRaceOrAnOutageIsUnavailableNotABug) {
  for (ErrorKind kind : {ErrorKind::kRetry, ErrorKind::kConnection}) {
    Status s = ToStatus("get node n1", Error(kind, "database is locked"));
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_EQ(s.message(), "get node n1: database is locked");
  }
}

TEST(SqlErrorTest, AnythingElseIsInternalAndNamesTheOperation) {
  for (ErrorKind kind : {ErrorKind::kOther, ErrorKind::kDuplicateKey}) {
    Status s = ToStatus("list files of alice", Error(kind, "disk I/O error"));
    EXPECT_EQ(s.code(), StatusCode::kInternal);
    EXPECT_EQ(s.message(), "list files of alice: disk I/O error");
  }
}

TEST(SqlErrorTest, PostgresStatesMapToTheirKinds) {
  EXPECT_EQ(KindOfSqlState("23505"), ErrorKind::kDuplicateKey);
  for (const char* s : {"40001", "40P01", "55P03"}) EXPECT_EQ(KindOfSqlState(s), ErrorKind::kRetry);
  EXPECT_EQ(KindOfSqlState("53100"), ErrorKind::kFull);
  for (const char* s : {"", "08006", "57P01", "57P03"}) {
    EXPECT_EQ(KindOfSqlState(s), ErrorKind::kConnection) << s;
  }
  for (const char* s : {"23502", "42P01", "XX000"}) EXPECT_EQ(KindOfSqlState(s), ErrorKind::kOther);
}

TEST(GuardSqlTest, ErrorsBecomeStatusesAndValuesPassThrough) {
  Result<int> ok = GuardSql("count", []() -> Result<int> { return 7; });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);
  Status busy = GuardSql("count", []() -> Status { throw Error(ErrorKind::kRetry, "locked"); });
  EXPECT_EQ(busy.code(), StatusCode::kUnavailable);
  Result<int> bad = GuardSql("parse", []() -> Result<int> { throw std::runtime_error("bad"); });
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  EXPECT_EQ(bad.status().message(), "parse: bad");
}

TEST(ToDollarPlaceholdersTest, NumbersPlaceholdersAndLeavesQuotesAndCommentsAlone) {
  struct Case {
    const char* in;
    const char* out;
    int params;
  } cases[] = {
      {"SELECT 1", "SELECT 1", 0},
      {"SELECT ? , ?", "SELECT $1 , $2", 2},
      {"WHERE a = ?1 AND b = ?2 || '/'", "WHERE a = $1 AND b = $2 || '/'", 2},
      {"WHERE a = ?2 AND b = ?", "WHERE a = $2 AND b = $3", 3},
      {"WHERE a = '?' AND \"b?\" = ?", "WHERE a = '?' AND \"b?\" = $1", 1},
      {"WHERE a = 'it''s ?' AND b = ?", "WHERE a = 'it''s ?' AND b = $1", 1},
      {"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2", 2},
  };
  for (const Case& c : cases) {
    RewrittenSql r = ToDollarPlaceholders(c.in);
    EXPECT_EQ(r.text, c.out) << c.in;
    EXPECT_EQ(r.params, c.params) << c.in;
  }
}

// Each back-end the machine has: SQLite always, PostgreSQL with a cluster.
class ConnectionTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (std::string(GetParam()) == "sqlite") {
      db_ = std::make_unique<SqliteConnection>(std::make_unique<SQLite::Database>(
          ":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE));
    } else {
      const char* uri = std::getenv("NEXUS_TEST_POSTGRES_URI");
      ASSERT_TRUE(uri != nullptr && *uri != '\0');
      auto db = PostgresConnection::Open(uri);
      ASSERT_TRUE(db.ok()) << db.status().ToString();
      db_ = std::move(*db);
      db_->ExecScript("DROP TABLE IF EXISTS t");
    }
    db_->ExecScript("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, b " +
                    std::string(db_->dialect() == Dialect::kPostgres ? "BYTEA" : "BLOB") + ")");
  }

  int64_t Count() {
    Statement q = db_->Prepare("SELECT COUNT(*) FROM t");
    EXPECT_TRUE(q.Step());
    return q.Int64(0);
  }

  std::unique_ptr<Connection> db_;
};

TEST_P(ConnectionTest, BindsStepsAndReadsEveryColumnType) {
  Statement ins = db_->Prepare("INSERT INTO t(k, n, b) VALUES(?, ?, ?)");
  const std::vector<uint8_t> blob = {0, 1, 0xff, '\\', 'x'};
  ins.Bind(1, "a").Bind(2, int64_t{1} << 40).BindBlob(3, blob);
  EXPECT_EQ(ins.Exec(), 1);
  ins.Reset();
  ins.Bind(1, "b").BindNull(2).BindNull(3);
  EXPECT_EQ(ins.Exec(), 1);

  Statement q = db_->Prepare("SELECT k, n, b, n > ? FROM t ORDER BY k");
  q.Bind(1, 5);
  ASSERT_TRUE(q.Step());
  EXPECT_EQ(q.Text(0), "a");
  EXPECT_EQ(q.Int64(1), int64_t{1} << 40);
  EXPECT_EQ(q.Blob(2), blob);
  EXPECT_EQ(q.Int64(3), 1) << "a comparison reads as 0 or 1 on both";
  ASSERT_TRUE(q.Step());
  EXPECT_TRUE(q.IsNull(1));
  EXPECT_FALSE(q.Step());
}

TEST_P(ConnectionTest, ADuplicateKeyIsItsOwnKindOfError) {
  db_->ExecScript("INSERT INTO t(k) VALUES('a')");
  Statement ins = db_->Prepare("INSERT INTO t(k) VALUES(?)");
  ins.Bind(1, "a");
  try {
    ins.Exec();
    FAIL() << "inserted a duplicate";
  } catch (const Error& e) {
    EXPECT_TRUE(IsDuplicateKey(e)) << e.what();
    EXPECT_EQ(ToStatus("insert", e).code(), StatusCode::kInternal);
  }
}

TEST_P(ConnectionTest, ANullInANotNullColumnIsNoDuplicateKey) {
  db_->ExecScript("CREATE TABLE nn (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
  Statement ins = db_->Prepare("INSERT INTO nn(k, v) VALUES(?, ?)");
  ins.Bind(1, "a").BindNull(2);
  try {
    ins.Exec();
    FAIL() << "inserted a null";
  } catch (const Error& e) {
    EXPECT_FALSE(IsDuplicateKey(e)) << e.what();
  }
}

TEST_P(ConnectionTest, ATransactionNotCommittedRollsBack) {
  {
    Transaction tx(*db_, TxMode::kWrite);
    db_->ExecScript("INSERT INTO t(k) VALUES('a')");
  }
  EXPECT_EQ(Count(), 0);
  {
    Transaction tx(*db_, TxMode::kWrite);
    db_->ExecScript("INSERT INTO t(k) VALUES('a')");
    tx.Commit();
  }
  EXPECT_EQ(Count(), 1);
}

TEST_P(ConnectionTest, UpsertAndReturningWorkOnBoth) {
  Statement up = db_->Prepare(
      "INSERT INTO t(k, n) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET n = t.n + excluded.n"
      " RETURNING n");
  for (int i = 0; i < 3; ++i) {
    up.Reset();
    up.Bind(1, "a").Bind(2, 2);
    ASSERT_TRUE(up.Step());
    EXPECT_EQ(up.Int64(0), 2 * (i + 1));
  }
}

TEST_P(ConnectionTest, AStatementPreparedAgainStartsFresh) {
  // SQLite hands out a parked statement for the same text: it must come
  // back reset, with no binding left from its last use and no row half
  // read, and one whose run failed must not poison the next.
  db_->ExecScript("INSERT INTO t(k, n) VALUES('a', 1), ('b', 2)");
  const char* kSelect = "SELECT k FROM t WHERE n >= ? ORDER BY k";
  for (int round = 0; round < 3; ++round) {
    {
      Statement q = db_->Prepare(kSelect);
      q.Bind(1, 1);
      ASSERT_TRUE(q.Step());
      EXPECT_EQ(q.Text(0), "a");  // and left with a row unread
    }
    Statement q = db_->Prepare(kSelect);
    ASSERT_FALSE(q.Step()) << "no binding: n >= NULL holds for no row";
  }
  for (int round = 0; round < 2; ++round) {
    Statement ins = db_->Prepare("INSERT INTO t(k) VALUES(?)");
    ins.Bind(1, "a");
    EXPECT_THROW(ins.Exec(), Error);
  }
  Statement ins = db_->Prepare("INSERT INTO t(k) VALUES(?)");
  ins.Bind(1, "c");
  EXPECT_EQ(ins.Exec(), 1);
  EXPECT_EQ(Count(), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConnectionTest, ::testing::ValuesIn(testing::SqlTestBackends()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace nexus::sql
