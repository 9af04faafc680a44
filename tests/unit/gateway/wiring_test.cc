// The composition root: the options each part gets from the config, and a
// whole gateway built with its back-ends absent (gRPC connects lazily), as
// nexus-api starts before nexus-auth and nexusd are up.
#include "gateway/wiring.h"

#include <gtest/gtest.h>

#include "common/grpc_lifetime.h"

namespace nexus::gateway {
namespace {

TEST(WiringTest, ServerAndPipelineOptionsComeFromTheGatewaySection) {
  Config cfg;
  cfg.gateway.listen = "[::1]:9000";
  cfg.gateway.threads = 3;
  cfg.gateway.max_json_bytes = 1234;
  cfg.gateway.min_transfer_bytes_per_second = 100;
  cfg.gateway.min_transfer_window_seconds = 7;
  ServerOptions server = ServerOptionsFrom(cfg);
  EXPECT_EQ(server.listen, "[::1]:9000");
  EXPECT_EQ(server.threads, 3);
  EXPECT_EQ(server.min_transfer_bytes_per_second, 100);
  EXPECT_EQ(server.min_transfer_window, std::chrono::seconds(7));
  EXPECT_EQ(PipelineOptionsFrom(cfg).max_json_bytes, 1234);
}

TEST(WiringTest, AGatewayBuildsAndListensWhileItsBackendsAreDown) {
  GrpcLibraryHold grpc;
  Config cfg;
  cfg.gateway.listen = "127.0.0.1:0";
  cfg.gateway.threads = 1;
  cfg.auth.listen = "unix:/nonexistent/auth.sock";
  cfg.daemon.listen = "unix:/nonexistent/nexusd.sock";
  Gateway gateway(cfg, DownloadLinks::RandomKey());
  Result<std::string> bound = gateway.server().Listen();
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(bound->rfind("127.0.0.1:", 0), 0u) << *bound;
}

}  // namespace
}  // namespace nexus::gateway
