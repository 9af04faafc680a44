// Node metrics: what a node's cgroup says about its memory and CPU, sampled
// periodically into an in-memory ring (ARCHITECTURE.md "Nodes", "Metrics").
//
// CgroupStatsReader reads one cgroup's counters from the files of cgroup v1
// (memory.usage_in_bytes, memory.limit_in_bytes, cpuacct.usage) or v2
// (memory.current, memory.max, cpu.stat usage_usec) under the roots it is
// given — the host's (HostCgroupFs::controller_root) or a fake tree in a
// MemoryEnv. It is immutable and thread-safe.
//
// MetricsSampler keeps, per tracked key (a node), a ring of the samples of
// the last `history_seconds`. SampleAll() reads every active cgroup once,
// stamping samples with the injected Clock; a background thread (Start())
// calls it every `interval_seconds`, and tests call it directly, so they
// never sleep. cpu_percent is the CPU time used between two consecutive
// samples as a percentage of the wall time between them: percent of one CPU,
// as `docker stats` reports (200 = two CPUs busy). The first sample after
// Track() has no predecessor and reports 0. Memory usage is the cgroup's
// whole charge, page cache included (the files the issue names).
//
// Thread-safe: one mutex guards the rings; cgroup files are read outside it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "common/result.h"

namespace nexus::daemon::runtime {

struct CgroupRoots {
  bool unified = false;  // cgroup v2: both roots are the unified mount
  std::string memory;    // v1: the memory controller's mount point
  std::string cpuacct;   // v1: the cpuacct controller's mount point
};

struct CgroupCounters {
  int64_t memory_usage = 0;  // bytes
  int64_t memory_limit = 0;  // bytes; 0 = no limit
  int64_t cpu_usage_ns = 0;  // total CPU time since the cgroup was made
};

class CgroupStatsReader {
 public:
  // Reads through `files`; the real file system when null.
  explicit CgroupStatsReader(CgroupRoots roots, Env* files = nullptr)
      : roots_(std::move(roots)), files_(files) {}
  // `cgroups_path` is the absolute path of an OCI config ("/nexus-x-nodes/ab").
  // kNotFound when the cgroup does not exist (the container is gone).
  Result<CgroupCounters> Read(const std::string& cgroups_path) const;
  const CgroupRoots& roots() const { return roots_; }

 private:
  CgroupRoots roots_;
  Env* files_;
  mutable PosixEnv host_files_;  // stateless; what files_ is when null
};

// usage_usec from the text of a v2 cpu.stat; -1 when absent.
int64_t ParseCpuStatUsageUsec(const std::string& text);

struct MetricsOptions {
  int64_t interval_seconds = 5;
  int64_t history_seconds = 3600;
};

struct MetricsPoint {
  int64_t timestamp_ms = 0;
  int64_t memory_usage = 0;
  double cpu_percent = 0;
};

struct MetricsSnapshot {
  int64_t memory_usage = 0;
  int64_t memory_limit = 0;
  double cpu_percent = 0;
  std::vector<MetricsPoint> history;  // oldest first; empty unless asked for
};

class MetricsSampler {
 public:
  // `reader` and `clock` must outlive the sampler.
  MetricsSampler(const CgroupStatsReader& reader, const Clock& clock, MetricsOptions options);
  ~MetricsSampler();  // stops the thread
  MetricsSampler(const MetricsSampler&) = delete;
  MetricsSampler& operator=(const MetricsSampler&) = delete;

  // Starts (or resumes, keeping the history) sampling `cgroups_path` for `key`.
  void Track(const std::string& key, const std::string& cgroups_path);
  // Stops sampling `key` (its container stopped) but keeps its history.
  void Pause(const std::string& key);
  void Forget(const std::string& key);

  // Reads every active cgroup once. A cgroup that cannot be read is skipped.
  void SampleAll();
  // The latest values and, with `history`, the ring. A key being sampled
  // that has no sample yet is read now. kNotFound for an unknown key; a
  // paused key reports zero usage and its history.
  Result<MetricsSnapshot> Snapshot(const std::string& key, bool history);
  // The counters of `key`'s last sample (cumulative CPU time, memory), for
  // /metrics; nullopt when it is paused or not sampled yet.
  std::optional<CgroupCounters> Latest(const std::string& key);

  // A thread that calls SampleAll() every interval until Stop().
  void Start();
  void Stop();

  const MetricsOptions& options() const { return options_; }

 private:
  struct Series {
    std::string cgroups_path;
    bool active = false;
    bool has_baseline = false;  // prev_* are from this container's cgroup
    int64_t prev_ms = 0;
    int64_t prev_cpu_ns = 0;
    int64_t memory_limit = 0;
    std::deque<MetricsPoint> ring;
  };
  // Adds a sample read at `now_ms` to `s`.
  void Record(Series& s, int64_t now_ms, const CgroupCounters& c);
  size_t capacity() const;

  const CgroupStatsReader& reader_;
  const Clock& clock_;
  const MetricsOptions options_;

  std::mutex mu_;
  std::map<std::string, Series> series_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                 // GUARDED_BY(mu_)
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace nexus::daemon::runtime
