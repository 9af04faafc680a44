#include "daemon/runtime/size_parse.h"

#include <gtest/gtest.h>

namespace nexus::daemon::runtime {
namespace {

TEST(ParseStorageSizeTest, ReadsTheSpellingsUsersWrite) {
  struct Case {
    const char* text;
    int64_t bytes;
  } cases[] = {
      {"512M", 512LL << 20},
      {"1G", 1LL << 30},
      {"1.5G", 3LL << 29},
      {"2048M", 2LL << 30},
      {"1073741824", 1073741824},
      {"0", 0},
      {"64m", 64LL << 20},
      {"1g", 1LL << 30},
      {"1Gi", 1LL << 30},
      {"1GiB", 1LL << 30},
      {"512MB", 512LL << 20},
      {"100K", 100 << 10},
      {"2T", 2LL << 40},
      {"1P", 1LL << 50},
      {"0.5G", 512LL << 20},
      {"1.25M", (1 << 20) + (1 << 18)},
      {"1.0000000001K", 1024},  // a fraction of a byte is dropped
      {"100b", 100},
      {"100B", 100},
      {"8191P", 8191LL << 50},
  };
  for (const auto& c : cases) {
    auto r = ParseStorageSize(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(*r, c.bytes) << c.text;
  }
}

TEST(ParseStorageSizeTest, RejectsWhatIsNotASize) {
  const char* cases[] = {
      "",
      "G",
      "-1G",
      "+1G",
      " 1G",
      "1G ",
      "1 G",
      "1.G",
      ".5G",
      "1.5",
      "1X",
      "1GG",
      "1Gx",
      "1MiBB",
      "1e9",
      "0x10",
      "1,5G",
      "1..5G",
      "abc",
      "1Kb2",
      "8192P",
      "9223372036854775808",
      "99999999999999999999",
  };
  for (const char* text : cases) {
    auto r = ParseStorageSize(text);
    EXPECT_FALSE(r.ok()) << "'" << text << "' parsed as " << (r.ok() ? *r : 0);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find(std::string("'") + text + "'"), std::string::npos);
    }
  }
}

TEST(FormatStorageSizeTest, PicksTheLargestExactUnit) {
  struct Case {
    int64_t bytes;
    const char* text;
  } cases[] = {
      {1LL << 30, "1G"}, {3LL << 29, "1536M"}, {64LL << 20, "64M"},
      {100, "100"},      {1024, "1K"},         {10LL << 40, "10T"},
      {0, "0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatStorageSize(c.bytes), c.text);
    if (c.bytes > 0) EXPECT_EQ(*ParseStorageSize(FormatStorageSize(c.bytes)), c.bytes);
  }
}

}  // namespace
}  // namespace nexus::daemon::runtime
