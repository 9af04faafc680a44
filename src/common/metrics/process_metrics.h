// Process metrics: the process_* families every Prometheus client exports
// (CPU seconds, resident memory, open file descriptors, start time), and
// nexus_build_info, for one service. Each sample carries service="<name>",
// so the gateway can merge the three services' figures into one scrape.
// Read from /proc through an Env at scrape time. Thread-safe as the Env is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/metrics/metrics.h"
#include "common/result.h"

namespace nexus::metrics {

struct ProcessFigures {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double start_time_seconds = 0;  // unix time
};

// Parses /proc/self/stat (`stat`) with the boot time from /proc/stat
// (`proc_stat`'s btime line), the clock tick rate and the page size.
Result<ProcessFigures> ParseProcessFigures(std::string_view stat, std::string_view proc_stat,
                                           long ticks_per_second, long page_bytes);

// Registers the process_* collector and nexus_build_info for `service`.
// `env` must outlive the registry.
void AddProcessMetrics(Registry& registry, Env& env, std::string service);

}  // namespace nexus::metrics
