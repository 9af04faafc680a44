// The whole request path without a socket: Pipeline::Handle over the real
// route table, with fake backends.
#include <gtest/gtest.h>

#include "gateway/api/routes.h"
#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::BearerHeaders;
using testing::JsonHeaders;
using testing::MakeRequest;
using testing::RunAwaitable;

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() : pipeline_(router_, auth_, PipelineOptions{1024}) {
    RegisterRoutes(router_, auth_, daemon_);
    auth_.AcceptToken("tok", "alice", "alice@example.com", 1700000000);
  }

  Response Send(std::string method, const std::string& target, std::string body = "",
                Headers headers = Headers()) {
    last_ = MakeRequest(std::move(method), std::move(body), std::move(headers));
    return RunAwaitable(pipeline_.Handle(last_, target));
  }
  Response PostJson(const std::string& target, std::string body) {
    return Send("POST", target, std::move(body), JsonHeaders());
  }

  testing::FakeAuthClient auth_;
  testing::RecordingDaemonClient daemon_;
  Router router_;
  Pipeline pipeline_;
  Request last_;
};

TEST_F(GatewayTest, RegisterInitSendsFieldsAndClientIpAndAnswersTheContractMessage) {
  Response r = PostJson("/auth/register/init",
                        R"({"Username":"alice","Password":"hunter2","Email":"alice@example.com"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"message":"OTP sent to email"})");
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");
  ASSERT_EQ(auth_.register_init_calls.size(), 1u);
  const auto& call = auth_.register_init_calls[0];
  EXPECT_EQ(call.username(), "alice");
  EXPECT_EQ(call.password(), "hunter2");
  EXPECT_EQ(call.email(), "alice@example.com");
  EXPECT_EQ(call.client_ip(), "192.0.2.7");
}

TEST_F(GatewayTest, LowercaseFieldNamesWorkToo) {
  Response r = PostJson("/auth/register/init",
                        R"({"username":"bob","password":"pw123456","email":"b@example.com"})");
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(auth_.register_init_calls.size(), 1u);
  EXPECT_EQ(auth_.register_init_calls[0].username(), "bob");
}

TEST_F(GatewayTest, BadAuthBodiesAreBadRequestsAndNeverReachTheBackend) {
  struct Case {
    const char* target;
    const char* body;
    const char* error;
  } cases[] = {
      {"/auth/register/init", R"({"Username":"a","Password":"p"})",
       R"({"error":"missing field 'Email'"})"},
      {"/auth/register/init", R"({"Username":1,"Password":"p","Email":"e"})",
       R"({"error":"field 'Username' must be a string"})"},
      {"/auth/register/verify", R"({"Email":"e"})", R"({"error":"missing field 'Code'"})"},
      {"/auth/login/init", R"({"Username":"a"})", R"({"error":"missing field 'Password'"})"},
      {"/auth/login/verify", R"({"Code":"123456"})", R"({"error":"missing field 'Email'"})"},
      {"/auth/login/init", "", R"({"error":"request body must be a JSON object"})"},
      {"/auth/login/init", "{oops", "{\"error\":\"malformed JSON body (at byte 2)\"}"},
  };
  for (const auto& c : cases) {
    Response r = PostJson(c.target, c.body);
    EXPECT_EQ(r.status, 400) << c.target << " " << c.body;
    EXPECT_EQ(r.body, c.error) << c.target << " " << c.body;
  }
  EXPECT_TRUE(auth_.register_init_calls.empty());
  EXPECT_TRUE(auth_.register_verify_calls.empty());
  EXPECT_TRUE(auth_.login_init_calls.empty());
  EXPECT_TRUE(auth_.login_verify_calls.empty());
}

TEST_F(GatewayTest, AuthServiceErrorsKeepTheirStatusAndMessage) {
  auth_.register_init_answer = AlreadyExistsError("username already taken");
  Response taken = PostJson("/auth/register/init",
                            R"({"Username":"alice","Password":"hunter2","Email":"a@e.com"})");
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(taken.body, R"({"error":"username already taken"})");

  auth_.login_init_answer = RateLimitedError("too many attempts", 30);
  Response limited = PostJson("/auth/login/init", R"({"Username":"alice","Password":"x"})");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.Get("Retry-After"), "30");

  auth_.login_verify_answer = UnauthenticatedError("invalid or expired code");
  Response wrong = PostJson("/auth/login/verify", R"({"Email":"a@e.com","Code":"000000"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, R"({"error":"invalid or expired code"})");

  auth_.register_verify_answer = UnavailableError("auth service unavailable");
  Response down = PostJson("/auth/register/verify", R"({"Email":"a@e.com","Code":"1"})");
  EXPECT_EQ(down.status, 503);
}

TEST_F(GatewayTest, RegisterVerifyAnswersTokenAndUsername) {
  authpb::TokenResponse t;
  t.set_token("jwt.value.sig");
  t.set_username("alice");
  t.set_expires_at(1700086400);
  auth_.register_verify_answer = t;
  Response r =
      PostJson("/auth/register/verify", R"({"Email":"alice@example.com","Code":"123456"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"token":"jwt.value.sig","username":"alice"})");
  ASSERT_EQ(auth_.register_verify_calls.size(), 1u);
  EXPECT_EQ(auth_.register_verify_calls[0].email(), "alice@example.com");
  EXPECT_EQ(auth_.register_verify_calls[0].code(), "123456");
  EXPECT_EQ(auth_.register_verify_calls[0].client_ip(), "192.0.2.7");
}

TEST_F(GatewayTest, LoginInitNamesTheEmailTheCodeWentTo) {
  authpb::LoginInitResponse a;
  a.set_email("alice@example.com");
  auth_.login_init_answer = a;
  Response r = PostJson("/auth/login/init", R"({"Username":"alice","Password":"hunter2"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"message":"OTP sent to alice@example.com"})");
  ASSERT_EQ(auth_.login_init_calls.size(), 1u);
  EXPECT_EQ(auth_.login_init_calls[0].username(), "alice");
  EXPECT_EQ(auth_.login_init_calls[0].password(), "hunter2");
  EXPECT_EQ(auth_.login_init_calls[0].client_ip(), "192.0.2.7");
}

TEST_F(GatewayTest, LoginVerifyAnswersTokenAndUsername) {
  authpb::TokenResponse t;
  t.set_token("jwt2");
  t.set_username("alice");
  auth_.login_verify_answer = t;
  Response r = PostJson("/auth/login/verify", R"({"email":"alice@example.com","code":"654321"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"token":"jwt2","username":"alice"})");
  ASSERT_EQ(auth_.login_verify_calls.size(), 1u);
  EXPECT_EQ(auth_.login_verify_calls[0].code(), "654321");
}

TEST_F(GatewayTest, LogoutRevokesTheBearerToken) {
  Response r = Send("POST", "/auth/logout", "", BearerHeaders("tok"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"message":"Logged out"})");
  ASSERT_EQ(auth_.logout_calls.size(), 1u);
  EXPECT_EQ(auth_.logout_calls[0].token(), "tok");
}

TEST_F(GatewayTest, LogoutWithoutTokenIsUnauthorized) {
  Response r = Send("POST", "/auth/logout");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, R"({"error":"missing Authorization header"})");
  EXPECT_TRUE(auth_.logout_calls.empty());
}

TEST_F(GatewayTest, MeAnswersTheProfileFromValidateToken) {
  Response r = Send("GET", "/api/me", "", BearerHeaders("tok"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"created":"2023-11-14T22:13:20Z","created_at":1700000000,)"
                    R"("email":"alice@example.com",)"
                    R"("usage":{"files":0,"folders":0,"quota_bytes":0,"used_bytes":0},)"
                    R"("username":"alice"})");
  EXPECT_EQ(auth_.validate_calls.size(), 1u);
  ASSERT_EQ(daemon_.get_usage.calls.size(), 1u);
  EXPECT_EQ(daemon_.get_usage.calls[0].owner(), "alice");
  EXPECT_EQ(last_.principal.username, "alice");
}

TEST_F(GatewayTest, ApiRoutesNeedAValidToken) {
  struct Case {
    Headers headers;
    const char* error;
  } cases[] = {
      {Headers(), R"({"error":"missing Authorization header"})"},
      {BearerHeaders(""),
       "{\"error\":\"malformed Authorization header (expected: Bearer <token>)\"}"},
      {BearerHeaders("forged"), R"({"error":"invalid or expired token"})"},
  };
  for (const auto& c : cases) {
    Response r = Send("GET", "/api/me", "", c.headers);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, c.error);
  }
}

TEST_F(GatewayTest, DeadAuthServiceMakesApiRoutesUnavailable) {
  auth_.validate_error = UnavailableError("auth service unavailable");
  Response r = Send("GET", "/api/me", "", BearerHeaders("tok"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"error":"auth service unavailable"})");
}

TEST_F(GatewayTest, HealthIsOkWhenBothBackendsAnswer) {
  Response r = Send("GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"auth":"ok","daemon":"ok","status":"ok"})");
  EXPECT_EQ(auth_.health_calls, 1);
  EXPECT_EQ(daemon_.health.calls.size(), 1u);
}

TEST_F(GatewayTest, HealthNamesEveryBackendThatIsDown) {
  struct Case {
    bool auth_up;
    bool daemon_up;
    const char* body;
  } cases[] = {
      {false, true,
       R"({"auth":"unavailable","daemon":"ok","error":"backend unavailable: auth",)"
       R"("status":"degraded"})"},
      {true, false,
       R"({"auth":"ok","daemon":"unavailable","error":"backend unavailable: daemon",)"
       R"("status":"degraded"})"},
      {false, false,
       R"({"auth":"unavailable","daemon":"unavailable",)"
       R"("error":"backend unavailable: auth, daemon","status":"degraded"})"},
  };
  for (const auto& c : cases) {
    auth_.health_answer = c.auth_up ? Result<authpb::HealthResponse>(authpb::HealthResponse())
                                    : Result<authpb::HealthResponse>(UnavailableError("down"));
    daemon_.health.answer = c.daemon_up
                                ? Result<daemonpb::HealthResponse>(daemonpb::HealthResponse())
                                : Result<daemonpb::HealthResponse>(UnavailableError("down"));
    Response r = Send("GET", "/healthz");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body, c.body);
  }
}

TEST_F(GatewayTest, DaemonRoutesNeedAToken) {
  struct Case {
    const char* method;
    const char* target;
  } cases[] = {
      {"POST", "/api/nodes"},
      {"GET", "/api/nodes/worker1/metrics"},
      {"POST", "/api/files/upload"},
      {"GET", "/api/files"},
      {"GET", "/api/files/0b8e/download"},
      {"DELETE", "/api/files/0b8e"},
      {"POST", "/api/lambda/run"},
      {"POST", "/api/fs/mkdir"},
      {"GET", "/api/fs/ls?path=/documents"},
      {"POST", "/api/fs/upload"},
      {"DELETE", "/api/fs/delete?path=/old.txt"},
      {"POST", "/api/fs/move"},
      {"GET", "/api/fs/download?path=/a.txt"},
      {"GET", "/api/fs/usage"},
  };
  for (const auto& c : cases) {
    Response anonymous = Send(c.method, c.target);
    EXPECT_EQ(anonymous.status, 401) << c.method << " " << c.target;
    EXPECT_EQ(anonymous.headers.Get("WWW-Authenticate"), "Bearer");
  }
}

TEST_F(GatewayTest, UnknownPathIsNotFoundAndWrongMethodIsNotAllowed) {
  Response missing = Send("GET", "/api/nothing-here", "", BearerHeaders("tok"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"not found"})");

  Response wrong = Send("GET", "/auth/login/init");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers.Get("Allow"), "POST");
  EXPECT_EQ(wrong.body, R"({"error":"method not allowed"})");
}

TEST_F(GatewayTest, MalformedTargetIsBadRequest) {
  Response r = Send("GET", "/api/%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":"malformed request target"})");
}

TEST_F(GatewayTest, OversizedJsonBodyIsPayloadTooLarge) {
  Headers declared = JsonHeaders();
  declared.Add("Content-Length", "1025");
  Response by_header = Send("POST", "/auth/login/init", "{}", declared);
  EXPECT_EQ(by_header.status, 413);
  EXPECT_EQ(by_header.body, "{\"error\":\"request body too large (limit 1024 bytes)\"}");

  std::string big = R"({"Username":")" + std::string(2000, 'a') + R"(","Password":"x"})";
  Response by_size = PostJson("/auth/login/init", big);
  EXPECT_EQ(by_size.status, 413);
  EXPECT_TRUE(auth_.login_init_calls.empty());
}

TEST_F(GatewayTest, SizeAndTypeAreCheckedBeforeTheToken) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  Response r = Send("POST", "/api/fs/mkdir", R"({"path":"/x"})", h);
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.body, R"({"error":"Content-Type must be application/json"})");
  EXPECT_TRUE(auth_.validate_calls.empty());
}

TEST_F(GatewayTest, WrongContentTypeOnAJsonRouteIsUnsupportedMediaType) {
  Headers h;
  h.Add("Content-Type", "application/x-www-form-urlencoded");
  Response r = Send("POST", "/auth/login/init", "Username=alice", h);
  EXPECT_EQ(r.status, 415);
  EXPECT_TRUE(auth_.login_init_calls.empty());
}

TEST_F(GatewayTest, MissingContentTypeIsAccepted) {
  Response r = Send("POST", "/auth/login/init", R"({"Username":"alice","Password":"pw"})");
  EXPECT_EQ(r.status, 200);
}

TEST_F(GatewayTest, EchoesASaneClientRequestIdAndMakesOneOtherwise) {
  Headers h = BearerHeaders("tok");
  h.Add("X-Request-Id", "trace-1");
  EXPECT_EQ(Send("GET", "/api/me", "", h).headers.Get("X-Request-Id"), "trace-1");
  Response generated = Send("GET", "/nope");
  EXPECT_EQ(generated.headers.Get("X-Request-Id").size(), 16u);
  EXPECT_EQ(generated.headers.Get("X-Request-Id"), last_.request_id);
}

asio::awaitable<Result<Response>> Throwing(Request&) {
  throw std::runtime_error("secret detail");
  co_return JsonResponse(200, "{}");
}

TEST(PipelineTest, AHandlerThatThrowsIsAnInternalErrorThatHidesTheDetail) {
  testing::FakeAuthClient auth;
  Router router;
  router.Add("GET", "/boom", {}, [](Request& r) { return Throwing(r); });
  Pipeline pipeline(router, auth, PipelineOptions{});
  Request req = MakeRequest("GET");
  Response r = RunAwaitable(pipeline.Handle(req, "/boom"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"error":"internal error"})");
}

}  // namespace
}  // namespace nexus::gateway
