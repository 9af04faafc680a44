// /api/app-passwords through Pipeline::Handle over the real route table,
// with a fake nexus-auth.
#include "gateway/api/app_password_handlers.h"

#include <gtest/gtest.h>

#include "gateway/api/routes.h"
#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::BearerHeaders;
using testing::MakeRequest;
using testing::RunAwaitable;

class AppPasswordRoutesTest : public ::testing::Test {
 protected:
  AppPasswordRoutesTest() : pipeline_(router_, auth_, PipelineOptions{1024}) {
    RegisterRoutes(router_, auth_, daemon_);
    auth_.AcceptToken("tok", "alice", "alice@example.com", 1700000000);
  }

  Response Send(std::string method, const std::string& target, std::string body = "",
                const std::string& token = "tok") {
    Headers h = BearerHeaders(token);
    if (!body.empty()) h.Add("Content-Type", "application/json");
    Request req = MakeRequest(std::move(method), std::move(body), std::move(h));
    return RunAwaitable(pipeline_.Handle(req, target));
  }

  static authpb::AppPassword Stored(const std::string& id, const std::string& name, int64_t created,
                                    int64_t last_used) {
    authpb::AppPassword a;
    a.set_id(id);
    a.set_name(name);
    a.set_created_at(created);
    a.set_last_used_at(last_used);
    return a;
  }

  testing::FakeAuthClient auth_;
  testing::RecordingDaemonClient daemon_;
  Router router_;
  Pipeline pipeline_;
};

TEST_F(AppPasswordRoutesTest, CreateAnswers201WithTheSecretOnceForTheSignedInUser) {
  authpb::CreatedAppPassword created;
  *created.mutable_app_password() = Stored("ap-1", "Finder", 1700000000, 0);
  created.set_password("abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567");
  auth_.create_app_password_answer = created;

  Response r = Send("POST", "/api/app-passwords", R"({"Name":"Finder"})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"created":"2023-11-14T22:13:20Z","created_at":1700000000,"id":"ap-1",)"
                    R"("name":"Finder","password":"abcd-efgh-ijkl-mnop-qrst-uvwx-yz23-4567"})");
  ASSERT_EQ(auth_.create_app_password_calls.size(), 1u);
  EXPECT_EQ(auth_.create_app_password_calls[0].username(), "alice");
  EXPECT_EQ(auth_.create_app_password_calls[0].name(), "Finder");
}

TEST_F(AppPasswordRoutesTest, CreateRefusesBadBodiesBeforeTheBackend) {
  struct Case {
    const char* body;
    int status;
    const char* error;
  } cases[] = {
      {"{}", 400, R"({"error":"missing field 'name'"})"},
      {R"({"name":5})", 400, R"({"error":"field 'name' must be a string"})"},
      {"[]", 400, R"({"error":"request body must be a JSON object"})"},
  };
  for (const auto& c : cases) {
    Response r = Send("POST", "/api/app-passwords", c.body);
    EXPECT_EQ(r.status, c.status) << c.body;
    EXPECT_EQ(r.body, c.error) << c.body;
  }
  EXPECT_TRUE(auth_.create_app_password_calls.empty());
}

TEST_F(AppPasswordRoutesTest, BackendRefusalsKeepTheirStatus) {
  auth_.create_app_password_answer =
      PermissionDeniedError("at most 100 app passwords per account; delete one first");
  Response r = Send("POST", "/api/app-passwords", R"({"name":"x"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, R"({"error":"at most 100 app passwords per account; delete one first"})");

  auth_.create_app_password_answer = InvalidArgumentError("name must be 1-64 characters");
  EXPECT_EQ(Send("POST", "/api/app-passwords", R"({"name":""})").status, 400);
}

TEST_F(AppPasswordRoutesTest, ListHasNoSecretsAndNullUntilFirstUse) {
  authpb::ListAppPasswordsResponse list;
  *list.add_app_passwords() = Stored("ap-1", "Finder", 1700000000, 0);
  *list.add_app_passwords() = Stored("ap-2", "rclone", 1700000000, 1700000060);
  auth_.list_app_passwords_answer = list;
  Response r = Send("GET", "/api/app-passwords");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"([{"created":"2023-11-14T22:13:20Z","created_at":1700000000,"id":"ap-1",)"
            R"("last_used":null,"last_used_at":null,"name":"Finder"},)"
            R"({"created":"2023-11-14T22:13:20Z","created_at":1700000000,"id":"ap-2",)"
            R"("last_used":"2023-11-14T22:14:20Z","last_used_at":1700000060,"name":"rclone"}])");
  ASSERT_EQ(auth_.list_app_passwords_calls.size(), 1u);
  EXPECT_EQ(auth_.list_app_passwords_calls[0].username(), "alice");
}

TEST_F(AppPasswordRoutesTest, DeleteAnswers204AndUnknownIdsAre404) {
  Response r = Send("DELETE", "/api/app-passwords/ap-1");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  ASSERT_EQ(auth_.delete_app_password_calls.size(), 1u);
  EXPECT_EQ(auth_.delete_app_password_calls[0].username(), "alice");
  EXPECT_EQ(auth_.delete_app_password_calls[0].id(), "ap-1");

  auth_.delete_app_password_answer = NotFoundError("app password 'ap-9' not found");
  r = Send("DELETE", "/api/app-passwords/ap-9");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":"app password 'ap-9' not found"})");

  // Not UTF-8: no such id, and no backend call.
  r = Send("DELETE", "/api/app-passwords/%FF");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(auth_.delete_app_password_calls.size(), 2u);
}

TEST_F(AppPasswordRoutesTest, EveryRouteNeedsABearerToken) {
  const std::pair<const char*, const char*> routes[] = {{"POST", "/api/app-passwords"},
                                                        {"GET", "/api/app-passwords"},
                                                        {"DELETE", "/api/app-passwords/ap-1"}};
  for (const auto& [method, target] : routes) {
    Response r = Send(method, target, "", "forged");
    EXPECT_EQ(r.status, 401) << method << " " << target;
    EXPECT_EQ(r.headers.Get("WWW-Authenticate"), "Bearer");
  }
  EXPECT_TRUE(auth_.create_app_password_calls.empty());
  EXPECT_TRUE(auth_.list_app_passwords_calls.empty());
  EXPECT_TRUE(auth_.delete_app_password_calls.empty());
}

}  // namespace
}  // namespace nexus::gateway
