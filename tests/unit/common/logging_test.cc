#include "common/logging.h"

#include <gtest/gtest.h>

#include <string>

namespace nexus {
namespace {

TEST(LoggingTest, JsonEscapingKeepsALineOneValidString) {
  const struct {
    std::string in;
    std::string out;
  } cases[] = {
      {"plain", "plain"},
      {"a\"b", "a\\\"b"},
      {"back\\slash", "back\\\\slash"},
      {"line\nbreak\r\t", "line\\u000abreak\\u000d\\u0009"},
      {std::string("nul\0x", 5), "nul\\u0000x"},
      {"del\x7f", "del\\u007f"},
  };
  for (const auto& c : cases) {
    std::string out;
    AppendJsonEscaped(out, c.in);
    EXPECT_EQ(out, c.out) << c.in;
  }
}

TEST(LoggingTest, ARequestIdScopeSetsThenRestoresTheThreadsId) {
  SetCurrentRequestId("outer");
  {
    RequestIdScope scope("inner");
    EXPECT_EQ(CurrentRequestId(), "inner");
  }
  EXPECT_EQ(CurrentRequestId(), "outer");
  SetCurrentRequestId("");
}

}  // namespace
}  // namespace nexus
