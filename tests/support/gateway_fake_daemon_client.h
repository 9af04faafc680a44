// FakeDaemonClient: an in-memory DaemonClient for gateway tests. Each call
// records itself and answers with its configurable `*_answer` member.
// Not thread-safe: drive it from one test thread.
#pragma once

#include "gateway/backends/daemon_client.h"

namespace nexus::gateway::testing {

class FakeDaemonClient final : public DaemonClient {
 public:
  Result<daemonpb::HealthResponse> health_answer = daemonpb::HealthResponse();
  int health_calls = 0;

  asio::awaitable<Result<daemonpb::HealthResponse>> Health(
      daemonpb::HealthRequest request) override {
    ++health_calls;
    co_return health_answer;
  }
};

}  // namespace nexus::gateway::testing
