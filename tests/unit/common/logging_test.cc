#include "common/logging.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

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
  const std::string inner = "inner";
  {
    RequestIdScope scope(inner);
    EXPECT_EQ(CurrentRequestId(), "inner");
    const std::string innermost = "innermost";
    {
      RequestIdScope nested(innermost);
      EXPECT_EQ(CurrentRequestId(), "innermost");
    }
    EXPECT_EQ(CurrentRequestId(), "inner");
  }
  EXPECT_EQ(CurrentRequestId(), "outer");
  SetCurrentRequestId("");
}

// The scope binds the string itself: who owns it may change the id.
TEST(LoggingTest, ARequestIdScopeFollowsItsStringsChanges) {
  std::string id = "first";
  RequestIdScope scope(id);
  id = "second";
  EXPECT_EQ(CurrentRequestId(), "second");
}

TEST(LoggingTest, AThreadStartsWithoutARequestId) {
  std::string seen = "unset";
  std::thread([&] { seen = CurrentRequestId(); }).join();
  EXPECT_EQ(seen, "");
}

}  // namespace
}  // namespace nexus
