#include "gateway/http/middleware.h"

#include <gtest/gtest.h>

#include "support/gateway_fake_auth_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::FakeAuthClient;
using testing::RunAwaitable;

Headers With(std::initializer_list<std::pair<const char*, const char*>> fields) {
  Headers h;
  for (const auto& [k, v] : fields) h.Add(k, v);
  return h;
}

TEST(ParseBearerTokenTest, AcceptsBearerSchemeInAnyCase) {
  const char* cases[] = {"Bearer abc.def", "bearer abc.def", "BEARER  abc.def ", " Bearer abc.def"};
  for (const char* value : cases) {
    auto t = ParseBearerToken(With({{"authorization", value}}));
    ASSERT_TRUE(t.ok()) << value;
    EXPECT_EQ(*t, "abc.def") << value;
  }
}

TEST(ParseBearerTokenTest, MissingOrMalformedHeaderIsUnauthenticated) {
  EXPECT_EQ(ParseBearerToken(Headers()).status().message(), "missing Authorization header");
  const char* malformed[] = {"",        "Bearer",     "Bearer ",     "Basic YWxpY2U6cHc=",
                             "abc.def", "Bearer a b", "Bearertoken", "Token abc"};
  for (const char* value : malformed) {
    auto t = ParseBearerToken(With({{"Authorization", value}}));
    ASSERT_FALSE(t.ok()) << value;
    EXPECT_EQ(t.status().code(), StatusCode::kUnauthenticated) << value;
    EXPECT_EQ(t.status().message(), "malformed Authorization header (expected: Bearer <token>)")
        << value;
  }
}

TEST(HasBearerSchemeTest, NamesTheSchemeWhateverFollows) {
  for (const char* value : {"Bearer abc", "bearer abc", " BEARER abc", "Bearer", "Bearer a b"}) {
    EXPECT_TRUE(HasBearerScheme(With({{"Authorization", value}}))) << value;
  }
  for (const char* value : {"Basic YWxpY2U6cHc=", "Bearertoken", "", "Token abc"}) {
    EXPECT_FALSE(HasBearerScheme(With({{"Authorization", value}}))) << value;
  }
  EXPECT_FALSE(HasBearerScheme(Headers()));
}

TEST(CheckBodyHeadersTest, DeclaredBodyOverTheLimitIsPayloadTooLarge) {
  struct Case {
    const char* content_length;
    BodyMode mode;
    StatusCode want;
  } cases[] = {
      {"100", BodyMode::kJson, StatusCode::kOk},
      {"100", BodyMode::kNone, StatusCode::kOk},
      {"101", BodyMode::kJson, StatusCode::kPayloadTooLarge},
      {"101", BodyMode::kNone, StatusCode::kPayloadTooLarge},
      {"99999999999999999999999", BodyMode::kJson, StatusCode::kPayloadTooLarge},
      {"5000000", BodyMode::kStream, StatusCode::kOk},
      {"abc", BodyMode::kJson, StatusCode::kInvalidArgument},
      {"-1", BodyMode::kJson, StatusCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    Request r = testing::MakeRequest("POST", "", With({{"Content-Length", c.content_length}}));
    Status s = CheckBodyHeaders(r, c.mode, 100);
    EXPECT_EQ(s.code(), c.want) << c.content_length;
  }
  Request r = testing::MakeRequest("POST", "", With({{"content-length", "101"}}));
  EXPECT_EQ(CheckBodyHeaders(r, BodyMode::kJson, 100).message(),
            "request body too large (limit 100 bytes)");
}

TEST(CheckBodyHeadersTest, JsonRoutesRefuseOtherContentTypes) {
  struct Case {
    const char* content_type;  // nullptr: header absent
    StatusCode want;
  } cases[] = {
      {nullptr, StatusCode::kOk},
      {"application/json", StatusCode::kOk},
      {"Application/JSON", StatusCode::kOk},
      {"application/json; charset=utf-8", StatusCode::kOk},
      {"application/json;charset=UTF-8", StatusCode::kOk},
      {"text/plain", StatusCode::kUnsupportedMediaType},
      {"application/x-www-form-urlencoded", StatusCode::kUnsupportedMediaType},
      {"multipart/form-data; boundary=x", StatusCode::kUnsupportedMediaType},
      {"application/jsonp", StatusCode::kUnsupportedMediaType},
  };
  for (const auto& c : cases) {
    Headers h;
    if (c.content_type) h.Add("Content-Type", c.content_type);
    Request r = testing::MakeRequest("POST", "{}", h);
    EXPECT_EQ(CheckBodyHeaders(r, BodyMode::kJson, 100).code(), c.want)
        << (c.content_type ? c.content_type : "(none)");
  }
}

TEST(CheckBodyHeadersTest, OnlyJsonRoutesCheckContentType) {
  Request r = testing::MakeRequest("POST", "", With({{"Content-Type", "text/plain"}}));
  EXPECT_TRUE(CheckBodyHeaders(r, BodyMode::kNone, 100).ok());
  EXPECT_TRUE(CheckBodyHeaders(r, BodyMode::kStream, 100).ok());
}

TEST(AssignRequestIdTest, KeepsASaneClientIdAndReplacesOthers) {
  Request sane = testing::MakeRequest("GET", "", With({{"X-Request-Id", "req-42.a_b:c"}}));
  AssignRequestId(sane);
  EXPECT_EQ(sane.request_id, "req-42.a_b:c");

  const std::string too_long(65, 'a');
  const std::string insane[] = {"", "has space", "new\nline", "quote\"", too_long};
  for (const std::string& id : insane) {
    Request r = testing::MakeRequest("GET", "", With({{"X-Request-Id", id.c_str()}}));
    AssignRequestId(r);
    EXPECT_EQ(r.request_id.size(), 16u) << id;
    EXPECT_NE(r.request_id, id);
  }
}

TEST(AssignRequestIdTest, GeneratesDistinctIds) {
  Request a = testing::MakeRequest("GET");
  Request b = testing::MakeRequest("GET");
  AssignRequestId(a);
  AssignRequestId(b);
  EXPECT_EQ(a.request_id.size(), 16u);
  EXPECT_NE(a.request_id, b.request_id);
}

class AuthenticateTest : public ::testing::Test {
 protected:
  Status Run(Request& r) { return RunAwaitable(Authenticate(auth_, r)); }
  FakeAuthClient auth_;
};

TEST_F(AuthenticateTest, ValidTokenFillsThePrincipal) {
  auth_.AcceptToken("good", "alice", "alice@example.com", 1700000000);
  Request r = testing::MakeRequest("GET", "", testing::BearerHeaders("good"));
  ASSERT_TRUE(Run(r).ok());
  EXPECT_EQ(r.principal.username, "alice");
  EXPECT_EQ(r.principal.user_id, "id-alice");
  EXPECT_EQ(r.principal.email, "alice@example.com");
  EXPECT_EQ(r.principal.created_at, 1700000000);
  ASSERT_EQ(auth_.validate_calls.size(), 1u);
  EXPECT_EQ(auth_.validate_calls[0].token(), "good");
}

TEST_F(AuthenticateTest, MissingOrMalformedHeaderIsUnauthorizedWithoutABackendCall) {
  Request missing = testing::MakeRequest("GET");
  EXPECT_EQ(Run(missing).code(), StatusCode::kUnauthenticated);
  Request malformed = testing::MakeRequest("GET", "", With({{"Authorization", "Basic x"}}));
  EXPECT_EQ(Run(malformed).code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(auth_.validate_calls.empty());
  EXPECT_TRUE(missing.principal.username.empty());
}

TEST_F(AuthenticateTest, RejectedTokenIsUnauthorized) {
  Request r = testing::MakeRequest("GET", "", testing::BearerHeaders("forged"));
  Status s = Run(r);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "invalid or expired token");
  EXPECT_TRUE(r.principal.username.empty());
}

TEST_F(AuthenticateTest, DeadAuthServiceIsUnavailableNotUnauthorized) {
  auth_.validate_error = UnavailableError("auth service unavailable");
  Request r = testing::MakeRequest("GET", "", testing::BearerHeaders("good"));
  Status s = Run(r);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "auth service unavailable");
}

}  // namespace
}  // namespace nexus::gateway
