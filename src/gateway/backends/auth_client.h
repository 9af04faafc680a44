// AuthClient: what the gateway asks of nexus-auth (nexus.auth.v1.AuthService).
//
// An interface so handlers and middleware are tested with a fake
// (tests/support/gateway_fake_auth_client.h). Calls are coroutines: they
// suspend without blocking the I/O thread and resume on the caller's
// executor. Errors are nexus Statuses carried over gRPC; a transport failure
// or a missed deadline is kUnavailable ("auth service unavailable") with no
// internal detail in the message. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gateway/http/http_types.h"
#include "nexus/auth/v1/auth.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace nexus::gateway {

class BackendMetrics;

namespace authpb = ::nexus::auth::v1;

class AuthClient {
 public:
  virtual ~AuthClient() = default;

  virtual asio::awaitable<Result<authpb::RegisterInitResponse>> RegisterInit(
      authpb::RegisterInitRequest request) = 0;
  virtual asio::awaitable<Result<authpb::TokenResponse>> RegisterVerify(
      authpb::VerifyRequest request) = 0;
  virtual asio::awaitable<Result<authpb::LoginInitResponse>> LoginInit(
      authpb::LoginInitRequest request) = 0;
  virtual asio::awaitable<Result<authpb::TokenResponse>> LoginVerify(
      authpb::VerifyRequest request) = 0;
  virtual asio::awaitable<Result<authpb::ValidateTokenResponse>> ValidateToken(
      authpb::ValidateTokenRequest request) = 0;
  virtual asio::awaitable<Result<authpb::LogoutResponse>> Logout(authpb::LogoutRequest request) = 0;
  virtual asio::awaitable<Result<authpb::HealthResponse>> Health(authpb::HealthRequest request) = 0;
  virtual asio::awaitable<Result<authpb::CreatedAppPassword>> CreateAppPassword(
      authpb::CreateAppPasswordRequest request) = 0;
  virtual asio::awaitable<Result<authpb::ListAppPasswordsResponse>> ListAppPasswords(
      authpb::ListAppPasswordsRequest request) = 0;
  virtual asio::awaitable<Result<authpb::DeleteAppPasswordResponse>> DeleteAppPassword(
      authpb::DeleteAppPasswordRequest request) = 0;
  // Never coalesced or cached by a decorator: every failure must reach the
  // rate limit, and a revoked password must fail on its next use.
  virtual asio::awaitable<Result<authpb::ValidateAppPasswordResponse>> ValidateAppPassword(
      authpb::ValidateAppPasswordRequest request) = 0;
  // S3 access keys. Fakes need not serve them: by default each call answers
  // kUnimplemented. GetS3KeySecret's answer holds a secret: never logged,
  // never cached by a decorator (a deleted key must fail its next request).
  virtual asio::awaitable<Result<authpb::CreatedS3Key>> CreateS3Key(authpb::CreateS3KeyRequest) {
    co_return Status(StatusCode::kUnimplemented, "S3 keys not served");
  }
  virtual asio::awaitable<Result<authpb::ListS3KeysResponse>> ListS3Keys(
      authpb::ListS3KeysRequest) {
    co_return Status(StatusCode::kUnimplemented, "S3 keys not served");
  }
  virtual asio::awaitable<Result<authpb::DeleteS3KeyResponse>> DeleteS3Key(
      authpb::DeleteS3KeyRequest) {
    co_return Status(StatusCode::kUnimplemented, "S3 keys not served");
  }
  virtual asio::awaitable<Result<authpb::S3KeySecret>> GetS3KeySecret(
      authpb::GetS3KeySecretRequest) {
    co_return Status(StatusCode::kUnimplemented, "S3 keys not served");
  }
  // nexus-auth's figures in the Prometheus text format. Fakes need not
  // serve them: by default the call answers kUnimplemented.
  virtual asio::awaitable<Result<authpb::MetricsResponse>> Metrics(authpb::MetricsRequest) {
    co_return Status(StatusCode::kUnimplemented, "auth metrics not served");
  }
};

// A client on one shared gRPC channel to `target` ("unix:/path" or
// "host:port"); every call has deadline `timeout` and fails fast when the
// service is down (no wait-for-ready).
// `metrics`, when set, gets each unary call's latency and failures; it must
// outlive the client.
std::unique_ptr<AuthClient> MakeGrpcAuthClient(const std::string& target,
                                               std::chrono::milliseconds timeout,
                                               BackendMetrics* metrics = nullptr);

// The same on an existing channel (tests use an in-process one).
std::unique_ptr<AuthClient> MakeGrpcAuthClient(std::shared_ptr<grpc::Channel> channel,
                                               std::chrono::milliseconds timeout,
                                               BackendMetrics* metrics = nullptr);

}  // namespace nexus::gateway
