// A LambdaRequest in one line, for the runner's tests against the fake and
// the real runc alike.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "daemon/lambda/lambda.h"

namespace nexus::daemon::runtime {

inline LambdaRequest Req(std::string code, std::string runtime, std::string stdin_data = "",
                         int64_t timeout_ms = 0, int64_t memory_mb = 0) {
  LambdaRequest r;
  r.code = std::move(code);
  r.runtime = std::move(runtime);
  r.stdin_data = std::move(stdin_data);
  r.timeout_ms = timeout_ms;
  r.memory_mb = memory_mb;
  r.owner = "tester";
  return r;
}

}  // namespace nexus::daemon::runtime
