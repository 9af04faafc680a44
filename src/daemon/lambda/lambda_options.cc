#include "daemon/lambda/lambda_options.h"

#include <unistd.h>

#include "daemon/lambda/sandbox.h"

namespace nexus::daemon::runtime {

Result<LambdaOptions> LambdaOptionsFromConfig(const Config& config, Env& env) {
  const LambdaConfig& c = config.lambda;
  LambdaOptions o;
  o.runtime_dir = config.runtime_dir.empty() ? "/run/nexus-" + config.instance : config.runtime_dir;
  auto runtime = AbsolutePath(env, o.runtime_dir);
  if (!runtime.ok()) {
    return InvalidArgumentError("runtime_dir '" + o.runtime_dir +
                                "': " + runtime.status().message());
  }
  o.runtime_dir = *runtime;
  if (o.runtime_dir == "/") return InvalidArgumentError("runtime_dir must not be /");
  o.instance = config.instance;
  o.timeout_ms_default = c.timeout_ms_default;
  o.timeout_ms_max = c.timeout_ms_max;
  o.memory_mb_default = c.memory_mb_default;
  o.memory_mb_max = c.memory_mb_max;
  o.max_concurrent = c.max_concurrent;
  if (o.max_concurrent == 0) {
    long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    o.max_concurrent = 2 * (cores > 0 ? cores : 1);
  }
  o.pool_size = c.pool_size;
  o.output_limit_bytes = c.output_limit_bytes;
  o.init_path = c.init_path;
  if (o.init_path.empty()) {
    // Left empty without it: ForHost then says the init is missing.
    if (auto self = env.ReadLink("/proc/self/exe"); self.ok()) {
      const std::string dir = DirName(*self);
      o.init_path = (dir == "/" ? "" : dir) + "/" + kLambdaInitName;
    }
  } else {
    auto init = AbsolutePath(env, o.init_path);
    if (!init.ok()) {
      return InvalidArgumentError("lambda.init_path '" + o.init_path +
                                  "': " + init.status().message());
    }
    o.init_path = *init;
  }

  if (o.timeout_ms_max <= 0 || o.timeout_ms_default <= 0 ||
      o.timeout_ms_default > o.timeout_ms_max) {
    return InvalidArgumentError(
        "lambda timeouts must satisfy 0 < timeout_ms_default <= timeout_ms_max");
  }
  if (o.memory_mb_default < kMinLambdaMemoryMb || o.memory_mb_default > o.memory_mb_max) {
    return InvalidArgumentError("lambda memory must satisfy " + std::to_string(kMinLambdaMemoryMb) +
                                " <= memory_mb_default <= memory_mb_max");
  }
  if (o.max_concurrent < 0) return InvalidArgumentError("lambda.max_concurrent must be >= 0");
  if (o.pool_size < 0) return InvalidArgumentError("lambda.pool_size must be >= 0");
  if (o.output_limit_bytes <= 0) {
    return InvalidArgumentError("lambda.output_limit_bytes must be > 0");
  }
  return o;
}

}  // namespace nexus::daemon::runtime
