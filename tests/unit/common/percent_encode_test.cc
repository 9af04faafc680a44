#include "common/percent_encode.h"

#include <gtest/gtest.h>

namespace nexus {
namespace {

TEST(PercentEncodeTest, KeepsTheUnreservedAndEncodesTheRestInUpperCase) {
  EXPECT_EQ(PercentEncode("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(PercentEncode("a b+c=d~e_f.g-h"), "a%20b%2Bc%3Dd~e_f.g-h");
  EXPECT_EQ(PercentEncode("a%b&c"), "a%25b%26c");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9") << "UTF-8 byte by byte";
  EXPECT_EQ(PercentEncode(std::string_view("\0\xff", 2)), "%00%FF");
}

TEST(PercentEncodeTest, ASlashIsEncodedUnlessKept) {
  EXPECT_EQ(PercentEncode("/docs/a b&c=d"), "%2Fdocs%2Fa%20b%26c%3Dd");
  EXPECT_EQ(PercentEncode("chunks/", false), "chunks%2F");
  EXPECT_EQ(PercentEncode("chunks/ab", true), "chunks/ab");
  EXPECT_EQ(PercentEncode("a b/c", true), "a%20b/c");
}

}  // namespace
}  // namespace nexus
