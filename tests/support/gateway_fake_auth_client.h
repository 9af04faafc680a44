// FakeAuthClient: an in-memory AuthClient for gateway tests.
//
// Each call records its request and answers with the configurable `*_answer`
// member. ValidateToken accepts exactly the tokens in `valid_tokens`
// (anything else is kUnauthenticated "token rejected"), unless
// `validate_error` is set, which every ValidateToken then returns.
// ValidateAppPassword works the same way with `valid_app_passwords` (keyed
// by username and password) and `validate_app_password_error`.
// Not thread-safe: drive it from one test thread.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gateway/backends/auth_client.h"

namespace nexus::gateway::testing {

class FakeAuthClient final : public AuthClient {
 public:
  Result<authpb::RegisterInitResponse> register_init_answer = authpb::RegisterInitResponse();
  Result<authpb::TokenResponse> register_verify_answer = authpb::TokenResponse();
  Result<authpb::LoginInitResponse> login_init_answer = authpb::LoginInitResponse();
  Result<authpb::TokenResponse> login_verify_answer = authpb::TokenResponse();
  Result<authpb::LogoutResponse> logout_answer = authpb::LogoutResponse();
  Result<authpb::HealthResponse> health_answer = authpb::HealthResponse();
  Result<authpb::CreatedAppPassword> create_app_password_answer = authpb::CreatedAppPassword();
  Result<authpb::ListAppPasswordsResponse> list_app_passwords_answer =
      authpb::ListAppPasswordsResponse();
  Result<authpb::DeleteAppPasswordResponse> delete_app_password_answer =
      authpb::DeleteAppPasswordResponse();
  std::map<std::string, authpb::ValidateTokenResponse> valid_tokens;
  Status validate_error;
  std::map<std::pair<std::string, std::string>, authpb::ValidateAppPasswordResponse>
      valid_app_passwords;
  Status validate_app_password_error;

  std::vector<authpb::RegisterInitRequest> register_init_calls;
  std::vector<authpb::VerifyRequest> register_verify_calls;
  std::vector<authpb::LoginInitRequest> login_init_calls;
  std::vector<authpb::VerifyRequest> login_verify_calls;
  std::vector<authpb::ValidateTokenRequest> validate_calls;
  std::vector<authpb::LogoutRequest> logout_calls;
  std::vector<authpb::CreateAppPasswordRequest> create_app_password_calls;
  std::vector<authpb::ListAppPasswordsRequest> list_app_passwords_calls;
  std::vector<authpb::DeleteAppPasswordRequest> delete_app_password_calls;
  std::vector<authpb::ValidateAppPasswordRequest> validate_app_password_calls;
  int health_calls = 0;

  // Makes `token` valid for `username` with a profile.
  void AcceptToken(const std::string& token, const std::string& username,
                   const std::string& email = "", int64_t created_at = 0) {
    authpb::ValidateTokenResponse r;
    r.set_username(username);
    r.set_user_id("id-" + username);
    r.set_email(email);
    r.set_created_at(created_at);
    valid_tokens[token] = r;
  }

  // Makes `password` valid for `username` with a profile.
  void AcceptAppPassword(const std::string& username, const std::string& password,
                         const std::string& email = "", int64_t created_at = 0) {
    authpb::ValidateAppPasswordResponse r;
    r.set_username(username);
    r.set_user_id("id-" + username);
    r.set_email(email);
    r.set_created_at(created_at);
    r.set_app_password_id("ap-" + username);
    valid_app_passwords[{username, password}] = r;
  }

  asio::awaitable<Result<authpb::RegisterInitResponse>> RegisterInit(
      authpb::RegisterInitRequest request) override {
    register_init_calls.push_back(std::move(request));
    co_return register_init_answer;
  }
  asio::awaitable<Result<authpb::TokenResponse>> RegisterVerify(
      authpb::VerifyRequest request) override {
    register_verify_calls.push_back(std::move(request));
    co_return register_verify_answer;
  }
  asio::awaitable<Result<authpb::LoginInitResponse>> LoginInit(
      authpb::LoginInitRequest request) override {
    login_init_calls.push_back(std::move(request));
    co_return login_init_answer;
  }
  asio::awaitable<Result<authpb::TokenResponse>> LoginVerify(
      authpb::VerifyRequest request) override {
    login_verify_calls.push_back(std::move(request));
    co_return login_verify_answer;
  }
  asio::awaitable<Result<authpb::ValidateTokenResponse>> ValidateToken(
      authpb::ValidateTokenRequest request) override {
    validate_calls.push_back(request);
    if (!validate_error.ok()) co_return validate_error;
    auto it = valid_tokens.find(request.token());
    if (it == valid_tokens.end()) co_return UnauthenticatedError("token rejected");
    co_return it->second;
  }
  asio::awaitable<Result<authpb::LogoutResponse>> Logout(authpb::LogoutRequest request) override {
    logout_calls.push_back(std::move(request));
    co_return logout_answer;
  }
  asio::awaitable<Result<authpb::HealthResponse>> Health(authpb::HealthRequest request) override {
    ++health_calls;
    co_return health_answer;
  }
  asio::awaitable<Result<authpb::CreatedAppPassword>> CreateAppPassword(
      authpb::CreateAppPasswordRequest request) override {
    create_app_password_calls.push_back(std::move(request));
    co_return create_app_password_answer;
  }
  asio::awaitable<Result<authpb::ListAppPasswordsResponse>> ListAppPasswords(
      authpb::ListAppPasswordsRequest request) override {
    list_app_passwords_calls.push_back(std::move(request));
    co_return list_app_passwords_answer;
  }
  asio::awaitable<Result<authpb::DeleteAppPasswordResponse>> DeleteAppPassword(
      authpb::DeleteAppPasswordRequest request) override {
    delete_app_password_calls.push_back(std::move(request));
    co_return delete_app_password_answer;
  }
  asio::awaitable<Result<authpb::ValidateAppPasswordResponse>> ValidateAppPassword(
      authpb::ValidateAppPasswordRequest request) override {
    validate_app_password_calls.push_back(request);
    if (!validate_app_password_error.ok()) co_return validate_app_password_error;
    auto it = valid_app_passwords.find({request.username(), request.password()});
    if (it == valid_app_passwords.end()) {
      co_return UnauthenticatedError("invalid username or app password");
    }
    co_return it->second;
  }
};

}  // namespace nexus::gateway::testing
