#include "auth/s3_keys.h"

#include <gtest/gtest.h>

#include <memory>
#include <regex>

#include "common/memory_env.h"
#include "support/auth_app_password_stores.h"
#include "support/fake_clock.h"
#include "support/metadata_backend.h"
#include "support/temp_dir.h"

namespace nexus::auth {
namespace {

// S3Keys over the real stores, on the backend the run chose
// (support/metadata_backend.h), and a FakeClock.
class S3KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = nexus::testing::TestMetadataDb::Open({}, dir_ / "auth.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_NO_FATAL_FAILURE(stores_.Open(db_->target()));
    auto store = S3KeyStore::Open(db_->target());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    keys_ = std::make_unique<S3Keys>(policy_, S3Keys::Deps{clock_, *stores_.users, *store_, box_});
  }

  NewS3Key Create(const std::string& user) {
    auto r = keys_->Create(user);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : NewS3Key{};
  }

  nexus::testing::FakeClock clock_;
  nexus::testing::TempDir dir_;
  std::unique_ptr<nexus::testing::TestMetadataDb> db_;
  S3SecretBox box_{std::string(32, 'k')};
  S3Keys::Policy policy_{.max_per_user = 2};
  nexus::testing::AuthStores stores_;
  std::unique_ptr<S3KeyStore> store_;
  std::unique_ptr<S3Keys> keys_;
};

TEST_F(S3KeysTest, CreatedKeyLooksUpToItsOwnerAndSecret) {
  NewS3Key k = Create("alice");
  EXPECT_TRUE(std::regex_match(k.info.access_key, std::regex("NX[A-Z2-7]{18}")));
  EXPECT_TRUE(std::regex_match(k.secret_key, std::regex("[A-Za-z0-9]{40}")));
  EXPECT_EQ(k.info.created_at, clock_.NowSeconds());

  auto id = keys_->Lookup(k.info.access_key);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->username, "Alice");
  EXPECT_EQ(id->user_id, "id-alice");
  EXPECT_EQ(id->email, "alice@example.com");
  EXPECT_EQ(id->secret_key, k.secret_key);

  EXPECT_EQ(keys_->Lookup("NXAAAAAAAAAAAAAAAAAA").status().code(), StatusCode::kNotFound);
}

TEST_F(S3KeysTest, TheDatabaseHoldsOnlyTheSealedSecret) {
  NewS3Key k = Create("alice");
  sql::Statement q = db_->conn().Prepare("SELECT sealed_secret FROM s3_keys");
  ASSERT_TRUE(q.Step());
  const std::string sealed = q.Text(0);
  EXPECT_EQ(sealed.find(k.secret_key), std::string::npos);
  auto opened = box_.Open(sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, k.secret_key);
  // Another server key opens nothing.
  EXPECT_FALSE(S3SecretBox(std::string(32, 'x')).Open(sealed).ok());
}

TEST_F(S3KeysTest, ListsWithoutSecretsAndDeletesOnlyTheOwnersKeys) {
  NewS3Key a = Create("alice");
  clock_.AdvanceSeconds(5);
  NewS3Key b = Create("Alice");
  EXPECT_EQ(keys_->Create("alice").status().code(), StatusCode::kPermissionDenied);

  auto list = keys_->List("alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, a.info.id);
  EXPECT_EQ((*list)[1].access_key, b.info.access_key);
  EXPECT_TRUE(keys_->List("bob")->empty());

  EXPECT_EQ(keys_->Delete("bob", a.info.id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(keys_->Delete("alice", a.info.id).ok());
  EXPECT_EQ(keys_->Delete("alice", a.info.id).code(), StatusCode::kNotFound);
  EXPECT_EQ(keys_->Lookup(a.info.access_key).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(keys_->Lookup(b.info.access_key).ok());
  EXPECT_EQ(keys_->Create("nobody").status().code(), StatusCode::kNotFound);
}

TEST(S3SecretBoxKeyTest, IsCreatedPrivateOnceAndReadBackAfter) {
  MemoryEnv env;
  auto first = LoadOrCreateS3SecretBoxKey(env, "/data/s3.key");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), S3SecretBox::kKeyBytes);
  auto info = env.Stat("/data/s3.key");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->mode & 0777, 0600u);
  auto again = LoadOrCreateS3SecretBoxKey(env, "/data/s3.key");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
}

TEST(S3SecretBoxKeyTest, RefusesAKeyFileOthersCanRead) {
  MemoryEnv env;
  ASSERT_TRUE(env.MakeDirs("/data", 0700).ok());
  ASSERT_TRUE(
      env.WriteFileAtomically("/data/s3.key", std::string(32, 'k'), 0640, WriteMode::kNoReplace)
          .ok());
  EXPECT_EQ(LoadOrCreateS3SecretBoxKey(env, "/data/s3.key").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(S3SecretBoxKeyTest, RefusesAKeyFileOfTheWrongSize) {
  MemoryEnv env;
  ASSERT_TRUE(env.MakeDirs("/data", 0700).ok());
  ASSERT_TRUE(
      env.WriteFileAtomically("/data/s3.key", std::string(31, 'k'), 0600, WriteMode::kNoReplace)
          .ok());
  EXPECT_EQ(LoadOrCreateS3SecretBoxKey(env, "/data/s3.key").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::auth
