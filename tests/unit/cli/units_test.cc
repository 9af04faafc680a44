#include "cli/units.h"

#include <gtest/gtest.h>

namespace nexus::cli {
namespace {

TEST(UnitsTest, ParsesSizesWithBinarySuffixes) {
  struct Case {
    const char* text;
    uint64_t bytes;
  } cases[] = {
      {"0", 0},           {"1024", 1024},     {"1K", 1024},         {"256M", 256ull << 20},
      {"1G", 1ull << 30}, {"2T", 2ull << 40}, {"1GiB", 1ull << 30}, {"3MB", 3ull << 20},
      {"5B", 5},
  };
  for (const auto& c : cases) {
    Result<uint64_t> r = ParseSize(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(*r, c.bytes) << c.text;
  }
}

TEST(UnitsTest, RejectsMalformedAndOverflowingSizes) {
  for (const char* text : {"", "M", "1.5G", "-1", "1X", "99999999999T", "1 G"}) {
    EXPECT_FALSE(ParseSize(text).ok()) << text;
  }
}

TEST(UnitsTest, MebibytesTakeBareNumbersAsMiBAndRefuseFractions) {
  EXPECT_EQ(*ParseMebibytes("256"), 256);
  EXPECT_EQ(*ParseMebibytes("256M"), 256);
  EXPECT_EQ(*ParseMebibytes("1G"), 1024);
  EXPECT_FALSE(ParseMebibytes("1500K").ok());
}

TEST(UnitsTest, ParsesDurationsAsMilliseconds) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMs("30"), 30'000);
  EXPECT_EQ(*ParseDurationMs("2m"), 120'000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3'600'000);
  EXPECT_FALSE(ParseDurationMs("soon").ok());
  EXPECT_FALSE(ParseDurationMs("3d").ok());
}

TEST(UnitsTest, FormatsBytesRatesAndTimesForPeople) {
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(100ull << 20), "100 MiB");
  EXPECT_EQ(FormatBytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(FormatRate(2.0 * (1 << 20)), "2.0 MiB/s");
  EXPECT_EQ(FormatRate(0), "0 B/s");
  EXPECT_EQ(FormatEta(5), "0:05");
  EXPECT_EQ(FormatEta(62), "1:02");
  EXPECT_EQ(FormatEta(3723), "1:02:03");
  EXPECT_EQ(FormatEta(-1), "--:--");
}

}  // namespace
}  // namespace nexus::cli
