// AuthService tokens: validation (expiry, tampering, foreign keys, alg none),
// revocation by logout, and the profile and health calls.
#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <cstring>

#include "unit/auth/auth_service_rig.h"

namespace nexus::auth {
namespace {

std::string B64Url(const std::string& s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

TEST_F(AuthServiceTest, ValidateTokenNeverWritesTheDatabase) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(service_->Logout(Login("alice")->token).ok());  // a revocation to look up
  const auto size_of = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
  };
  const int64_t wal = size_of(db_path_ + "-wal");
  ASSERT_GT(wal, 0);
  SQLite::Database watcher(db_path_, SQLite::OPEN_READONLY);
  const int64_t version = watcher.execAndGet("PRAGMA data_version").getInt64();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(service_->ValidateToken(t->token).ok());
  // data_version changes on the watcher's connection when any other
  // connection commits; the WAL grows with any write.
  EXPECT_EQ(watcher.execAndGet("PRAGMA data_version").getInt64(), version);
  EXPECT_EQ(size_of(db_path_ + "-wal"), wal);
}

TEST_F(AuthServiceTest, ExpiredTokenIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  clock_.AdvanceSeconds(24 * 3600);
  ExpectUnauthenticated(service_->ValidateToken(t->token), "expired");
}

TEST_F(AuthServiceTest, TamperedTokenIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  std::string token = t->token;
  const auto dot = token.find('.');
  token[dot + 3] = token[dot + 3] == 'a' ? 'b' : 'a';  // inside the payload
  ExpectUnauthenticated(service_->ValidateToken(token), "tampered payload");
}

TEST_F(AuthServiceTest, AlgNoneTokenIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  auto id = service_->ValidateToken(t->token);
  ASSERT_TRUE(id.ok());
  const int64_t now = clock_.NowSeconds();
  const std::string header = B64Url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload =
      B64Url(R"({"sub":")" + id->user_id + R"(","username":"alice","jti":"forged","iat":)" +
             std::to_string(now) + R"(,"exp":)" + std::to_string(now + 3600) + "}");
  ExpectUnauthenticated(service_->ValidateToken(header + "." + payload + "."), "alg none");
}

TEST_F(AuthServiceTest, TokenSignedWithAnotherKeyIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  auto id = service_->ValidateToken(t->token);
  ASSERT_TRUE(id.ok());
  JwtSigner other(std::string(32, 'x'), clock_, 3600);
  auto forged = other.Sign(id->user_id, "alice");
  ASSERT_TRUE(forged.ok());
  ExpectUnauthenticated(service_->ValidateToken(forged->token), "other key");
}

TEST_F(AuthServiceTest, LogoutRevokesTheTokenEvenAfterRestart) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  auto other = Login("alice");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(service_->Logout(t->token).ok());
  ExpectUnauthenticated(service_->ValidateToken(t->token), "revoked");
  EXPECT_TRUE(service_->ValidateToken(other->token).ok());  // only that token

  service_.reset();
  store_.reset();
  auto reopened = UserStore::Open(db_path_);
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(reopened).value();
  Build();
  ExpectUnauthenticated(service_->ValidateToken(t->token), "revoked after restart");
  EXPECT_TRUE(service_->ValidateToken(other->token).ok());
}

TEST_F(AuthServiceTest, TokenOfDeletedUserIsRejected) {
  auto t = Register("alice", kAliceEmail);
  ASSERT_TRUE(t.ok());
  {
    SQLite::Database db(db_path_, SQLite::OPEN_READWRITE);
    db.exec("DELETE FROM users WHERE username = 'alice'");
  }
  ExpectUnauthenticated(service_->ValidateToken(t->token), "deleted user");
}

TEST_F(AuthServiceTest, LogoutOfInvalidTokenIsUnauthenticated) {
  EXPECT_EQ(service_->Logout("garbage").code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, GetUserReturnsProfileOrNotFound) {
  ASSERT_TRUE(Register("alice", kAliceEmail).ok());
  auto u = service_->GetUser("alice");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->username, "alice");
  EXPECT_EQ(u->email, kAliceEmail);
  EXPECT_EQ(u->created_at, clock_.NowSeconds());
  EXPECT_FALSE(u->id.empty());
  EXPECT_EQ(service_->GetUser("nobody").status().code(), StatusCode::kNotFound);
}

TEST_F(AuthServiceTest, HealthIsOk) { EXPECT_TRUE(service_->Health().ok()); }

}  // namespace
}  // namespace nexus::auth
