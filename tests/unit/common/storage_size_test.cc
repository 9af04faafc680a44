#include "common/storage_size.h"

#include <gtest/gtest.h>

#include <limits>

namespace nexus {
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

// Every size that does not fit in int64 is refused, however it is spelled:
// the digits alone, the digits times a unit, or the fraction on top. Before
// the digit loop checked ahead of its step, "18446744073709551680M" (2^64 +
// 64, in MiB) wrapped around to 64 MiB.
TEST(ParseStorageSizeTest, RefusesEverySizeBeyondInt64WithoutWrappingAround) {
  const char* cases[] = {
      "18446744073709551680M",  // 2^64 + 64: wrapped to 64M
      "18446744073709551616",   // 2^64
      "18446744073709551617",   // 2^64 + 1: wrapped to 1
      "18446744073709551615",   // UINT64_MAX
      "18446744073709551615B",
      "36893488147419103232K",  // 2^65
      "9223372036854775808",    // INT64_MAX + 1
      "9223372036854775808B",
      "9223372036854775807K",  // INT64_MAX times a unit
      "9007199254740992K",     // 2^53 K = 2^63
      "8589934592G",           // 2^33 G = 2^63
      "8192P",                 // 2^63
      "8192.0P",
      "99999999999999999999999999999999999999999999999999",
      "100000000000000000000000000000000000000000000000000G",
      "00000000000000000000000000000000000000018446744073709551616",
  };
  for (const char* text : cases) {
    auto r = ParseStorageSize(text);
    EXPECT_FALSE(r.ok()) << "'" << text << "' parsed as " << (r.ok() ? *r : 0);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("too large"), std::string::npos) << text;
    }
  }
}

TEST(ParseStorageSizeTest, AcceptsSizesUpToInt64MaxExactly) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    const char* text;
    int64_t bytes;
  } cases[] = {
      {"9223372036854775807", kMax},
      {"9223372036854775807B", kMax},
      {"0009223372036854775807", kMax},
      {"9223372036854775806", kMax - 1},
      {"9007199254740991K", kMax - 1023},
      {"8191P", int64_t{8191} << 50},
      // The largest fraction below the limit: 18 digits of .9 at P are
      // 2^50 - 1 bytes after rounding down, which lands on INT64_MAX.
      {"8191.999999999999999999P", kMax},
      {"8191.9999999999999999999999P", kMax},  // digits past the 18th change nothing
      {"8388607.999999999999999999T", kMax},
      {"1.5K", 1536},
      {"0.0001K", 0},  // a fraction of a byte rounds down
  };
  for (const auto& c : cases) {
    auto r = ParseStorageSize(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(*r, c.bytes) << c.text;
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
    if (c.bytes > 0) {
      EXPECT_EQ(*ParseStorageSize(FormatStorageSize(c.bytes)), c.bytes);
    }
  }
}

}  // namespace
}  // namespace nexus
