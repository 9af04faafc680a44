#include "common/metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace nexus::metrics {
namespace {

TEST(CounterTest, CountsIncrementsFromManyThreads) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) c.Inc();
    });
  }
  for (auto& t : threads) t.join();
  c.Inc(5);
  EXPECT_EQ(c.value(), 40005u);
}

TEST(GaugeTest, GoesUpAndDown) {
  Gauge g;
  g.Add(3);
  g.Add(-1);
  EXPECT_EQ(g.value(), 2);
  g.Set(-7);
  EXPECT_EQ(g.value(), -7);
}

TEST(HistogramTest, CountsEachObservationInTheFirstBucketThatHoldsIt) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 20.0, 30.0}) h.Observe(v);
  HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{2, 2, 0, 2}));
  EXPECT_DOUBLE_EQ(s.sum, 51.65);
}

TEST(RegistryTest, ExposesRegisteredSeriesGroupedByFamily) {
  Registry r;
  Counter& ok = r.AddCounter("nexus_calls_total", "Calls.", {{"outcome", "ok"}});
  Counter& failed = r.AddCounter("nexus_calls_total", "Calls.", {{"outcome", "failed"}});
  r.AddGauge("nexus_pool_size", "Pool.").Set(2);
  ok.Inc(3);
  failed.Inc();
  EXPECT_EQ(r.Expose(),
            "# HELP nexus_calls_total Calls.\n"
            "# TYPE nexus_calls_total counter\n"
            "nexus_calls_total{outcome=\"ok\"} 3\n"
            "nexus_calls_total{outcome=\"failed\"} 1\n"
            "# HELP nexus_pool_size Pool.\n"
            "# TYPE nexus_pool_size gauge\n"
            "nexus_pool_size 2\n");
}

TEST(RegistryTest, HistogramsAndCollectorsAppearInTheExposition) {
  Registry r;
  r.AddHistogram("nexus_d_seconds", "D.", {1}).Observe(0.5);
  r.AddCollector([](TextWriter& w) {
    w.Family("nexus_read_at_scrape", "R.", Type::kGauge);
    w.Sample("nexus_read_at_scrape", {}, 9);
  });
  std::string text = r.Expose();
  EXPECT_NE(text.find("nexus_d_seconds_bucket{le=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("nexus_d_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("nexus_read_at_scrape 9\n"), std::string::npos);
}

}  // namespace
}  // namespace nexus::metrics
