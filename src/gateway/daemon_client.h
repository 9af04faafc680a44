// DaemonClient: what the gateway asks of nexusd (nexus.daemon.v1.Daemon).
//
// Same conventions as AuthClient (auth_client.h): an interface with a fake in
// tests/support/gateway_fake_daemon_client.h, coroutine calls that never block
// an I/O thread, kUnavailable when nexusd is down. Only Health exists yet;
// file, node and lambda calls join as their routes are built, each as one
// method here plus one line in daemon_client.cc. Implementations are
// thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gateway/http_types.h"
#include "nexus/daemon/v1/daemon.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace nexus::gateway {

namespace daemonpb = ::nexus::daemon::v1;

class DaemonClient {
 public:
  virtual ~DaemonClient() = default;

  virtual asio::awaitable<Result<daemonpb::HealthResponse>> Health(
      daemonpb::HealthRequest request) = 0;
};

// A client on one shared gRPC channel to `target` ("unix:/path" or
// "host:port"); every call has deadline `timeout`.
std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(const std::string& target,
                                                   std::chrono::milliseconds timeout);

// The same on an existing channel (tests use an in-process one).
std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(std::shared_ptr<grpc::Channel> channel,
                                                   std::chrono::milliseconds timeout);

}  // namespace nexus::gateway
