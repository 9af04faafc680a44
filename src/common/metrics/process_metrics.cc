#include "common/metrics/process_metrics.h"

#include <unistd.h>

#include <charconv>
#include <vector>

#ifndef NEXUS_VERSION
#define NEXUS_VERSION "unknown"
#endif

namespace nexus::metrics {
namespace {

std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool ToNumber(std::string_view s, uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<ProcessFigures> ParseProcessFigures(std::string_view stat, std::string_view proc_stat,
                                           long ticks_per_second, long page_bytes) {
  // The command name (field 2) may hold spaces and parentheses: the fields
  // that follow start after its last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return InternalError("parse /proc/self/stat: no ')'");
  std::vector<std::string_view> f = Fields(stat.substr(close + 1));
  // After the name: state is field 3, utime 14, stime 15, starttime 22, rss 24.
  auto field = [&](int n) -> std::string_view {
    size_t i = static_cast<size_t>(n - 3);
    return i < f.size() ? f[i] : std::string_view();
  };
  uint64_t utime = 0, stime = 0, start_ticks = 0, rss_pages = 0;
  if (!ToNumber(field(14), utime) || !ToNumber(field(15), stime) ||
      !ToNumber(field(22), start_ticks) || !ToNumber(field(24), rss_pages)) {
    return InternalError("parse /proc/self/stat: unexpected fields");
  }
  uint64_t btime = 0;
  size_t at = proc_stat.find("btime ");
  if (at == std::string_view::npos) return InternalError("parse /proc/stat: no btime");
  std::string_view rest = proc_stat.substr(at + 6);
  if (!ToNumber(rest.substr(0, rest.find('\n')), btime)) {
    return InternalError("parse /proc/stat: malformed btime");
  }
  const double tick = 1.0 / static_cast<double>(ticks_per_second);
  ProcessFigures p;
  p.cpu_seconds = static_cast<double>(utime + stime) * tick;
  p.resident_bytes = static_cast<double>(rss_pages) * static_cast<double>(page_bytes);
  p.start_time_seconds = static_cast<double>(btime) + static_cast<double>(start_ticks) * tick;
  return p;
}

void AddProcessMetrics(Registry& registry, Env& env, std::string service) {
  Labels build{{"service", service}, {"version", NEXUS_VERSION}};
  registry.AddGauge("nexus_build_info", "Nexus version of this service (always 1).", build).Set(1);
  registry.AddCollector([&env, service = std::move(service)](TextWriter& w) {
    const Labels labels{{"service", service}};
    auto stat = env.ReadFile("/proc/self/stat", 4096);
    auto proc_stat = env.ReadFile("/proc/stat", 1 << 20);
    if (stat.ok() && proc_stat.ok()) {
      auto p = ParseProcessFigures(*stat, *proc_stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
      if (p.ok()) {
        w.Family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                 Type::kCounter);
        w.Sample("process_cpu_seconds_total", labels, p->cpu_seconds);
        w.Family("process_resident_memory_bytes", "Resident memory size in bytes.", Type::kGauge);
        w.Sample("process_resident_memory_bytes", labels, p->resident_bytes);
        w.Family("process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.", Type::kGauge);
        w.Sample("process_start_time_seconds", labels, p->start_time_seconds);
      }
    }
    if (auto fds = env.ListDir("/proc/self/fd"); fds.ok()) {
      w.Family("process_open_fds", "Number of open file descriptors.", Type::kGauge);
      w.Sample("process_open_fds", labels, static_cast<double>(fds->size()));
    }
  });
}

}  // namespace nexus::metrics
