#include "daemon/nodes/metrics_sampler.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace nexus::daemon::runtime {
namespace {

// cgroup files are a line or a few; the bound only guards against a surprise.
constexpr size_t kMaxCgroupFileBytes = 64 * 1024;

// A counter file holding one integer; "max" (v2, no limit) reads as 0.
Result<int64_t> ReadCounter(Env& files, const std::string& path) {
  NEXUS_ASSIGN_OR_RETURN(std::string text, files.ReadFile(path, kMaxCgroupFileBytes));
  if (text.rfind("max", 0) == 0) return int64_t{0};
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str()) return InternalError("parse '" + path + "': not a number");
  return static_cast<int64_t>(v);
}

}  // namespace

int64_t ParseCpuStatUsageUsec(const std::string& text) {
  std::istringstream in(text);
  std::string key;
  int64_t value = 0;
  while (in >> key >> value) {
    if (key == "usage_usec") return value;
  }
  return -1;
}

Result<CgroupCounters> CgroupStatsReader::Read(const std::string& cgroups_path) const {
  CgroupCounters c;
  const std::string memory_dir = roots_.memory + cgroups_path;
  Env& files = files_ != nullptr ? *files_ : host_files_;
  if (!files.IsDir(memory_dir))
    return NotFoundError("cgroup '" + cgroups_path + "' does not exist");
  if (roots_.unified) {
    NEXUS_ASSIGN_OR_RETURN(c.memory_usage, ReadCounter(files, memory_dir + "/memory.current"));
    NEXUS_ASSIGN_OR_RETURN(c.memory_limit, ReadCounter(files, memory_dir + "/memory.max"));
    NEXUS_ASSIGN_OR_RETURN(std::string stat,
                           files.ReadFile(memory_dir + "/cpu.stat", kMaxCgroupFileBytes));
    int64_t usec = ParseCpuStatUsageUsec(stat);
    if (usec < 0) return InternalError("parse '" + memory_dir + "/cpu.stat': no usage_usec");
    c.cpu_usage_ns = usec * 1000;
    return c;
  }
  NEXUS_ASSIGN_OR_RETURN(c.memory_usage, ReadCounter(files, memory_dir + "/memory.usage_in_bytes"));
  NEXUS_ASSIGN_OR_RETURN(c.memory_limit, ReadCounter(files, memory_dir + "/memory.limit_in_bytes"));
  NEXUS_ASSIGN_OR_RETURN(c.cpu_usage_ns,
                         ReadCounter(files, roots_.cpuacct + cgroups_path + "/cpuacct.usage"));
  return c;
}

MetricsSampler::MetricsSampler(const CgroupStatsReader& reader, const Clock& clock,
                               MetricsOptions options)
    : reader_(reader), clock_(clock), options_(options) {}

MetricsSampler::~MetricsSampler() { Stop(); }

size_t MetricsSampler::capacity() const {
  int64_t interval = options_.interval_seconds > 0 ? options_.interval_seconds : 1;
  return static_cast<size_t>(options_.history_seconds / interval + 1);
}

void MetricsSampler::Track(const std::string& key, const std::string& cgroups_path) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = series_[key];
  s.cgroups_path = cgroups_path;
  s.active = true;
  s.has_baseline = false;  // a new container's counters start again from 0
}

void MetricsSampler::Pause(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(key);
  if (it != series_.end()) it->second.active = false;
}

void MetricsSampler::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  series_.erase(key);
}

void MetricsSampler::Record(Series& s, int64_t now_ms, const CgroupCounters& c) {
  MetricsPoint p;
  p.timestamp_ms = now_ms;
  p.memory_usage = c.memory_usage;
  if (s.has_baseline && now_ms > s.prev_ms && c.cpu_usage_ns >= s.prev_cpu_ns) {
    double cpu_ns = static_cast<double>(c.cpu_usage_ns - s.prev_cpu_ns);
    double wall_ns = static_cast<double>(now_ms - s.prev_ms) * 1e6;
    p.cpu_percent = cpu_ns / wall_ns * 100.0;
  }
  s.has_baseline = true;
  s.prev_ms = now_ms;
  s.prev_cpu_ns = c.cpu_usage_ns;
  s.memory_limit = c.memory_limit;
  s.ring.push_back(p);
  const int64_t oldest = now_ms - options_.history_seconds * 1000;
  while (!s.ring.empty() && (s.ring.size() > capacity() || s.ring.front().timestamp_ms < oldest)) {
    s.ring.pop_front();
  }
}

void MetricsSampler::SampleAll() {
  std::vector<std::pair<std::string, std::string>> active;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, s] : series_) {
      if (s.active) active.emplace_back(key, s.cgroups_path);
    }
  }
  for (const auto& [key, path] : active) {
    auto counters = reader_.Read(path);
    if (!counters.ok()) continue;
    const int64_t now = clock_.NowMillis();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = series_.find(key);
    // Paused, forgotten or moved while we read: the sample is stale.
    if (it == series_.end() || !it->second.active || it->second.cgroups_path != path) continue;
    Record(it->second, now, *counters);
  }
}

std::optional<CgroupCounters> MetricsSampler::Latest(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end() || !it->second.active || it->second.ring.empty()) return std::nullopt;
  const Series& s = it->second;
  return CgroupCounters{s.ring.back().memory_usage, s.memory_limit, s.prev_cpu_ns};
}

Result<MetricsSnapshot> MetricsSampler::Snapshot(const std::string& key, bool history) {
  std::string unsampled_path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = series_.find(key);
    if (it == series_.end()) return NotFoundError("no metrics for '" + key + "'");
    if (it->second.active && it->second.ring.empty()) unsampled_path = it->second.cgroups_path;
  }
  if (!unsampled_path.empty()) {
    auto counters = reader_.Read(unsampled_path);
    if (counters.ok()) {
      const int64_t now = clock_.NowMillis();
      std::lock_guard<std::mutex> lock(mu_);
      auto it = series_.find(key);
      if (it != series_.end() && it->second.active && it->second.ring.empty()) {
        Record(it->second, now, *counters);
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) return NotFoundError("no metrics for '" + key + "'");
  const Series& s = it->second;
  MetricsSnapshot snap;
  if (s.active && !s.ring.empty()) {
    snap.memory_usage = s.ring.back().memory_usage;
    snap.cpu_percent = s.ring.back().cpu_percent;
  }
  snap.memory_limit = s.memory_limit;
  if (history) snap.history.assign(s.ring.begin(), s.ring.end());
  return snap;
}

void MetricsSampler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    const auto interval =
        std::chrono::seconds(options_.interval_seconds > 0 ? options_.interval_seconds : 1);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      SampleAll();
      lock.lock();
      wake_.wait_for(lock, interval, [this] { return stopping_; });
    }
  });
}

void MetricsSampler::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    t = std::move(thread_);
  }
  wake_.notify_all();
  if (t.joinable()) t.join();
}

}  // namespace nexus::daemon::runtime
