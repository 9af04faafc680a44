#include "gateway/backends/coalescing_auth_client.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <vector>

#include "support/gateway_fake_auth_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using Answer = Result<authpb::ValidateTokenResponse>;

// An AuthClient whose ValidateToken calls wait at a gate until the test
// opens it, so several requests can be in flight at once. Other calls go to
// a FakeAuthClient.
class GatedAuthClient final : public AuthClient {
 public:
  explicit GatedAuthClient(asio::io_context& io) : gate_(io) {
    gate_.expires_at(asio::steady_timer::time_point::max());
  }

  void Open() {
    open_ = true;
    gate_.cancel();
  }

  int validate_calls = 0;
  testing::FakeAuthClient fake;

  asio::awaitable<Answer> ValidateToken(authpb::ValidateTokenRequest request) override {
    ++validate_calls;
    if (!open_) co_await gate_.async_wait(asio::as_tuple(asio::use_awaitable));
    auto inner = fake.ValidateToken(std::move(request));
    Answer a = co_await std::move(inner);
    co_return a;
  }
  asio::awaitable<Result<authpb::LogoutResponse>> Logout(authpb::LogoutRequest r) override {
    return fake.Logout(std::move(r));
  }
  asio::awaitable<Result<authpb::RegisterInitResponse>> RegisterInit(
      authpb::RegisterInitRequest r) override {
    return fake.RegisterInit(std::move(r));
  }
  asio::awaitable<Result<authpb::TokenResponse>> RegisterVerify(authpb::VerifyRequest r) override {
    return fake.RegisterVerify(std::move(r));
  }
  asio::awaitable<Result<authpb::LoginInitResponse>> LoginInit(
      authpb::LoginInitRequest r) override {
    return fake.LoginInit(std::move(r));
  }
  asio::awaitable<Result<authpb::TokenResponse>> LoginVerify(authpb::VerifyRequest r) override {
    return fake.LoginVerify(std::move(r));
  }
  asio::awaitable<Result<authpb::HealthResponse>> Health(authpb::HealthRequest r) override {
    return fake.Health(std::move(r));
  }
  asio::awaitable<Result<authpb::CreatedAppPassword>> CreateAppPassword(
      authpb::CreateAppPasswordRequest r) override {
    return fake.CreateAppPassword(std::move(r));
  }
  asio::awaitable<Result<authpb::ListAppPasswordsResponse>> ListAppPasswords(
      authpb::ListAppPasswordsRequest r) override {
    return fake.ListAppPasswords(std::move(r));
  }
  asio::awaitable<Result<authpb::DeleteAppPasswordResponse>> DeleteAppPassword(
      authpb::DeleteAppPasswordRequest r) override {
    return fake.DeleteAppPassword(std::move(r));
  }
  asio::awaitable<Result<authpb::ValidateAppPasswordResponse>> ValidateAppPassword(
      authpb::ValidateAppPasswordRequest r) override {
    return fake.ValidateAppPassword(std::move(r));
  }

 private:
  asio::steady_timer gate_;
  bool open_ = false;
};

class CoalescingAuthClientTest : public ::testing::Test {
 protected:
  CoalescingAuthClientTest() : inner_(io_), client_(inner_) {
    inner_.fake.AcceptToken("alice-token", "alice");
    inner_.fake.AcceptToken("bob-token", "bob");
  }

  // Starts a validation; its answer lands in the returned slot.
  std::optional<Answer>* Start(const std::string& token) {
    answers_.push_back(std::make_unique<std::optional<Answer>>());
    authpb::ValidateTokenRequest req;
    req.set_token(token);
    asio::co_spawn(io_, testing::StoreResult(client_.ValidateToken(req), answers_.back().get()),
                   asio::detached);
    io_.poll();  // runs until every started call waits
    return answers_.back().get();
  }

  asio::io_context io_;
  GatedAuthClient inner_;
  CoalescingAuthClient client_;
  std::vector<std::unique_ptr<std::optional<Answer>>> answers_;
};

TEST_F(CoalescingAuthClientTest, ConcurrentValidationsOfOneTokenShareOneCall) {
  std::vector<std::optional<Answer>*> slots;
  for (int i = 0; i < 5; ++i) slots.push_back(Start("alice-token"));
  EXPECT_EQ(inner_.validate_calls, 1);
  for (auto* slot : slots) EXPECT_FALSE(slot->has_value());

  inner_.Open();
  io_.run();
  for (auto* slot : slots) {
    ASSERT_TRUE(slot->has_value());
    ASSERT_TRUE((*slot)->ok());
    EXPECT_EQ((**slot)->username(), "alice");
  }
  EXPECT_EQ(inner_.validate_calls, 1);
}

TEST_F(CoalescingAuthClientTest, DifferentTokensGetTheirOwnCalls) {
  auto* alice = Start("alice-token");
  auto* bob = Start("bob-token");
  EXPECT_EQ(inner_.validate_calls, 2);
  inner_.Open();
  io_.run();
  EXPECT_EQ((**alice)->username(), "alice");
  EXPECT_EQ((**bob)->username(), "bob");
}

TEST_F(CoalescingAuthClientTest, NothingIsCachedOnceACallHasCompleted) {
  inner_.Open();
  auto* first = Start("alice-token");
  io_.run();
  io_.restart();
  auto* second = Start("alice-token");
  io_.run();
  EXPECT_EQ(inner_.validate_calls, 2);
  EXPECT_TRUE((*first)->ok());
  EXPECT_TRUE((*second)->ok());
}

TEST_F(CoalescingAuthClientTest, ARejectionIsSharedByEveryWaiter) {
  auto* a = Start("forged");
  auto* b = Start("forged");
  inner_.Open();
  io_.run();
  EXPECT_EQ(inner_.validate_calls, 1);
  EXPECT_EQ((*a)->status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ((*b)->status().code(), StatusCode::kUnauthenticated);
}

TEST_F(CoalescingAuthClientTest, ARequestAfterLogoutNeverJoinsAnOlderValidation) {
  auto* before = Start("alice-token");
  authpb::LogoutRequest logout;
  logout.set_token("alice-token");
  std::optional<Result<authpb::LogoutResponse>> logged_out;
  asio::co_spawn(io_, testing::StoreResult(client_.Logout(logout), &logged_out), asio::detached);
  io_.poll();
  ASSERT_TRUE(logged_out.has_value());
  ASSERT_EQ(inner_.fake.logout_calls.size(), 1u);

  auto* after = Start("alice-token");
  EXPECT_EQ(inner_.validate_calls, 2);  // a fresh call, not the one before logout
  inner_.Open();
  io_.run();
  EXPECT_TRUE(before->has_value());
  EXPECT_TRUE(after->has_value());
}

TEST_F(CoalescingAuthClientTest, OtherCallsPassThrough) {
  std::optional<Result<authpb::HealthResponse>> health;
  asio::co_spawn(io_, testing::StoreResult(client_.Health(authpb::HealthRequest()), &health),
                 asio::detached);
  io_.run();
  ASSERT_TRUE(health.has_value());
  EXPECT_TRUE(health->ok());
  EXPECT_EQ(inner_.fake.health_calls, 1);
}

}  // namespace
}  // namespace nexus::gateway
