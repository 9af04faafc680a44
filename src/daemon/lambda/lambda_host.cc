// LambdaRunner::ForHost: the host probed (root, runc, the sandbox's python
// and init, cgroups, the root layout) and the real back-ends wired; what is
// missing makes lambda unavailable, never nexusd.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "daemon/lambda/lambda.h"
#include "daemon/runtime/oci_runtime_factory.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {
namespace {

const char kUnavailableMessage[] = "lambda needs root and runc";

// As root (the only case asked about), access(X_OK) says yes to a file with
// any execute bit: the same question, through Env.
bool IsExecutableFile(Env& env, const std::string& path) {
  auto info = env.Stat(path);
  return info.ok() && info->type == FileType::kRegular && (info->mode & 0111) != 0;
}

}  // namespace

Result<std::unique_ptr<LambdaRunner>> LambdaRunner::ForHost(const Config& config) {
  PosixEnv host;  // probing the host is what this function is for
  NEXUS_ASSIGN_OR_RETURN(LambdaOptions options, LambdaOptionsFromConfig(config, host));
  auto owned = std::make_unique<Owned>();
  owned->processes = NewPosixProcessRunner();
  Status availability;

  std::string runc =
      FindExecutable(config.lambda.runc_path.empty() ? "runc" : config.lambda.runc_path);
  if (::geteuid() != 0) {
    availability = UnavailableError(std::string(kUnavailableMessage) + " (nexusd is not root)");
  } else if (runc.empty() || runc[0] != '/') {
    availability = UnavailableError(std::string(kUnavailableMessage) + " (runc not found)");
  } else if (!IsExecutableFile(host, kSandboxPython)) {
    availability = UnavailableError("lambda needs " + std::string(kSandboxPython));
  } else if (options.init_path.empty() || !IsExecutableFile(host, options.init_path)) {
    availability = UnavailableError("lambda needs " + std::string(kLambdaInitName) +
                                    " (beside nexusd, or lambda.init_path)");
  }
  if (availability.ok()) {
    auto cgroups = MakeCgroupFs(kCgroupAuto);
    auto layout = ProbeHostLayout(host, "/");
    if (!cgroups.ok()) {
      availability = UnavailableError(std::string(kUnavailableMessage) + " (" +
                                      cgroups.status().message() + ")");
    } else if (!layout.ok()) {
      availability = UnavailableError(layout.status().message());
    } else {
      options.host = std::move(layout).value();
      options.host.swap_limit = (*cgroups)->swap_limit_supported();
      owned->cgroups = std::move(cgroups).value();
    }
  }
  if (!owned->cgroups) {
    NEXUS_ASSIGN_OR_RETURN(owned->cgroups, MakeCgroupFs("none"));
  }
  RuncOptions runc_options;
  runc_options.runc_path = runc;
  runc_options.root = options.runtime_dir + "/lambda/runc";
  NEXUS_ASSIGN_OR_RETURN(owned->runtime,
                         MakeOciRuntime(OciEngineFor(runc), runc_options, *owned->processes));

  auto runner = std::make_unique<LambdaRunner>(std::move(options), *owned->runtime, *owned->cgroups,
                                               availability);
  runner->owned_ = std::move(owned);
  if (availability.ok()) {
    Status prepared = runner->PrepareRuntimeDir();
    if (!prepared.ok()) {
      runner->availability_ =
          UnavailableError("lambda needs its runtime directory: " + prepared.message());
    }
  }
  if (!runner->availability_.ok()) {
    spdlog::warn("lambda disabled: {}", runner->availability_.message());
    return runner;
  }
  Status cleaned = runner->CleanUpLeftovers();
  if (!cleaned.ok()) spdlog::warn("lambda: clean up leftovers: {}", cleaned.ToString());
  Status etc = runner->PrepareSharedEtc();
  if (!etc.ok())
    spdlog::warn("lambda: shared /etc (each sandbox gets its own): {}", etc.ToString());
  runner->StartPool();
  return runner;
}

}  // namespace nexus::daemon::runtime
