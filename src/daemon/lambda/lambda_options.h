// The lambda runner's configuration: [lambda] (and runtime_dir, instance)
// resolved from the Config into LambdaOptions and checked for consistency.
// Pure apart from reading the core count, and the working directory and
// /proc/self/exe through the Env it is given; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/env.h"
#include "common/result.h"
#include "daemon/runtime/oci_spec.h"

namespace nexus::daemon::runtime {

inline constexpr int64_t kMinLambdaMemoryMb = 32;  // the interpreter alone needs ~10 MiB

struct LambdaOptions {
  std::string runtime_dir;  // absolute; the runner's files are in <runtime_dir>/lambda
  std::string instance;
  int64_t timeout_ms_default = 10000;
  int64_t timeout_ms_max = 60000;
  int64_t memory_mb_default = 128;
  int64_t memory_mb_max = 1024;
  int64_t max_concurrent = 4;
  int64_t pool_size = 0;
  int64_t output_limit_bytes = 1 << 20;
  // How long a run waits for a free slot before it is refused.
  int64_t queue_wait_ms = 1000;
  HostLayout host;
  std::string init_path;  // nexus-lambda-init on the host, absolute
};

// Resolves the [lambda] config (max_concurrent 0 → 2 × cores, runtime_dir
// made absolute, runtime_dir empty → /run/nexus-<instance>,
// init_path empty → nexus-lambda-init beside the running binary) and checks
// that its bounds are consistent. Paths are made absolute by their spelling
// (AbsolutePath), without resolving symlinks.
Result<LambdaOptions> LambdaOptionsFromConfig(const Config& config, Env& env);

}  // namespace nexus::daemon::runtime
