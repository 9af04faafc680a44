#include "cli/errors.h"

#include <gtest/gtest.h>

namespace nexus::cli {
namespace {

TEST(ErrorsTest, ServerErrorTextBecomesTheMessage) {
  Status s = StatusFromHttpError(507, R"({"error":"storage quota exceeded: 10 of 5 bytes"})");
  EXPECT_EQ(s.code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(s.message(), "storage quota exceeded: 10 of 5 bytes");
}

TEST(ErrorsTest, BodyThatIsNotTheErrorFormatNamesTheStatus) {
  Status s = StatusFromHttpError(502, "<html>bad gateway</html>");
  EXPECT_EQ(s.code(), StatusCode::kUpstreamFailed);
  EXPECT_EQ(s.message(), "the server answered HTTP 502");
}

TEST(ErrorsTest, MapsStatusesToCodes) {
  struct Case {
    long http;
    StatusCode code;
  } cases[] = {{400, StatusCode::kInvalidArgument},  {401, StatusCode::kUnauthenticated},
               {403, StatusCode::kPermissionDenied}, {404, StatusCode::kNotFound},
               {409, StatusCode::kAlreadyExists},    {429, StatusCode::kRateLimited},
               {503, StatusCode::kUnavailable},      {500, StatusCode::kInternal}};
  for (const auto& c : cases) EXPECT_EQ(StatusCodeFromHttp(c.http), c.code) << c.http;
}

TEST(ErrorsTest, ExitCodesAreZeroOneTwoAndOneThirtyForCtrlC) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
  EXPECT_EQ(ExitCodeFor(NotFoundError("x")), 1);
  EXPECT_EQ(ExitCodeFor(UsageError("give a command")), 2);
  EXPECT_EQ(ExitCodeFor(InterruptedError("put")), 130);
  EXPECT_TRUE(IsInterrupted(InterruptedError("put")));
  EXPECT_FALSE(IsInterrupted(NotFoundError("interrupted")));
}

}  // namespace
}  // namespace nexus::cli
