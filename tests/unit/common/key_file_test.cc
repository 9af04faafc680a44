#include "common/key_file.h"

#include <gtest/gtest.h>

#include "common/memory_env.h"

namespace nexus {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  Result<std::string> Load(const std::string& path, size_t min, size_t max) {
    ++made_;
    return LoadOrCreateKeyFile(env_, path, KeyFileRules{"test key", min, max},
                               [this] { return std::string(16, static_cast<char>('a' + made_)); });
  }
  MemoryEnv env_;
  int made_ = 0;
};

TEST_F(KeyFileTest, CreatesTheKeyOnceWithMode0600AndPrivateParents) {
  env_.PutFile("/data/other", "");
  auto first = Load("/data/keys/k", 16, 16);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, std::string(16, 'b'));
  EXPECT_EQ(env_.Stat("/data/keys/k")->mode, 0600u);
  EXPECT_EQ(env_.Stat("/data/keys")->mode, 0700u);
  EXPECT_EQ(env_.Stat("/data")->mode, 0755u);  // an existing parent stays as it is
  auto again = Load("/data/keys/k", 16, 16);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first) << "the second start reads the first one's key";
}

TEST_F(KeyFileTest, RefusesAModeWiderThan0600AndNamesIt) {
  for (mode_t mode : {0640, 0604, 0700, 04600}) {
    env_.PutFile("/k", std::string(16, 'k'), mode);
    auto key = Load("/k", 16, 16);
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos);
    EXPECT_NE(key.status().message().find("test key '/k'"), std::string::npos);
  }
  env_.PutFile("/k", std::string(16, 'k'), 0400);
  EXPECT_TRUE(Load("/k", 16, 16).ok()) << "a stricter mode is fine";
}

TEST_F(KeyFileTest, SizeBoundsAreExactOrARange) {
  env_.PutFile("/k", std::string(15, 'k'), 0600);
  EXPECT_NE(Load("/k", 16, 16).status().message().find("holds 15 bytes, not 16"),
            std::string::npos);
  EXPECT_NE(Load("/k", 16, 64).status().message().find("shorter than 16"), std::string::npos);
  env_.PutFile("/k", std::string(65, 'k'), 0600);
  EXPECT_NE(Load("/k", 16, 64).status().message().find("longer than 64"), std::string::npos);
  env_.PutFile("/k", std::string(40, 'k'), 0600);
  EXPECT_EQ(*Load("/k", 16, 64), std::string(40, 'k'));
}

}  // namespace
}  // namespace nexus
