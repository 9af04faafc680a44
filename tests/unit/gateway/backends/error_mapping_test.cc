#include "gateway/backends/error_mapping.h"

#include <gtest/gtest.h>

namespace nexus::gateway {
namespace {

TEST(ErrorMappingTest, MapsEveryStatusCodeToItsHttpStatus) {
  struct Case {
    StatusCode code;
    int http;
  } cases[] = {
      {StatusCode::kInvalidArgument, 400},      {StatusCode::kUnauthenticated, 401},
      {StatusCode::kPermissionDenied, 403},     {StatusCode::kNotFound, 404},
      {StatusCode::kAlreadyExists, 409},        {StatusCode::kPayloadTooLarge, 413},
      {StatusCode::kUnsupportedMediaType, 415}, {StatusCode::kRangeNotSatisfiable, 416},
      {StatusCode::kRateLimited, 429},          {StatusCode::kInternal, 500},
      {StatusCode::kUnimplemented, 501},        {StatusCode::kUpstreamFailed, 502},
      {StatusCode::kUnavailable, 503},          {StatusCode::kDeadlineExceeded, 504},
      {StatusCode::kQuotaExceeded, 507},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HttpStatusFor(c.code), c.http) << StatusCodeName(c.code);
    Response r = ErrorResponse(Status(c.code, "boom"), "rid");
    EXPECT_EQ(r.status, c.http) << StatusCodeName(c.code);
    EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");
    if (c.http != 500) {
      EXPECT_EQ(r.body, R"({"error":"boom"})");
    }
  }
}

TEST(ErrorMappingTest, RateLimitedCarriesRetryAfter) {
  Response r = ErrorResponse(RateLimitedError("too many attempts", 42), "rid");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.Get("Retry-After"), "42");
  EXPECT_EQ(r.body, R"({"error":"too many attempts"})");
}

TEST(ErrorMappingTest, RateLimitedWithoutDelayStillSaysWhenToRetry) {
  Response r = ErrorResponse(RateLimitedError("slow down", 0), "rid");
  EXPECT_EQ(r.headers.Get("Retry-After"), "1");
}

TEST(ErrorMappingTest, UnauthorizedNamesTheBearerScheme) {
  Response r = ErrorResponse(UnauthenticatedError("invalid or expired token"), "rid");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.Get("WWW-Authenticate"), "Bearer");
  EXPECT_FALSE(ErrorResponse(NotFoundError("x"), "rid").headers.Has("WWW-Authenticate"));
}

TEST(ErrorMappingTest, UnauthorizedWithTheBasicReasonNamesTheBasicScheme) {
  Response r = ErrorResponse(UnauthenticatedError("invalid username or app password")
                                 .set_reason(Reason::kBasicAuthChallenge),
                             "rid");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.Get("WWW-Authenticate"), R"(Basic realm="Nexus", charset="UTF-8")");
  EXPECT_EQ(r.body, R"({"error":"invalid username or app password"})");
}

TEST(ErrorMappingTest, ABusyServiceSaysWhenToRetry) {
  Response r = ErrorResponse(UnavailableError("busy").set_retry_after_seconds(1), "rid");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.Get("Retry-After"), "1");
}

TEST(ErrorMappingTest, OtherErrorsHaveNoRetryAfter) {
  EXPECT_FALSE(ErrorResponse(UnavailableError("down"), "rid").headers.Has("Retry-After"));
}

TEST(ErrorMappingTest, AReasonWithAClientTextShowsItInsteadOfTheMessage) {
  struct Case {
    Reason reason;
    const char* body;
  } cases[] = {
      {Reason::kNodesUnsupportedHere,
       R"({"error":"nodes need root and runc with the CNI plugins; they are unavailable on this host"})"},
      {Reason::kLambdaUnsupportedHere,
       R"j({"error":"lambda is unavailable on this host (needs root and runc)"})j"},
      {Reason::kBackendDown, R"({"error":"runc missing at /opt/x/runc"})"},
      {Reason::kNone, R"({"error":"runc missing at /opt/x/runc"})"},
  };
  for (const auto& c : cases) {
    Response r =
        ErrorResponse(UnavailableError("runc missing at /opt/x/runc").set_reason(c.reason), "rid");
    EXPECT_EQ(r.status, 503) << ReasonName(c.reason);
    EXPECT_EQ(r.body, c.body) << ReasonName(c.reason);
  }
}

TEST(ErrorMappingTest, InternalErrorNeverShowsItsMessage) {
  Response r = ErrorResponse(InternalError("open '/var/lib/secret.db': Permission denied"), "rid");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"error":"internal error"})");
}

TEST(ErrorMappingTest, AnOkStatusIsABugAndAnswersInternalError) {
  Response r = ErrorResponse(Status::Ok(), "rid");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"error":"internal error"})");
}

TEST(ErrorMappingTest, MessagesAreJsonEscaped) {
  Response r = ErrorResponse(InvalidArgumentError("bad \"name\"\n\\"), "rid");
  EXPECT_EQ(r.body, R"({"error":"bad \"name\"\n\\"})");
}

TEST(ErrorMappingTest, InvalidUtf8InAMessageDoesNotThrow) {
  Response r = ErrorResponse(InvalidArgumentError("bad \xff byte"), "rid");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("bad "), std::string::npos);
}

}  // namespace
}  // namespace nexus::gateway
