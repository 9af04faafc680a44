#include "gateway/backends/auth_client.h"

#include "gateway/backends/grpc_call.h"
#include "nexus/auth/v1/auth.grpc.pb.h"

namespace nexus::gateway {
namespace {

class GrpcAuthClient final : public AuthClient {
 public:
  GrpcAuthClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
      : stub_(authpb::AuthService::NewStub(channel)), timeout_(timeout) {}

  asio::awaitable<Result<authpb::RegisterInitResponse>> RegisterInit(
      authpb::RegisterInitRequest request) override {
    return UnaryCall<authpb::RegisterInitResponse>(
        queue_.queue(),
        [stub = stub_.get()](auto* ctx, const auto& req, grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncRegisterInit(ctx, req, cq);
        },
        std::move(request), timeout_, "auth", "RegisterInit");
  }

  asio::awaitable<Result<authpb::TokenResponse>> RegisterVerify(
      authpb::VerifyRequest request) override {
    return UnaryCall<authpb::TokenResponse>(
        queue_.queue(),
        [stub = stub_.get()](auto* ctx, const auto& req, grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncRegisterVerify(ctx, req, cq);
        },
        std::move(request), timeout_, "auth", "RegisterVerify");
  }

  asio::awaitable<Result<authpb::LoginInitResponse>> LoginInit(
      authpb::LoginInitRequest request) override {
    return UnaryCall<authpb::LoginInitResponse>(
        queue_.queue(),
        [stub = stub_.get()](auto* ctx, const auto& req, grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncLoginInit(ctx, req, cq);
        },
        std::move(request), timeout_, "auth", "LoginInit");
  }

  asio::awaitable<Result<authpb::TokenResponse>> LoginVerify(
      authpb::VerifyRequest request) override {
    return UnaryCall<authpb::TokenResponse>(
        queue_.queue(),
        [stub = stub_.get()](auto* ctx, const auto& req, grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncLoginVerify(ctx, req, cq);
        },
        std::move(request), timeout_, "auth", "LoginVerify");
  }

  asio::awaitable<Result<authpb::ValidateTokenResponse>> ValidateToken(
      authpb::ValidateTokenRequest request) override {
    return UnaryCall<authpb::ValidateTokenResponse>(
        queue_.queue(),
        [stub = stub_.get()](auto* ctx, const auto& req, grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncValidateToken(ctx, req, cq);
        },
        std::move(request), timeout_, "auth", "ValidateToken");
  }

  asio::awaitable<Result<authpb::LogoutResponse>> Logout(authpb::LogoutRequest request) override {
    return UnaryCall<authpb::LogoutResponse>(
        queue_.queue(),
        [stub = stub_.get()](auto* ctx, const auto& req, grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncLogout(ctx, req, cq);
        },
        std::move(request), timeout_, "auth", "Logout");
  }

  asio::awaitable<Result<authpb::HealthResponse>> Health(authpb::HealthRequest request) override {
    return UnaryCall<authpb::HealthResponse>(
        queue_.queue(),
        [stub = stub_.get()](auto* ctx, const auto& req, grpc::CompletionQueue* cq) {
          return stub->PrepareAsyncHealth(ctx, req, cq);
        },
        std::move(request), timeout_, "auth", "Health");
  }

 private:
  // Declared first, destroyed last: its thread drains every operation of the
  // stub's calls. One is plenty: a completion only posts to the caller.
  CompletionQueueThreads queue_{1};
  std::unique_ptr<authpb::AuthService::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<AuthClient> MakeGrpcAuthClient(const std::string& target,
                                               std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcAuthClient>(MakeBackendChannel(target), timeout);
}

std::unique_ptr<AuthClient> MakeGrpcAuthClient(std::shared_ptr<grpc::Channel> channel,
                                               std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcAuthClient>(std::move(channel), timeout);
}

}  // namespace nexus::gateway
