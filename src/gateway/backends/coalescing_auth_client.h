// CoalescingAuthClient: an AuthClient decorator that merges concurrent
// ValidateToken calls for the same token into one backend call.
//
// Every /api request is validated by AuthService: a request that arrives
// while a validation of the same token is already in flight waits for that
// call's answer instead of starting its own, so its answer is never older
// than one backend round trip before the request arrived. Nothing is cached
// once a call completes. A client that fires many requests at once with one
// token (a web page, a CLI syncing a tree, a benchmark) costs one call per
// round trip instead of one per request.
//
// Logout through this client detaches the token's in-flight call, before and
// after revoking, so no request that arrives after a logout has completed can
// join a validation that began before it. Other calls pass straight through,
// ValidateAppPassword included: each of its failures must be counted by the
// auth service's rate limit, and a deleted app password must fail at once.
// Holds a reference to `inner`, which must outlive it. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gateway/backends/auth_client.h"

namespace nexus::gateway {

class CoalescingAuthClient final : public AuthClient {
 public:
  explicit CoalescingAuthClient(AuthClient& inner) : inner_(inner) {}

  asio::awaitable<Result<authpb::ValidateTokenResponse>> ValidateToken(
      authpb::ValidateTokenRequest request) override;
  asio::awaitable<Result<authpb::LogoutResponse>> Logout(authpb::LogoutRequest request) override;

  asio::awaitable<Result<authpb::RegisterInitResponse>> RegisterInit(
      authpb::RegisterInitRequest request) override {
    return inner_.RegisterInit(std::move(request));
  }
  asio::awaitable<Result<authpb::TokenResponse>> RegisterVerify(
      authpb::VerifyRequest request) override {
    return inner_.RegisterVerify(std::move(request));
  }
  asio::awaitable<Result<authpb::LoginInitResponse>> LoginInit(
      authpb::LoginInitRequest request) override {
    return inner_.LoginInit(std::move(request));
  }
  asio::awaitable<Result<authpb::TokenResponse>> LoginVerify(
      authpb::VerifyRequest request) override {
    return inner_.LoginVerify(std::move(request));
  }
  asio::awaitable<Result<authpb::HealthResponse>> Health(authpb::HealthRequest request) override {
    return inner_.Health(std::move(request));
  }
  asio::awaitable<Result<authpb::CreatedAppPassword>> CreateAppPassword(
      authpb::CreateAppPasswordRequest request) override {
    return inner_.CreateAppPassword(std::move(request));
  }
  asio::awaitable<Result<authpb::ListAppPasswordsResponse>> ListAppPasswords(
      authpb::ListAppPasswordsRequest request) override {
    return inner_.ListAppPasswords(std::move(request));
  }
  asio::awaitable<Result<authpb::DeleteAppPasswordResponse>> DeleteAppPassword(
      authpb::DeleteAppPasswordRequest request) override {
    return inner_.DeleteAppPassword(std::move(request));
  }
  asio::awaitable<Result<authpb::ValidateAppPasswordResponse>> ValidateAppPassword(
      authpb::ValidateAppPasswordRequest request) override {
    return inner_.ValidateAppPassword(std::move(request));
  }
  asio::awaitable<Result<authpb::MetricsResponse>> Metrics(
      authpb::MetricsRequest request) override {
    return inner_.Metrics(std::move(request));
  }
  asio::awaitable<Result<authpb::CreatedS3Key>> CreateS3Key(
      authpb::CreateS3KeyRequest request) override {
    return inner_.CreateS3Key(std::move(request));
  }
  asio::awaitable<Result<authpb::ListS3KeysResponse>> ListS3Keys(
      authpb::ListS3KeysRequest request) override {
    return inner_.ListS3Keys(std::move(request));
  }
  asio::awaitable<Result<authpb::DeleteS3KeyResponse>> DeleteS3Key(
      authpb::DeleteS3KeyRequest request) override {
    return inner_.DeleteS3Key(std::move(request));
  }
  asio::awaitable<Result<authpb::S3KeySecret>> GetS3KeySecret(
      authpb::GetS3KeySecretRequest request) override {
    return inner_.GetS3KeySecret(std::move(request));
  }

  struct Flight;  // one backend call and the requests waiting for it

 private:
  // Removes `token`'s flight from the table so later requests start anew.
  void Detach(const std::string& token);

  AuthClient& inner_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;  // guarded by mu_
};

}  // namespace nexus::gateway
