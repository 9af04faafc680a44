#include "common/metrics/process_metrics.h"

#include <gtest/gtest.h>

namespace nexus::metrics {
namespace {

// A /proc/self/stat line whose command name holds a space and a ')'.
constexpr const char* kStat =
    "1234 (nexus api) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 1000 "
    "123456789 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
constexpr const char* kProcStat = "cpu  1 2 3 4\nbtime 1700000000\nprocesses 5\n";

TEST(ParseProcessFiguresTest, ReadsCpuMemoryAndStartTime) {
  auto p = ParseProcessFigures(kStat, kProcStat, 100, 4096);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_DOUBLE_EQ(p->cpu_seconds, 3.0);  // (250 + 50) ticks
  EXPECT_DOUBLE_EQ(p->resident_bytes, 2560.0 * 4096);
  EXPECT_DOUBLE_EQ(p->start_time_seconds, 1700000000 + 10.0);
}

TEST(ParseProcessFiguresTest, RejectsTruncatedInput) {
  EXPECT_FALSE(ParseProcessFigures("1234 (x) S 1 2", kProcStat, 100, 4096).ok());
  EXPECT_FALSE(ParseProcessFigures(kStat, "cpu 1 2\n", 100, 4096).ok());
}

}  // namespace
}  // namespace nexus::metrics
