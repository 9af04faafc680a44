#include "common/status.h"

#include <gtest/gtest.h>

#include "common/result.h"

namespace nexus {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgumentError("not positive");
  return v;
}

Result<int> Doubled(int v) {
  NEXUS_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return x * 2;
}

Status Check(int v) {
  NEXUS_RETURN_IF_ERROR(ParsePositive(v).status());
  return Status::Ok();
}

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = RateLimitedError("slow down", 7).WithContext("login");
  EXPECT_EQ(s.code(), StatusCode::kRateLimited);
  EXPECT_EQ(s.message(), "login: slow down");
  EXPECT_EQ(s.retry_after_seconds(), 7);
}

TEST(StatusTest, CodeNamesRoundTrip) {
  for (auto code : {StatusCode::kOk, StatusCode::kInvalidArgument, StatusCode::kQuotaExceeded,
                    StatusCode::kUpstreamFailed, StatusCode::kRangeNotSatisfiable}) {
    EXPECT_EQ(StatusCodeFromName(StatusCodeName(code)), code);
  }
  EXPECT_EQ(StatusCodeFromName("no such code"), StatusCode::kInternal);
}

TEST(StatusTest, ReasonNamesRoundTripAndUnknownNamesMeanNone) {
  Reason reasons[] = {Reason::kNone, Reason::kBackendDown, Reason::kNodesUnsupportedHere,
                      Reason::kLambdaUnsupportedHere};
  for (Reason r : reasons) EXPECT_EQ(ReasonFromName(ReasonName(r)), r) << ReasonName(r);
  EXPECT_EQ(ReasonName(Reason::kNone), "");
  EXPECT_EQ(ReasonFromName("a_reason_from_a_newer_peer"), Reason::kNone);
}

TEST(StatusTest, OnlyHostDetailReasonsHaveAClientMessage) {
  EXPECT_EQ(ReasonClientMessage(Reason::kNone), "");
  EXPECT_EQ(ReasonClientMessage(Reason::kBackendDown), "");
  EXPECT_NE(ReasonClientMessage(Reason::kNodesUnsupportedHere), "");
  EXPECT_NE(ReasonClientMessage(Reason::kLambdaUnsupportedHere), "");
}

TEST(StatusTest, WithContextKeepsTheReasonAndRetryAfter) {
  Status s = UnavailableError("busy").set_retry_after_seconds(3).set_reason(Reason::kBackendDown);
  Status c = s.WithContext("upload");
  EXPECT_EQ(c.reason(), Reason::kBackendDown);
  EXPECT_EQ(c.retry_after_seconds(), 3);
  EXPECT_EQ(c.message(), "upload: busy");
}

TEST(StatusTest, ErrnoErrorKeepsStrerror) {
  Status s = ErrnoError(StatusCode::kInternal, "open 'x'", ENOENT);
  EXPECT_EQ(s.message(), "open 'x': No such file or directory");
}

TEST(ResultTest, AssignOrReturnPropagatesErrorsAndValues) {
  EXPECT_EQ(Doubled(4).value(), 8);
  EXPECT_EQ(Doubled(-1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Check(1).ok());
  EXPECT_FALSE(Check(0).ok());
}

}  // namespace
}  // namespace nexus
