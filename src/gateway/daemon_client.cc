#include "gateway/daemon_client.h"

#include "gateway/grpc_call.h"
#include "nexus/daemon/v1/daemon.grpc.pb.h"

namespace nexus::gateway {
namespace {

using Callback = std::function<void(grpc::Status)>;

class GrpcDaemonClient final : public DaemonClient {
 public:
  GrpcDaemonClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
      : stub_(daemonpb::Daemon::NewStub(channel)), timeout_(timeout) {}

  asio::awaitable<Result<daemonpb::HealthResponse>> Health(
      daemonpb::HealthRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::HealthResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->Health(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "Health");
  }

 private:
  std::unique_ptr<daemonpb::Daemon::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(const std::string& target,
                                                   std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcDaemonClient>(MakeBackendChannel(target), timeout);
}

std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(std::shared_ptr<grpc::Channel> channel,
                                                   std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcDaemonClient>(std::move(channel), timeout);
}

}  // namespace nexus::gateway
