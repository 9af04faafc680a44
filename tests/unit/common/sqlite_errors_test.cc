#include "common/sqlite_errors.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <stdexcept>

#include "common/insufficient_storage.h"
#include "common/result.h"

namespace nexus {
namespace {

TEST(SqliteErrorTest, AFullDiskIsInsufficientStorageWithoutTheOperation) {
  Status s =
      SqliteError("commit file f1", SQLite::Exception("database or disk is full", SQLITE_FULL));
  EXPECT_EQ(s.code(), StatusCode::kQuotaExceeded);
  EXPECT_TRUE(IsInsufficientStorage(s));
  EXPECT_EQ(s.message(), "insufficient storage");
}

TEST(SqliteErrorTest, ABusyOrLockedDatabaseIsUnavailableNotABug) {
  for (int code : {SQLITE_BUSY, SQLITE_LOCKED}) {
    Status s = SqliteError("get node n1", SQLite::Exception("database is locked", code));
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << code;
    EXPECT_EQ(s.message(), "get node n1: database is locked");
  }
}

TEST(SqliteErrorTest, AnythingElseIsInternalAndNamesTheOperation) {
  Status s = SqliteError("list files of alice", SQLite::Exception("disk I/O error", SQLITE_IOERR));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "list files of alice: disk I/O error");
}

TEST(SqliteErrorTest, DuplicateKeysAreToldFromOtherConstraints) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER NOT NULL)");
  db.exec("INSERT INTO t VALUES ('a', 'x', 1)");
  auto error_of = [&](const char* sql) -> SQLite::Exception {
    try {
      db.exec(sql);
    } catch (const SQLite::Exception& e) {
      return e;
    }
    ADD_FAILURE() << "no error from " << sql;
    return SQLite::Exception("none", SQLITE_OK);
  };
  EXPECT_TRUE(IsDuplicateKey(error_of("INSERT INTO t VALUES ('a', 'y', 1)")));      // primary key
  EXPECT_TRUE(IsDuplicateKey(error_of("INSERT INTO t VALUES ('b', 'x', 1)")));      // unique
  EXPECT_FALSE(IsDuplicateKey(error_of("INSERT INTO t VALUES ('c', 'z', NULL)")));  // not null
}

TEST(GuardSqliteTest, ExceptionsBecomeStatusesAndValuesPassThrough) {
  Result<int> ok = GuardSqlite("count", []() -> Result<int> { return 7; });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 7);

  Status busy = GuardSqlite(
      "update", []() -> Status { throw SQLite::Exception("database is locked", SQLITE_BUSY); });
  EXPECT_EQ(busy.code(), StatusCode::kUnavailable);

  Result<int> other =
      GuardSqlite("parse", []() -> Result<int> { throw std::runtime_error("bad"); });
  EXPECT_EQ(other.status().code(), StatusCode::kInternal);
  EXPECT_EQ(other.status().message(), "parse: bad");
}

}  // namespace
}  // namespace nexus
