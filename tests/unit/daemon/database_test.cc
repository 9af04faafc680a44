#include "common/sql/database.h"

#include <SQLiteCpp/Statement.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/sql/sqlite_connection.h"
#include "daemon/migrations.h"
#include "support/temp_dir.h"

namespace nexus::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<int> AppliedVersions(SQLite::Database& db) {
  std::vector<int> out;
  SQLite::Statement q(db, "SELECT version FROM schema_migrations ORDER BY rowid");
  while (q.executeStep()) out.push_back(q.getColumn(0).getInt());
  return out;
}

int CountRows(SQLite::Database& db, const std::string& table) {
  return db.execAndGet("SELECT count(*) FROM " + table).getInt();
}

class DatabaseTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.File("nexus.db"); }
  testing::TempDir dir_;
};

TEST_F(DatabaseTest, AppliesMigrationsInVersionOrderWhateverTheListOrder) {
  // Version 2 needs the table version 1 creates, so applying them in list
  // order would fail.
  std::vector<sql::Migration> migrations = {
      {2, "seed", "INSERT INTO t(v) VALUES('seeded')"},
      {1, "create t", "CREATE TABLE t(v TEXT)"},
  };
  auto db = sql::OpenDatabase(Path(), migrations);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_THAT(AppliedVersions(**db), ElementsAre(1, 2));
  EXPECT_EQ(CountRows(**db, "t"), 1);
}

TEST_F(DatabaseTest, OpensInWriteAheadLogModeWithForeignKeysOn) {
  auto db = sql::OpenDatabase(Path(), {});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // WAL: readers (lists, downloads) do not wait for a commit in progress.
  EXPECT_EQ((*db)->execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ((*db)->execAndGet("PRAGMA foreign_keys").getInt(), 1);
}

TEST_F(DatabaseTest, ACommitReachesTheDiskBeforeItReturns) {
  auto db = sql::OpenDatabase(Path(), {});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // FULL: the log is fsynced at every commit (NORMAL: only at checkpoints).
  EXPECT_EQ((*db)->execAndGet("PRAGMA synchronous").getInt(), 2);
  EXPECT_TRUE(sql::SqliteConnection(**db).SyncToDisk().ok());
  auto memory = sql::OpenDatabase(":memory:", {});
  ASSERT_TRUE(memory.ok());
  EXPECT_TRUE(sql::SqliteConnection(**memory).SyncToDisk().ok()) << "nothing to sync";
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(DatabaseTest, TheDatabaseAndItsSideFilesAreOwnerOnlyFromTheStart) {
  // With no umask to help, SQLite alone would create them 0644.
  const mode_t old_umask = ::umask(0);
  auto db = sql::OpenDatabase(Path(), {{1, "create t", "CREATE TABLE t(v TEXT)"}});
  ::umask(old_umask);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  (*db)->exec("INSERT INTO t(v) VALUES('x')");
  EXPECT_EQ(ModeOf(Path()), 0600);
  EXPECT_EQ(ModeOf(Path() + "-wal"), 0600);
  EXPECT_EQ(ModeOf(Path() + "-shm"), 0600);
}

TEST_F(DatabaseTest, ADatabaseAnOlderVersionLeftReadableIsMadePrivate) {
  {
    SQLite::Database old(Path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    old.exec("PRAGMA journal_mode=WAL");
    old.exec("CREATE TABLE t(v TEXT)");
  }
  std::ofstream{Path() + "-wal"};  // an empty log, as a crash can leave one
  ASSERT_EQ(::chmod(Path().c_str(), 0644), 0);
  ASSERT_EQ(::chmod((Path() + "-wal").c_str(), 0644), 0);
  auto db = sql::OpenDatabase(Path(), {});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(ModeOf(Path()), 0600);
  EXPECT_EQ(ModeOf(Path() + "-wal"), 0600);
}

TEST_F(DatabaseTest, ReopeningAppliesNothingTwice) {
  std::vector<sql::Migration> migrations = {
      {1, "create t", "CREATE TABLE t(v TEXT)"},
      {2, "seed", "INSERT INTO t(v) VALUES('seeded')"},
  };
  ASSERT_TRUE(sql::OpenDatabase(Path(), migrations).ok());
  auto again = sql::OpenDatabase(Path(), migrations);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_THAT(AppliedVersions(**again), ElementsAre(1, 2));
  EXPECT_EQ(CountRows(**again, "t"), 1);
}

TEST_F(DatabaseTest, ReopeningWithANewMigrationAppliesOnlyTheNewOne) {
  std::vector<sql::Migration> first = {{1, "create t", "CREATE TABLE t(v TEXT)"}};
  ASSERT_TRUE(sql::OpenDatabase(Path(), first).ok());

  std::vector<sql::Migration> second = first;
  second.push_back({2, "seed", "INSERT INTO t(v) VALUES('seeded')"});
  auto db = sql::OpenDatabase(Path(), second);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_THAT(AppliedVersions(**db), ElementsAre(1, 2));
  EXPECT_EQ(CountRows(**db, "t"), 1);
}

TEST_F(DatabaseTest, RejectsDuplicateVersionsBeforeTouchingTheSchema) {
  std::vector<sql::Migration> migrations = {
      {1, "create a", "CREATE TABLE a(v TEXT)"},
      {1, "create b", "CREATE TABLE b(v TEXT)"},
  };
  auto db = sql::OpenDatabase(Path(), migrations);
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(db.status().message(), HasSubstr("duplicate migration version 1"));

  auto clean = sql::OpenDatabase(Path(), {});
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_EQ(CountRows(**clean, "sqlite_master WHERE name IN ('a','b')"), 0);
}

TEST_F(DatabaseTest, AFailingMigrationIsNotRecordedAndLeavesEarlierOnesApplied) {
  std::vector<sql::Migration> migrations = {
      {1, "create t", "CREATE TABLE t(v TEXT)"},
      {2, "broken", "CREATE TABLE u(v TEXT); INSERT INTO no_such_table VALUES(1)"},
  };
  auto db = sql::OpenDatabase(Path(), migrations);
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(db.status().message(), HasSubstr(Path()));

  auto reopened = sql::OpenDatabase(Path(), {});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_THAT(AppliedVersions(**reopened), ElementsAre(1));
  // The half of migration 2 that succeeded was rolled back with it.
  EXPECT_EQ(CountRows(**reopened, "sqlite_master WHERE name = 'u'"), 0);
}

TEST_F(DatabaseTest, ReportsAnUnopenablePathAsAnError) {
  auto db = sql::OpenDatabase(dir_.File("no/such/dir/nexus.db"), {});
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(db.status().message(), HasSubstr("no/such/dir/nexus.db"));
}

TEST_F(DatabaseTest, TheDaemonsOwnMigrationsApplyToAFreshDatabase) {
  auto db = sql::OpenDatabase(Path(), DaemonMigrations());
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_FALSE(DaemonMigrations().empty());
  EXPECT_EQ(AppliedVersions(**db).size(), DaemonMigrations().size());
}

}  // namespace
}  // namespace nexus::daemon
