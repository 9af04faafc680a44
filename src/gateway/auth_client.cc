#include "gateway/auth_client.h"

#include "gateway/grpc_call.h"
#include "nexus/auth/v1/auth.grpc.pb.h"

namespace nexus::gateway {
namespace {

using Callback = std::function<void(grpc::Status)>;

class GrpcAuthClient final : public AuthClient {
 public:
  GrpcAuthClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
      : stub_(authpb::AuthService::NewStub(channel)), timeout_(timeout) {}

  asio::awaitable<Result<authpb::RegisterInitResponse>> RegisterInit(
      authpb::RegisterInitRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<authpb::RegisterInitResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->RegisterInit(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "auth", "RegisterInit");
  }

  asio::awaitable<Result<authpb::TokenResponse>> RegisterVerify(
      authpb::VerifyRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<authpb::TokenResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->RegisterVerify(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "auth", "RegisterVerify");
  }

  asio::awaitable<Result<authpb::LoginInitResponse>> LoginInit(
      authpb::LoginInitRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<authpb::LoginInitResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->LoginInit(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "auth", "LoginInit");
  }

  asio::awaitable<Result<authpb::TokenResponse>> LoginVerify(
      authpb::VerifyRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<authpb::TokenResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->LoginVerify(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "auth", "LoginVerify");
  }

  asio::awaitable<Result<authpb::ValidateTokenResponse>> ValidateToken(
      authpb::ValidateTokenRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<authpb::ValidateTokenResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->ValidateToken(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "auth", "ValidateToken");
  }

  asio::awaitable<Result<authpb::LogoutResponse>> Logout(authpb::LogoutRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<authpb::LogoutResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->Logout(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "auth", "Logout");
  }

  asio::awaitable<Result<authpb::HealthResponse>> Health(authpb::HealthRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<authpb::HealthResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->Health(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "auth", "Health");
  }

 private:
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
