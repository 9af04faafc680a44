#include "auth/user_store.h"

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth/auth_database.h"
#include "support/metadata_backend.h"
#include "support/temp_dir.h"

namespace nexus::auth {
namespace {

// The tables of the v4 legacy scheme (PRAGMA user_version), as the
// nexus-auth before schema_migrations made them.
constexpr const char* kLegacyV1 =
    "CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, "
    "email TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL, "
    "created_at INTEGER NOT NULL);"
    "CREATE TABLE pending_registrations (email TEXT PRIMARY KEY COLLATE NOCASE, "
    "username TEXT NOT NULL, password_hash TEXT NOT NULL, otp_hash TEXT NOT NULL, "
    "otp_expires_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "last_sent_at INTEGER NOT NULL);"
    "CREATE TABLE login_challenges (email TEXT PRIMARY KEY COLLATE NOCASE, user_id TEXT NOT "
    "NULL REFERENCES users(id) ON DELETE CASCADE, otp_hash TEXT NOT NULL, expires_at INTEGER "
    "NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_sent_at INTEGER NOT NULL);"
    "CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);"
    "CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens(expires_at);";
constexpr const char* kLegacyV2toV4 =
    "CREATE TABLE code_attempts (purpose TEXT NOT NULL, email TEXT NOT NULL COLLATE NOCASE, "
    "address TEXT NOT NULL, wrong INTEGER NOT NULL, PRIMARY KEY (purpose, email, address));"
    "CREATE TABLE app_passwords (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES "
    "users(id) ON DELETE CASCADE, name TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, "
    "created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX app_passwords_by_user ON app_passwords(user_id, created_at);"
    "CREATE TABLE s3_keys (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON "
    "DELETE CASCADE, access_key TEXT NOT NULL UNIQUE, sealed_secret TEXT NOT NULL, "
    "created_at INTEGER NOT NULL);"
    "CREATE INDEX s3_keys_by_user ON s3_keys(user_id, created_at);";

std::vector<int> RecordedVersions(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT version FROM schema_migrations ORDER BY version");
  std::vector<int> out;
  while (q.executeStep()) out.push_back(q.getColumn(0).getInt());
  return out;
}

std::vector<int> AllAuthVersions() {
  std::vector<int> out;
  for (const auto& m : AuthMigrations()) out.push_back(m.version);
  return out;
}

// The store on the backend the run chose (support/metadata_backend.h):
// these tests run on SQLite and, in auth_store_test_postgres, on PostgreSQL.
class UserStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = nexus::testing::TestMetadataDb::Open({}, dir_ / "auth.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto s = UserStore::Open(target());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  const std::string& target() const { return db_->target(); }

  int64_t Count(const std::string& sql) {
    sql::Statement q = db_->conn().Prepare(sql);
    return q.Step() ? q.Int64(0) : -1;
  }

  UserRecord Alice() { return {"id-alice", "Alice", "alice@example.com", "$argon2id$x", 100}; }

  nexus::testing::TempDir dir_;
  std::unique_ptr<nexus::testing::TestMetadataDb> db_;
  std::unique_ptr<UserStore> store_;
};

// What only a SQLite file has: its mode, pragmas and the legacy scheme.
class UserStoreSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = UserStore::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  nexus::testing::TempDir dir_;
  const std::string path_ = dir_ / "auth.db";
  std::unique_ptr<UserStore> store_;
};

TEST_F(UserStoreSqliteTest, OpensInWalModeWithEveryMigrationRecorded) {
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(RecordedVersions(path_), AllAuthVersions());
}

TEST_F(UserStoreSqliteTest, CommitsAreSyncedToDisk) {
  EXPECT_EQ(store_->synchronous_for_test(), 2);  // FULL
}

TEST_F(UserStoreSqliteTest, MigratesALegacyVersionOneDatabaseKeepingItsRows) {
  store_.reset();
  const std::string old_path = dir_ / "v1.db";
  {
    SQLite::Database db(old_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(kLegacyV1);
    db.exec(
        "INSERT INTO pending_registrations VALUES ('bob@example.com', 'bob', 'h', 'o', 500, 2, "
        "200);"
        "PRAGMA user_version = 1;");
  }
  auto s = UserStore::Open(old_path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*(*s)->FindPending("bob@example.com"))->attempts, 2);
  ASSERT_TRUE((*s)->CountWrongTry(CodePurpose::kRegistration, "bob@example.com", "a").ok());
  EXPECT_EQ(*(*s)->WrongTriesFrom(CodePurpose::kRegistration, "bob@example.com", "a"), 1);
  EXPECT_EQ(RecordedVersions(old_path), AllAuthVersions());
}

// An auth.db of the nexus-auth before schema_migrations, at its last
// version: adopted as it is, every row still there.
TEST_F(UserStoreSqliteTest, AdoptsALegacyVersionFourDatabaseWithItsData) {
  store_.reset();
  const std::string old_path = dir_ / "v4.db";
  {
    SQLite::Database db(old_path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(kLegacyV1);
    db.exec(kLegacyV2toV4);
    db.exec(
        "INSERT INTO users VALUES ('id-alice', 'Alice', 'alice@example.com', 'h', 100);"
        "INSERT INTO revoked_tokens VALUES ('j-old', 4000000000);"
        "INSERT INTO code_attempts VALUES ('login', 'alice@example.com', 'a1', 2);"
        "INSERT INTO login_challenges VALUES ('alice@example.com', 'id-alice', 'o', 500, 2, 0);"
        "INSERT INTO app_passwords VALUES ('p1', 'id-alice', 'laptop', 'hash-p1', 100, 0);"
        "INSERT INTO s3_keys VALUES ('k1', 'id-alice', 'NXKEY', 'sealed', 100);"
        "PRAGMA user_version = 4;");
  }
  auto s = UserStore::Open(old_path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  UserStore& store = **s;
  auto alice = store.FindUserByUsername("alice");
  ASSERT_TRUE(alice.ok() && alice->has_value());
  EXPECT_EQ((*alice)->id, "id-alice");
  EXPECT_TRUE(store.IsRevoked("j-old"));
  EXPECT_EQ(*store.WrongTriesFrom(CodePurpose::kLogin, "alice@example.com", "a1"), 2);
  EXPECT_EQ((*store.FindChallenge("alice@example.com"))->attempts, 2);
  EXPECT_EQ(RecordedVersions(old_path), AllAuthVersions());
  // The usernames are still unique regardless of case, and the column the
  // new migration added works.
  EXPECT_EQ(store.CompleteRegistration({"id-2", "ALICE", "x@example.com", "h", 1}).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(store.RevokeToken("j-new", 4000000000).ok());
  {
    SQLite::Database db(old_path, SQLite::OPEN_READONLY);
    EXPECT_EQ(db.execAndGet("SELECT name FROM app_passwords WHERE id = 'p1'").getString(),
              "laptop");
    EXPECT_EQ(db.execAndGet("SELECT access_key FROM s3_keys WHERE id = 'k1'").getString(), "NXKEY");
    EXPECT_EQ(db.execAndGet("SELECT revoked_at FROM revoked_tokens WHERE jti = 'j-old'").getInt(),
              0);
    EXPECT_GT(db.execAndGet("SELECT revoked_at FROM revoked_tokens WHERE jti = 'j-new'").getInt(),
              0);
  }
  // Opening it again adopts nothing twice.
  s->reset();
  auto again = UserStore::Open(old_path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->IsRevoked("j-new"));
}

// The database and SQLite's -wal and -shm files are private from their
// creation, whatever the umask: a chmod afterwards would leave a window.
TEST_F(UserStoreSqliteTest, FilesAreCreatedOwnerOnlyEvenWithAnOpenUmask) {
  store_.reset();
  const std::string fresh = dir_ / "fresh.db";
  const mode_t old_umask = ::umask(0);
  auto s = UserStore::Open(fresh);
  ::umask(old_umask);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->RevokeToken("j", 100).ok());  // something in the WAL
  for (const std::string& f : {fresh, fresh + "-wal", fresh + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
}

TEST_F(UserStoreSqliteTest, ADatabaseOpenToOthersIsMadePrivate) {
  store_.reset();
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto s = UserStore::Open(path_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(UserStoreSqliteTest, RefusesDatabaseFromANewerVersion) {
  store_.reset();
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = 99");
  }
  auto s = UserStore::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
}

TEST_F(UserStoreSqliteTest, RefusesInMemoryPath) {
  EXPECT_FALSE(UserStore::Open(":memory:").ok());
  EXPECT_FALSE(UserStore::Open("").ok());
}

TEST_F(UserStoreTest, ReopeningKeepsData) {
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  store_.reset();
  auto again = UserStore::Open(target());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto u = (*again)->FindUserById("id-alice");
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->username, "Alice");
}

TEST_F(UserStoreTest, FindsUsersByIdNameAndEmailIgnoringCase) {
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  auto by_id = store_->FindUserById("id-alice");
  auto by_name = store_->FindUserByUsername("alice");
  auto by_email = store_->FindUserByEmail("ALICE@example.COM");
  ASSERT_TRUE(by_id.ok() && by_name.ok() && by_email.ok());
  ASSERT_TRUE(by_id->has_value() && by_name->has_value() && by_email->has_value());
  EXPECT_EQ((*by_name)->id, "id-alice");
  EXPECT_EQ((*by_name)->username, "Alice");  // spelling kept
  EXPECT_EQ((*by_email)->email, "alice@example.com");
  EXPECT_EQ((*by_id)->password_hash, "$argon2id$x");
  EXPECT_EQ((*by_id)->created_at, 100);

  auto none = store_->FindUserById("nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// Token checks on many threads at once each borrow a reader of the pool:
// every lookup gets its own user's row, none another thread's.
TEST_F(UserStoreTest, LookupsByIdOnManyThreadsAtOnceEachGetTheirOwnAnswer) {
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  ASSERT_TRUE(
      store_->CompleteRegistration({"id-bob", "Bob", "bob@example.com", "$argon2id$y", 200}).ok());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string id = (t + i) % 2 ? "id-alice" : "id-bob";
        auto found = store_->FindUserById(id);
        if (!found.ok() || !found->has_value() || (*found)->id != id) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(UserStoreTest, DuplicateUsernameOrEmailIsAlreadyExists) {
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  struct Case {
    UserRecord user;
  } cases[] = {
      {{"id-2", "ALICE", "other@example.com", "h", 1}},
      {{"id-3", "bob", "Alice@Example.com", "h", 1}},
      {{"id-alice", "carol", "carol@example.com", "h", 1}},
  };
  for (const auto& c : cases) {
    Status s = store_->CompleteRegistration(c.user);
    EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << c.user.username << " " << s.ToString();
  }
}

TEST_F(UserStoreTest, PendingRegistrationRoundTrip) {
  PendingRegistration p{"Alice@Example.com", "alice", "h1", "otp1", 500, 0, 200};
  ASSERT_TRUE(store_->PutPending(p).ok());
  auto got = store_->FindPending("alice@example.com");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->email, "alice@example.com");
  EXPECT_EQ((*got)->username, "alice");
  EXPECT_EQ((*got)->password_hash, "h1");
  EXPECT_EQ((*got)->otp_hash, "otp1");
  EXPECT_EQ((*got)->otp_expires_at, 500);
  EXPECT_EQ((*got)->attempts, 0);
  EXPECT_EQ((*got)->last_sent_at, 200);
}

TEST_F(UserStoreTest, ALivePendingRegistrationIsNeverReplaced) {
  ASSERT_TRUE(store_->PutPending({"alice@example.com", "alice", "h1", "otp1", 500, 0, 200}).ok());
  Status s = store_->PutPending({"ALICE@example.com", "mallory", "h2", "otp2", 800, 0, 499});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  auto got = **store_->FindPending("alice@example.com");
  EXPECT_EQ(got.username, "alice");
  EXPECT_EQ(got.password_hash, "h1");
  EXPECT_EQ(got.otp_hash, "otp1");

  // Once its code has expired, it may be.
  ASSERT_TRUE(store_->PutPending({"alice@example.com", "alice2", "h3", "otp3", 900, 0, 500}).ok());
  got = **store_->FindPending("alice@example.com");
  EXPECT_EQ(got.username, "alice2");
  EXPECT_EQ(got.password_hash, "h3");
  EXPECT_EQ(got.otp_hash, "otp3");
  EXPECT_EQ(got.last_sent_at, 500);
}

TEST_F(UserStoreTest, RenewingAPendingCodeKeepsTheRegistrationAndClearsTheCounts) {
  ASSERT_TRUE(store_->PutPending({"alice@example.com", "alice", "h1", "otp1", 500, 0, 200}).ok());
  ASSERT_TRUE(store_->CountWrongTry(CodePurpose::kRegistration, "alice@example.com", "a1").ok());
  ASSERT_TRUE(store_->RenewPendingCode("Alice@example.com", "otp2", 800, 300).ok());
  auto got = **store_->FindPending("alice@example.com");
  EXPECT_EQ(got.username, "alice");
  EXPECT_EQ(got.password_hash, "h1");
  EXPECT_EQ(got.otp_hash, "otp2");
  EXPECT_EQ(got.otp_expires_at, 800);
  EXPECT_EQ(got.last_sent_at, 300);
  EXPECT_EQ(got.attempts, 0);
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kRegistration, "alice@example.com", "a1"), 0);

  // Nothing to renew: none pending, or expired.
  EXPECT_EQ(store_->RenewPendingCode("bob@example.com", "x", 900, 300).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->RenewPendingCode("alice@example.com", "otp3", 1000, 800).code(),
            StatusCode::kNotFound);
}

TEST_F(UserStoreTest, WrongTriesAreCountedInTotalAndPerAddress) {
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  ASSERT_TRUE(store_->PutPending({"bob@example.com", "bob", "h", "otp", 500, 0, 200}).ok());
  ASSERT_TRUE(store_->PutChallenge({"alice@example.com", "id-alice", "otp", 500, 0, 200}).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->CountWrongTry(CodePurpose::kRegistration, "bob@example.com", "a1").ok());
  }
  ASSERT_TRUE(store_->CountWrongTry(CodePurpose::kRegistration, "BOB@example.com", "a2").ok());
  ASSERT_TRUE(store_->CountWrongTry(CodePurpose::kLogin, "alice@example.com", "a1").ok());

  EXPECT_EQ((*store_->FindPending("bob@example.com"))->attempts, 4);
  EXPECT_EQ((*store_->FindChallenge("alice@example.com"))->attempts, 1);
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kRegistration, "bob@example.com", "a1"), 3);
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kRegistration, "bob@example.com", "a2"), 1);
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kRegistration, "bob@example.com", "a3"), 0);
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kLogin, "alice@example.com", "a1"), 1);
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kLogin, "bob@example.com", "a1"), 0);

  // A new login code, or the removal of a code, starts its counts again.
  ASSERT_TRUE(store_->PutChallenge({"alice@example.com", "id-alice", "otp2", 600, 0, 300}).ok());
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kLogin, "alice@example.com", "a1"), 0);
  ASSERT_TRUE(store_->DeletePending("bob@example.com", "not-this-code").ok());
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kRegistration, "bob@example.com", "a1"), 3);
  ASSERT_TRUE(store_->DeletePending("bob@example.com").ok());
  EXPECT_EQ(*store_->WrongTriesFrom(CodePurpose::kRegistration, "bob@example.com", "a1"), 0);
}

TEST_F(UserStoreTest, ConditionalDeleteKeepsANewerCode) {
  ASSERT_TRUE(store_->PutPending({"a@example.com", "a", "h", "new", 500, 0, 200}).ok());
  ASSERT_TRUE(store_->DeletePending("a@example.com", "old").ok());
  EXPECT_TRUE(store_->FindPending("a@example.com")->has_value());
  ASSERT_TRUE(store_->DeletePending("a@example.com", "new").ok());
  EXPECT_FALSE(store_->FindPending("a@example.com")->has_value());
}

TEST_F(UserStoreTest, CompleteRegistrationRemovesThePendingRow) {
  ASSERT_TRUE(store_->PutPending({"alice@example.com", "Alice", "h", "otp", 500, 0, 200}).ok());
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  EXPECT_FALSE(store_->FindPending("alice@example.com")->has_value());
}

TEST_F(UserStoreTest, LoginChallengeRoundTrip) {
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  ASSERT_TRUE(store_->PutChallenge({"alice@example.com", "id-alice", "otp", 500, 2, 200}).ok());
  auto c = store_->FindChallenge("ALICE@example.com");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->user_id, "id-alice");
  EXPECT_EQ((*c)->attempts, 2);
  EXPECT_EQ((*c)->expires_at, 500);
  ASSERT_TRUE(store_->DeleteChallenge("alice@example.com", "other").ok());
  EXPECT_TRUE(store_->FindChallenge("alice@example.com")->has_value());
  ASSERT_TRUE(store_->DeleteChallenge("alice@example.com").ok());
  EXPECT_FALSE(store_->FindChallenge("alice@example.com")->has_value());
}

TEST_F(UserStoreTest, RevocationIsImmediateAndSurvivesReopen) {
  EXPECT_FALSE(store_->IsRevoked("j1"));
  ASSERT_TRUE(store_->RevokeToken("j1", 1000).ok());
  ASSERT_TRUE(store_->RevokeToken("j1", 1000).ok());  // idempotent
  EXPECT_TRUE(store_->IsRevoked("j1"));
  EXPECT_FALSE(store_->IsRevoked("j2"));
  store_.reset();
  auto again = UserStore::Open(target());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->IsRevoked("j1"));
}

TEST_F(UserStoreTest, PruneRemovesOnlyExpiredRows) {
  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  ASSERT_TRUE(store_->PutPending({"old@example.com", "old", "h", "o", 99, 0, 0}).ok());
  ASSERT_TRUE(store_->PutPending({"new@example.com", "new", "h", "o", 101, 0, 0}).ok());
  ASSERT_TRUE(store_->PutChallenge({"alice@example.com", "id-alice", "o", 99, 0, 0}).ok());
  ASSERT_TRUE(store_->RevokeToken("old", 99).ok());
  ASSERT_TRUE(store_->RevokeToken("new", 101).ok());

  ASSERT_TRUE(store_->CountWrongTry(CodePurpose::kRegistration, "old@example.com", "a").ok());
  ASSERT_TRUE(store_->CountWrongTry(CodePurpose::kRegistration, "new@example.com", "a").ok());
  ASSERT_TRUE(store_->CountWrongTry(CodePurpose::kLogin, "alice@example.com", "a").ok());

  ASSERT_TRUE(store_->PruneExpired(100).ok());
  EXPECT_FALSE(store_->FindPending("old@example.com")->has_value());
  EXPECT_EQ(Count("SELECT count(*) FROM code_attempts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM code_attempts WHERE email = 'new@example.com'"), 1);
  EXPECT_TRUE(store_->FindPending("new@example.com")->has_value());
  EXPECT_FALSE(store_->FindChallenge("alice@example.com")->has_value());
  EXPECT_FALSE(store_->IsRevoked("old"));
  EXPECT_TRUE(store_->IsRevoked("new"));
  store_.reset();
  auto again = UserStore::Open(target());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->IsRevoked("old"));
}

TEST_F(UserStoreTest, PingAnswers) { EXPECT_TRUE(store_->Ping().ok()); }

// Several nexus-auth processes share one PostgreSQL database: what one
// stores, the others read, and a logout through one is honoured by the
// others after their next poll.
TEST_F(UserStoreTest, TwoStoresOnOneDatabaseShareUsersAndRevocations) {
  if (!nexus::testing::MetadataTestsOnPostgres()) {
    GTEST_SKIP() << "only a PostgreSQL auth database is shared by several nexus-auth";
  }
  auto other = UserStore::Open(target());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  UserStore& second = **other;

  ASSERT_TRUE(store_->CompleteRegistration(Alice()).ok());
  auto seen = second.FindUserByUsername("ALICE");
  ASSERT_TRUE(seen.ok() && seen->has_value()) << seen.status().ToString();
  EXPECT_EQ((*seen)->id, "id-alice");
  EXPECT_EQ(second.CompleteRegistration({"id-2", "alice", "b@example.com", "h", 1}).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(second.CompleteRegistration({"id-bob", "bob", "bob@example.com", "h", 1}).ok());
  EXPECT_TRUE(store_->FindUserById("id-bob")->has_value());

  ASSERT_TRUE(store_->RevokeToken("j1", 4000000000).ok());
  EXPECT_TRUE(store_->IsRevoked("j1"));
  ASSERT_TRUE(second.RefreshRevoked().ok());
  EXPECT_TRUE(second.IsRevoked("j1"));
  ASSERT_TRUE(second.RevokeToken("j2", 4000000000).ok());
  ASSERT_TRUE(store_->RefreshRevoked(/*full=*/true).ok());
  EXPECT_TRUE(store_->IsRevoked("j2"));
  EXPECT_FALSE(store_->IsRevoked("j3"));
}

}  // namespace
}  // namespace nexus::auth
