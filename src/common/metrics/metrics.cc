#include "common/metrics/metrics.h"

#include <algorithm>
#include <cassert>

namespace nexus::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()));
}

void Histogram::Observe(double v) {
  // A handful of bounds: a linear scan beats a binary search's branches.
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (size_t i = 0; i < s.counts.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> FastLatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10};
}

Registry::Series& Registry::AddSeries(const std::string& name, const std::string& help, Type type,
                                      Labels labels) {
  std::lock_guard lock(mu_);
  auto [it, added] = families_.try_emplace(name, Family{help, type, {}});
  Family& f = it->second;
  assert(f.type == type && "one metric name, two types");
  for ([[maybe_unused]] const Series& s : f.series) {
    assert(!std::equal(s.labels.begin(), s.labels.end(), labels.begin(), labels.end(),
                       [](const Label& a, const Label& b) {
                         return a.name == b.name && a.value == b.value;
                       }) &&
           "one series registered twice");
  }
  Series& s = f.series.emplace_back();
  s.labels = std::move(labels);
  return s;
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help, Labels labels) {
  Series& s = AddSeries(name, help, Type::kCounter, std::move(labels));
  s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help, Labels labels) {
  Series& s = AddSeries(name, help, Type::kGauge, std::move(labels));
  s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> bounds, Labels labels) {
  Series& s = AddSeries(name, help, Type::kHistogram, std::move(labels));
  s.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *s.histogram;
}

void Registry::AddCollector(Collector collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Expose() const {
  TextWriter w;
  std::lock_guard lock(mu_);
  for (const auto& [name, f] : families_) {
    w.Family(name, f.help, f.type);
    for (const Series& s : f.series) {
      if (s.counter) {
        w.Sample(name, s.labels, static_cast<double>(s.counter->value()));
      } else if (s.gauge) {
        w.Sample(name, s.labels, static_cast<double>(s.gauge->value()));
      } else if (s.histogram) {
        w.Histogram(name, s.labels, s.histogram->Snapshot());
      }
    }
  }
  for (const Collector& c : collectors_) c(w);
  return w.Take();
}

}  // namespace nexus::metrics
