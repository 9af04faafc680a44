#include "cli/units.h"

#include <gtest/gtest.h>

namespace nexus::cli {
namespace {

TEST(UnitsTest, MebibytesTakeBareNumbersAsMiB) {
  EXPECT_EQ(*ParseMebibytes("256"), 256);
  EXPECT_EQ(*ParseMebibytes("0"), 0);
}

// The spellings are the server's (common/storage_size.h): units, "iB"/"B"
// suffixes, fractions that come to whole MiB.
TEST(UnitsTest, MebibytesReadTheServersSizeSpellings) {
  EXPECT_EQ(*ParseMebibytes("256M"), 256);
  EXPECT_EQ(*ParseMebibytes("256MiB"), 256);
  EXPECT_EQ(*ParseMebibytes("1G"), 1024);
  EXPECT_EQ(*ParseMebibytes("1.5G"), 1536);
  EXPECT_EQ(*ParseMebibytes("2048K"), 2);
}

TEST(UnitsTest, MebibytesRefuseWhatIsNotWholeMiB) {
  for (const char* text :
       {"", "M", "1500K", "1.5M", "-1", "1X", "99999999999T", "1 G", "99999999999999999999"}) {
    EXPECT_FALSE(ParseMebibytes(text).ok()) << text;
  }
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
