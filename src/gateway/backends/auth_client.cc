#include "gateway/backends/auth_client.h"

#include "gateway/backends/grpc_call.h"
#include "nexus/auth/v1/auth.grpc.pb.h"

namespace nexus::gateway {
namespace {

class GrpcAuthClient final : public AuthClient {
 public:
  GrpcAuthClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout,
                 BackendMetrics* metrics)
      : stub_(authpb::AuthService::NewStub(channel)), timeout_(timeout), metrics_(metrics) {}

  asio::awaitable<Result<authpb::RegisterInitResponse>> RegisterInit(
      authpb::RegisterInitRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncRegisterInit, std::move(request),
                "RegisterInit");
  }

  asio::awaitable<Result<authpb::TokenResponse>> RegisterVerify(
      authpb::VerifyRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncRegisterVerify, std::move(request),
                "RegisterVerify");
  }

  asio::awaitable<Result<authpb::LoginInitResponse>> LoginInit(
      authpb::LoginInitRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncLoginInit, std::move(request), "LoginInit");
  }

  asio::awaitable<Result<authpb::TokenResponse>> LoginVerify(
      authpb::VerifyRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncLoginVerify, std::move(request),
                "LoginVerify");
  }

  asio::awaitable<Result<authpb::ValidateTokenResponse>> ValidateToken(
      authpb::ValidateTokenRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncValidateToken, std::move(request),
                "ValidateToken");
  }

  asio::awaitable<Result<authpb::LogoutResponse>> Logout(authpb::LogoutRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncLogout, std::move(request), "Logout");
  }

  asio::awaitable<Result<authpb::HealthResponse>> Health(authpb::HealthRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncHealth, std::move(request), "Health");
  }

  asio::awaitable<Result<authpb::CreatedAppPassword>> CreateAppPassword(
      authpb::CreateAppPasswordRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncCreateAppPassword, std::move(request),
                "CreateAppPassword");
  }

  asio::awaitable<Result<authpb::ListAppPasswordsResponse>> ListAppPasswords(
      authpb::ListAppPasswordsRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncListAppPasswords, std::move(request),
                "ListAppPasswords");
  }

  asio::awaitable<Result<authpb::DeleteAppPasswordResponse>> DeleteAppPassword(
      authpb::DeleteAppPasswordRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncDeleteAppPassword, std::move(request),
                "DeleteAppPassword");
  }

  asio::awaitable<Result<authpb::ValidateAppPasswordResponse>> ValidateAppPassword(
      authpb::ValidateAppPasswordRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncValidateAppPassword, std::move(request),
                "ValidateAppPassword");
  }

  asio::awaitable<Result<authpb::CreatedS3Key>> CreateS3Key(
      authpb::CreateS3KeyRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncCreateS3Key, std::move(request),
                "CreateS3Key");
  }

  asio::awaitable<Result<authpb::ListS3KeysResponse>> ListS3Keys(
      authpb::ListS3KeysRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncListS3Keys, std::move(request),
                "ListS3Keys");
  }

  asio::awaitable<Result<authpb::DeleteS3KeyResponse>> DeleteS3Key(
      authpb::DeleteS3KeyRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncDeleteS3Key, std::move(request),
                "DeleteS3Key");
  }

  asio::awaitable<Result<authpb::S3KeySecret>> GetS3KeySecret(
      authpb::GetS3KeySecretRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncGetS3KeySecret, std::move(request),
                "GetS3KeySecret");
  }

  asio::awaitable<Result<authpb::MetricsResponse>> Metrics(
      authpb::MetricsRequest request) override {
    return Call(&authpb::AuthService::Stub::PrepareAsyncMetrics, std::move(request), "Metrics");
  }

 private:
  // One unary call on the stub with the backend deadline.
  template <typename Req, typename Resp>
  asio::awaitable<Result<Resp>> Call(PrepareUnary<authpb::AuthService::Stub, Req, Resp> prepare,
                                     Req request, const char* method) {
    return StubCall(*stub_, prepare, queue_.queue(), std::move(request), timeout_, "auth", method,
                    metrics_ ? &metrics_->For(method) : nullptr);
  }

  // Declared first, destroyed last: its thread drains every operation of the
  // stub's calls. One is plenty: a completion only posts to the caller.
  CompletionQueueThreads queue_{1};
  std::unique_ptr<authpb::AuthService::Stub> stub_;
  std::chrono::milliseconds timeout_;
  BackendMetrics* metrics_;
};

}  // namespace

std::unique_ptr<AuthClient> MakeGrpcAuthClient(const std::string& target,
                                               std::chrono::milliseconds timeout,
                                               BackendMetrics* metrics) {
  return std::make_unique<GrpcAuthClient>(MakeBackendChannel(target), timeout, metrics);
}

std::unique_ptr<AuthClient> MakeGrpcAuthClient(std::shared_ptr<grpc::Channel> channel,
                                               std::chrono::milliseconds timeout,
                                               BackendMetrics* metrics) {
  return std::make_unique<GrpcAuthClient>(std::move(channel), timeout, metrics);
}

}  // namespace nexus::gateway
