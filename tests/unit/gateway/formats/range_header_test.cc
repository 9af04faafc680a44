#include "gateway/formats/range_header.h"

#include <gtest/gtest.h>

#include <limits>

namespace nexus::gateway {
namespace {

TEST(RangeHeaderTest, ParsesOneByteRangeAndIgnoresEverythingElse) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    const char* header;
    std::optional<RequestedRange> want;
  } cases[] = {
      {"bytes=0-99", RequestedRange{0, 100}},
      {"bytes=0-0", RequestedRange{0, 1}},
      {"bytes=100-", RequestedRange{100, -1}},
      {"bytes=-500", RequestedRange{-500, -1}},
      {"bytes=-0", RequestedRange{0, 0}},  // a suffix of nothing: nexusd says 416
      {"Bytes=5-9", RequestedRange{5, 5}},
      {"  bytes = 5 - 9 ", RequestedRange{5, 5}},
      {"bytes=9223372036854775806-", RequestedRange{9223372036854775806, -1}},
      {"bytes=0-9223372036854775806", RequestedRange{0, 9223372036854775807}},
      // Several ranges: served as the whole file (RFC 9110 lets us).
      {"bytes=0-0,5-9", std::nullopt},
      {"bytes=0-0,", std::nullopt},
      // Malformed: ignored.
      {"bytes=5-1", std::nullopt},
      {"bytes=abc", std::nullopt},
      {"bytes=-", std::nullopt},
      {"bytes=", std::nullopt},
      {"bytes=1-2-3", std::nullopt},
      {"bytes=+1-2", std::nullopt},
      {"bytes=0x10-", std::nullopt},
      // Positions beyond int64: past the end of every file, never wrapped.
      {"bytes=99999999999999999999-", RequestedRange{kMax, -1}},
      {"bytes=9223372036854775808-", RequestedRange{kMax, -1}},
      {"bytes=18446744073709551616-", RequestedRange{kMax, -1}},
      {"bytes=0-99999999999999999999", RequestedRange{0, -1}},
      {"bytes=0-18446744073709551615", RequestedRange{0, -1}},
      {"bytes=5-99999999999999999999", RequestedRange{5, kMax - 4}},
      {"bytes=-99999999999999999999", RequestedRange{-kMax, -1}},
      {"bytes=-18446744073709551617", RequestedRange{-kMax, -1}},
      {"bytes=99999999999999999999-99999999999999999999", RequestedRange{kMax, 1}},
      {"bytes=9223372036854775807-9223372036854775807", RequestedRange{kMax, 1}},
      {"bytes=99999999999999999999-5", std::nullopt},  // last < first
      {"bytes=--5", std::nullopt},
      {"items=0-5", std::nullopt},
      {"bytes 0-5", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseRangeHeader(c.header), c.want) << c.header;
  }
}

TEST(RangeHeaderTest, FormatsContentRange) {
  EXPECT_EQ(ContentRange(0, 100, 1000), "bytes 0-99/1000");
  EXPECT_EQ(ContentRange(999, 1, 1000), "bytes 999-999/1000");
  EXPECT_EQ(UnsatisfiedContentRange(1000), "bytes */1000");
  EXPECT_EQ(UnsatisfiedContentRange(0), "bytes */0");
}

}  // namespace
}  // namespace nexus::gateway
