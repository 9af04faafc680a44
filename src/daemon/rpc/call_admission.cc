#include "daemon/rpc/call_admission.h"

#include <algorithm>
#include <limits>

namespace nexus::daemon {

Result<CallLimits> CallLimitsFromConfig(const Config& config, int64_t lambda_max_concurrent) {
  CallLimits l;
  l.downloads = {config.daemon.max_concurrent_downloads,
                 config.daemon.max_concurrent_downloads_per_user};
  l.uploads = {config.daemon.max_concurrent_uploads, config.daemon.max_concurrent_uploads_per_user};
  const int64_t lambda_per_user = config.lambda.max_concurrent_per_user > 0
                                      ? config.lambda.max_concurrent_per_user
                                      : std::max<int64_t>(1, lambda_max_concurrent / 2);
  l.lambda_runs = {lambda_max_concurrent, lambda_per_user};
  l.execs = {config.nodes.max_concurrent_execs, config.nodes.max_concurrent_execs_per_user};
  l.node_changes = {config.nodes.max_concurrent_changes,
                    config.nodes.max_concurrent_changes_per_user};
  NEXUS_RETURN_IF_ERROR(ValidateSlotLimits(
      "daemon.max_concurrent_downloads and max_concurrent_downloads_per_user", l.downloads));
  NEXUS_RETURN_IF_ERROR(ValidateSlotLimits(
      "daemon.max_concurrent_uploads and max_concurrent_uploads_per_user", l.uploads));
  NEXUS_RETURN_IF_ERROR(
      ValidateSlotLimits("lambda.max_concurrent and max_concurrent_per_user", l.lambda_runs));
  NEXUS_RETURN_IF_ERROR(
      ValidateSlotLimits("nodes.max_concurrent_execs and max_concurrent_execs_per_user", l.execs));
  NEXUS_RETURN_IF_ERROR(ValidateSlotLimits(
      "nodes.max_concurrent_changes and max_concurrent_changes_per_user", l.node_changes));
  // Every cap becomes server threads: keep their sum a sane thread count.
  constexpr int64_t kMaxCap = 4096;
  for (const SlotLimits* s :
       {&l.downloads, &l.uploads, &l.lambda_runs, &l.execs, &l.node_changes}) {
    if (s->global > kMaxCap) {
      return InvalidArgumentError("a concurrency cap of " + std::to_string(s->global) +
                                  " is more than " + std::to_string(kMaxCap) +
                                  " (each running call holds a thread)");
    }
  }
  if (config.daemon.stream_idle_timeout_seconds <= 0 ||
      config.daemon.stream_idle_timeout_seconds > std::numeric_limits<int32_t>::max()) {
    return InvalidArgumentError("daemon.stream_idle_timeout_seconds must be > 0");
  }
  l.stream_idle_timeout = std::chrono::seconds(config.daemon.stream_idle_timeout_seconds);
  return l;
}

int ServerThreadsFor(const CallLimits& l) {
  return static_cast<int>(l.downloads.global + l.uploads.global + l.lambda_runs.global +
                          l.execs.global + l.node_changes.global) +
         kShortCallThreads;
}

CallAdmission::CallAdmission(const CallLimits& limits)
    : downloads("downloads", limits.downloads),
      uploads("uploads", limits.uploads),
      lambda_runs("lambda runs", limits.lambda_runs),
      execs("execs", limits.execs),
      node_changes("node changes (create, start, stop, delete)", limits.node_changes) {}

}  // namespace nexus::daemon
