// Metrics: counters, gauges and fixed-bucket histograms, and the Registry
// that names them and writes them out in the Prometheus text format.
//
// A series (one family plus one fixed set of label values) is created once,
// at start-up or when its owner is built, and its owner keeps the reference:
// the hot path is then one relaxed atomic add, with no lock, no lookup and
// no allocation. Labels are thereby bounded by construction: only the label
// sets someone registered ever exist (route patterns, outcomes, status
// classes; never paths or ids). Figures that live elsewhere (database sums,
// /proc, a sampler's ring) are read at scrape time by collectors.
// Counter, Gauge and Histogram are thread-safe. Registry: registration and
// Expose are thread-safe (one mutex, never taken on the hot path); series
// live as long as the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics/exposition.h"

namespace nexus::metrics {

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending). A
// snapshot taken during concurrent Observes may be off by the observations
// in flight; Prometheus tolerates that.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);

  void Observe(double v);
  HistogramSnapshot Snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Bucket bounds in seconds for request-like latencies: 1 ms to 60 s.
std::vector<double> LatencyBuckets();
// For operations that wait on a disk or a child process: 0.1 ms to 10 s.
std::vector<double> FastLatencyBuckets();

class Registry {
 public:
  // Writes families at scrape time (see TextWriter).
  using Collector = std::function<void(TextWriter&)>;

  // The series of family `name` with `labels`. A family keeps the help and
  // type of its first registration; registering the same name with another
  // type, or the same labels twice, is a programming error (asserted).
  Counter& AddCounter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, Labels labels = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, Labels labels = {});
  void AddCollector(Collector collector);

  // The registered families (in name order), then what the collectors write.
  std::string Expose() const;

 private:
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string help;
    Type type;
    std::deque<Series> series;
  };
  Series& AddSeries(const std::string& name, const std::string& help, Type type, Labels labels);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
  std::vector<Collector> collectors_;       // guarded by mu_
};

}  // namespace nexus::metrics
