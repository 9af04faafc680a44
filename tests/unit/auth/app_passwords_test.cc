#include "auth/app_passwords.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <cctype>
#include <memory>

#include "support/auth_app_password_stores.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace nexus::auth {
namespace {

// AppPasswords over real stores in a temp dir, a FakeClock and a failure
// limit of 3 at once, then one per 10 s.
class AppPasswordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(stores_.Open(path_));
    Build();
  }

  void Build() {
    app_ = std::make_unique<AppPasswords>(
        policy_,
        AppPasswords::Deps{clock_, *stores_.users, *stores_.app_passwords, hasher_, failures_});
  }

  NewAppPassword Create(const std::string& user, const std::string& name = "laptop") {
    auto r = app_->Create(user, name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : NewAppPassword{};
  }

  nexus::testing::FakeClock clock_;
  nexus::testing::TempDir dir_;
  const std::string path_ = dir_ / "auth.db";
  AppPasswordHasher hasher_{std::string(32, 'k')};
  RateLimiter failures_{clock_, {3, 10}};
  AppPasswords::Policy policy_;
  nexus::testing::AuthStores stores_;
  std::unique_ptr<AppPasswords> app_;
};

TEST_F(AppPasswordsTest, CreatedPasswordValidatesForItsOwnerAndFillsTheIdentity) {
  NewAppPassword p = Create("alice", "Finder");
  EXPECT_EQ(p.info.name, "Finder");
  EXPECT_EQ(p.info.created_at, clock_.NowSeconds());
  EXPECT_FALSE(p.info.id.empty());
  EXPECT_EQ(p.password.size(), 39u);  // 32 characters in 8 groups

  auto id = app_->Validate("alice", p.password, "10.0.0.1");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->username, "Alice");  // the stored spelling
  EXPECT_EQ(id->user_id, "id-alice");
  EXPECT_EQ(id->email, "alice@example.com");
  EXPECT_EQ(id->created_at, 10);
  EXPECT_EQ(id->app_password_id, p.info.id);
}

TEST_F(AppPasswordsTest, TheSecretIsStoredOnlyAsItsKeyedHash) {
  NewAppPassword p = Create("alice");
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT secret_hash FROM app_passwords");
  ASSERT_TRUE(q.executeStep());
  const std::string stored = q.getColumn(0).getString();
  EXPECT_EQ(stored, hasher_.Hash(*CanonicalAppPassword(p.password)));
  EXPECT_EQ(stored.find(*CanonicalAppPassword(p.password)), std::string::npos);
}

TEST_F(AppPasswordsTest, WrongSecretsUsernamesAndMalformedInputAreUnauthenticated) {
  NewAppPassword alice = Create("alice");
  NewAppPassword bob = Create("bob");
  struct Case {
    std::string username;
    std::string password;
  } cases[] = {
      {"bob", alice.password},  // another user's secret
      {"alice", bob.password},  // ... either way round
      {"", alice.password},     // no username
      {"alice", ""},            // no password
      {"alice", "hunter2"},     // an account-password-like guess
      {"alice", alice.password + "a"},
      {"alic", alice.password},
  };
  int n = 0;
  for (const Case& c : cases) {
    // Each case from an address of its own, clear of the failure limit.
    auto r = app_->Validate(c.username, c.password, "10.0.1." + std::to_string(++n));
    ASSERT_FALSE(r.ok()) << c.username << " " << c.password;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(r.status().message(), kInvalidAppPasswordMessage);
  }
}

TEST_F(AppPasswordsTest, UsernameCaseAndTheSecretsDashesAndCaseDoNotMatter) {
  NewAppPassword p = Create("alice");
  std::string typed = *CanonicalAppPassword(p.password);
  for (char& c : typed) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(app_->Validate("ALICE", typed, "10.0.0.1").ok());
  EXPECT_TRUE(app_->Validate("Alice", p.password, "10.0.0.1").ok());
}

TEST_F(AppPasswordsTest, DeleteRevokesAtOnceAndOnlyTheOwnerCanDelete) {
  NewAppPassword p = Create("alice");
  ASSERT_TRUE(app_->Validate("alice", p.password, "10.0.0.1").ok());
  EXPECT_EQ(app_->Delete("bob", p.info.id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(app_->Validate("alice", p.password, "10.0.0.1").ok());
  ASSERT_TRUE(app_->Delete("alice", p.info.id).ok());
  EXPECT_EQ(app_->Validate("alice", p.password, "10.0.0.1").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(app_->Delete("alice", p.info.id).code(), StatusCode::kNotFound);
  EXPECT_EQ(app_->Delete("alice", "no-such-id").code(), StatusCode::kNotFound);
}

TEST_F(AppPasswordsTest, ListShowsOnlyTheUsersOwnWithLastUseToTheMinute) {
  NewAppPassword first = Create("alice", "first");
  clock_.AdvanceSeconds(1);
  NewAppPassword second = Create("alice", "second");
  Create("bob", "bobs");
  const int64_t t0 = clock_.NowSeconds();
  ASSERT_TRUE(app_->Validate("alice", second.password, "10.0.0.1").ok());
  clock_.AdvanceSeconds(30);  // within the resolution: not written again
  ASSERT_TRUE(app_->Validate("alice", second.password, "10.0.0.1").ok());

  auto list = app_->List("alice");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "first");
  EXPECT_EQ((*list)[0].last_used_at, 0);
  EXPECT_EQ((*list)[1].name, "second");
  EXPECT_EQ((*list)[1].last_used_at, t0);

  clock_.AdvanceSeconds(30);
  ASSERT_TRUE(app_->Validate("alice", second.password, "10.0.0.1").ok());
  EXPECT_EQ((*app_->List("alice"))[1].last_used_at, t0 + 60);
}

TEST_F(AppPasswordsTest, NamesAreValidatedAndTheCapIsPerUser) {
  EXPECT_EQ(app_->Create("alice", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(app_->Create("alice", "bad\nname").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(app_->Create("nobody", "x").status().code(), StatusCode::kNotFound);
  policy_.max_per_user = 2;
  Build();
  Create("alice", "one");
  Create("alice", "two");
  auto third = app_->Create("alice", "three");
  EXPECT_EQ(third.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(third.status().message(), "at most 2 app passwords per account; delete one first");
  Create("bob", "his first");
}

TEST_F(AppPasswordsTest, FailuresPerAddressAreRateLimitedEvenForTheRightSecret) {
  NewAppPassword p = Create("alice");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(app_->Validate("alice", "wrong", "10.0.0.9").status().code(),
              StatusCode::kUnauthenticated)
        << i;
  }
  auto limited = app_->Validate("alice", p.password, "10.0.0.9");
  EXPECT_EQ(limited.status().code(), StatusCode::kRateLimited);
  EXPECT_EQ(limited.status().retry_after_seconds(), 10);
  // Another address is not slowed; an IPv6 client counts per /64.
  EXPECT_TRUE(app_->Validate("alice", p.password, "10.0.0.1").ok());
  for (int i = 0; i < 3; ++i) (void)app_->Validate("alice", "wrong", "2001:db8:1:2::a");
  EXPECT_EQ(app_->Validate("alice", p.password, "2001:db8:1:2::b").status().code(),
            StatusCode::kRateLimited);

  clock_.AdvanceSeconds(10);
  EXPECT_TRUE(app_->Validate("alice", p.password, "10.0.0.9").ok());
}

TEST_F(AppPasswordsTest, RightSecretsCostNothingFromTheFailureLimit) {
  NewAppPassword p = Create("alice");
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(app_->Validate("alice", p.password, "10.0.0.1").ok());
  for (int i = 0; i < 3; ++i) (void)app_->Validate("alice", "wrong", "10.0.0.1");
  EXPECT_EQ(app_->Validate("alice", p.password, "10.0.0.1").status().code(),
            StatusCode::kRateLimited);
}

}  // namespace
}  // namespace nexus::auth
