#include "gateway/http/basic_auth.h"

#include <gtest/gtest.h>

#include "gateway/backends/error_mapping.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::FakeAuthClient;
using testing::RunAwaitable;

Headers Authorization(std::string value) {
  Headers h;
  h.Add("Authorization", std::move(value));
  return h;
}

TEST(ParseBasicCredentialsTest, SplitsAtTheFirstColonInAnySchemeCase) {
  struct Case {
    const char* header;
    const char* username;
    const char* password;
  } cases[] = {
      {"Basic YWxpY2U6cHc=", "alice", "pw"},
      {"basic YWxpY2U6cHc=", "alice", "pw"},
      {"BASIC   YWxpY2U6cHc=  ", "alice", "pw"},
      {"Basic YWxpY2U6YTpiOmM=", "alice", "a:b:c"},                     // "alice:a:b:c"
      {"Basic YWxpY2U6", "alice", ""},                                  // "alice:" (empty password)
      {"Basic w6lsb8Ovc2U6cMOk", "\xC3\xA9lo\xC3\xAFse", "p\xC3\xA4"},  // UTF-8
  };
  for (const auto& c : cases) {
    auto r = ParseBasicCredentials(Authorization(c.header));
    ASSERT_TRUE(r.ok()) << c.header << ": " << r.status().ToString();
    EXPECT_EQ(r->username, c.username) << c.header;
    EXPECT_EQ(r->password, c.password) << c.header;
  }
}

TEST(ParseBasicCredentialsTest, MissingOrMalformedIsUnauthenticatedWithTheBasicChallenge) {
  auto missing = ParseBasicCredentials(Headers());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.status().reason(), Reason::kBasicAuthChallenge);
  EXPECT_EQ(missing.status().message(), "missing Authorization header");

  const std::string long_name(kBasicCredentialMaxBytes + 1, 'a');
  const std::string bad[] = {
      "",
      "Basic",
      "Basic ",
      "Bearer abc.def",
      "BasicYWxpY2U6cHc=",
      "Basic YWxpY2U6cHc",     // unpadded
      "Basic YWxpY2U=",        // "alice": no colon
      "Basic OnB3",            // ":pw": no username
      "Basic YWxpY2U6cAp3",    // "alice:p\nw": a control character
      "Basic YWxpY2U6/w==",    // "alice:\xFF": not UTF-8
      "Basic YWxpY2U6cHc= x",  // two tokens
      "Basic " + std::string("YWxpY2U6cHc=,YWxpY2U6cHc="),
      // A username over the limit: base64 of long_name + ":pw".
      "Basic " + testing::Base64(long_name + ":pw"),
  };
  for (const std::string& header : bad) {
    auto r = ParseBasicCredentials(Authorization(header));
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << header;
    EXPECT_EQ(r.status().reason(), Reason::kBasicAuthChallenge) << header;
    EXPECT_EQ(r.status().message(),
              "malformed Authorization header (expected: Basic base64(username:password))")
        << header;
  }
}

class AuthenticateBasicTest : public ::testing::Test {
 protected:
  Status Run(Request& r) { return RunAwaitable(AuthenticateBasic(auth_, r)); }
  FakeAuthClient auth_;
};

TEST_F(AuthenticateBasicTest, ValidAppPasswordFillsThePrincipalLikeABearerToken) {
  auth_.AcceptAppPassword("alice", "abcd-efgh", "alice@example.com", 1700000000);
  // "alice:abcd-efgh"
  Request r = testing::MakeRequest("PROPFIND", "", Authorization("Basic YWxpY2U6YWJjZC1lZmdo"));
  ASSERT_TRUE(Run(r).ok());
  EXPECT_EQ(r.principal.username, "alice");
  EXPECT_EQ(r.principal.user_id, "id-alice");
  EXPECT_EQ(r.principal.email, "alice@example.com");
  EXPECT_EQ(r.principal.created_at, 1700000000);
  ASSERT_EQ(auth_.validate_app_password_calls.size(), 1u);
  const auto& call = auth_.validate_app_password_calls[0];
  EXPECT_EQ(call.username(), "alice");
  EXPECT_EQ(call.password(), "abcd-efgh");
  EXPECT_EQ(call.client_address(), "192.0.2.7");
  EXPECT_TRUE(auth_.validate_calls.empty());  // never the token path
}

TEST_F(AuthenticateBasicTest, MissingOrMalformedIsAChallengeWithoutABackendCall) {
  Request missing = testing::MakeRequest("GET");
  Status s = Run(missing);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  Response resp = ErrorResponse(s, "rid");
  EXPECT_EQ(resp.status, 401);
  EXPECT_EQ(resp.headers.Get("WWW-Authenticate"), kBasicAuthChallenge);

  Request bearer = testing::MakeRequest("GET", "", testing::BearerHeaders("tok"));
  EXPECT_EQ(Run(bearer).reason(), Reason::kBasicAuthChallenge);
  EXPECT_TRUE(auth_.validate_app_password_calls.empty());
  EXPECT_TRUE(missing.principal.username.empty());
}

TEST_F(AuthenticateBasicTest, RejectedPasswordIsAChallengeWithOneMessage) {
  Request r = testing::MakeRequest("GET", "", Authorization("Basic YWxpY2U6cHc="));
  Status s = Run(r);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(s.reason(), Reason::kBasicAuthChallenge);
  EXPECT_EQ(s.message(), "invalid username or app password");
  EXPECT_TRUE(r.principal.username.empty());
  EXPECT_EQ(ErrorResponse(s, "rid").headers.Get("WWW-Authenticate"), kBasicAuthChallenge);
}

TEST_F(AuthenticateBasicTest, RateLimitAndDeadServicePassThroughWithoutAChallenge) {
  Request r = testing::MakeRequest("GET", "", Authorization("Basic YWxpY2U6cHc="));
  auth_.validate_app_password_error = RateLimitedError("too many failed sign-ins", 6);
  Status limited = Run(r);
  EXPECT_EQ(limited.code(), StatusCode::kRateLimited);
  Response resp = ErrorResponse(limited, "rid");
  EXPECT_EQ(resp.status, 429);
  EXPECT_EQ(resp.headers.Get("Retry-After"), "6");
  EXPECT_FALSE(resp.headers.Has("WWW-Authenticate"));

  auth_.validate_app_password_error = UnavailableError("auth service unavailable");
  EXPECT_EQ(Run(r).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace nexus::gateway
