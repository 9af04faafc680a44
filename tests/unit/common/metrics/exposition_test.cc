#include "common/metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace nexus::metrics {
namespace {

TEST(FormatValueTest, WritesNumbersAsPrometheusReadsThem) {
  struct Case {
    double value;
    const char* text;
  } cases[] = {
      {0, "0"},           {42, "42"},          {-3, "-3"},   {0.25, "0.25"},   {1e18, "1e+18"},
      {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"}, {0.005, "0.005"},
  };
  for (const Case& c : cases) EXPECT_EQ(FormatValue(c.value), c.text) << c.text;
}

TEST(EscapeTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue(R"(a\b"c)"
                             "\n"),
            R"(a\\b\"c\n)");
  EXPECT_EQ(EscapeLabelValue("plain /api/files/:id"), "plain /api/files/:id");
}

TEST(EscapeTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(EscapeHelp("say \"hi\"\\\nthere"), "say \"hi\"\\\\\\nthere");
}

TEST(TextWriterTest, WritesHelpTypeAndLabelledSamples) {
  TextWriter w;
  w.Family("nexus_things_total", "Things seen.", Type::kCounter);
  w.Sample("nexus_things_total", {{"kind", "a\"b"}, {"code", "2xx"}}, 3);
  w.Sample("nexus_things_total", {}, 1);
  EXPECT_EQ(w.text(),
            "# HELP nexus_things_total Things seen.\n"
            "# TYPE nexus_things_total counter\n"
            "nexus_things_total{kind=\"a\\\"b\",code=\"2xx\"} 3\n"
            "nexus_things_total 1\n");
}

TEST(TextWriterTest, HistogramBucketsAreCumulativeAndEndWithInfSumAndCount) {
  const std::vector<double> bounds = {0.1, 1};
  HistogramSnapshot h{bounds, {2, 1, 4}, 12.5};
  TextWriter w;
  w.Family("nexus_wait_seconds", "Waits.", Type::kHistogram);
  w.Histogram("nexus_wait_seconds", {{"route", "/x"}}, h);
  EXPECT_EQ(w.text(),
            "# HELP nexus_wait_seconds Waits.\n"
            "# TYPE nexus_wait_seconds histogram\n"
            "nexus_wait_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
            "nexus_wait_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "nexus_wait_seconds_bucket{route=\"/x\",le=\"+Inf\"} 7\n"
            "nexus_wait_seconds_sum{route=\"/x\"} 12.5\n"
            "nexus_wait_seconds_count{route=\"/x\"} 7\n");
}

TEST(MergeExpositionsTest, JoinsOneFamilyFromSeveralTextsUnderOneHeader) {
  const std::vector<std::string> texts = {
      "# HELP up_total Ups.\n# TYPE up_total counter\nup_total{service=\"a\"} 1\n"
      "# HELP only_a A.\n# TYPE only_a gauge\nonly_a 5\n",
      "# HELP up_total Ups.\n# TYPE up_total counter\nup_total{service=\"b\"} 2\n",
  };
  EXPECT_EQ(MergeExpositions(texts),
            "# HELP up_total Ups.\n# TYPE up_total counter\n"
            "up_total{service=\"a\"} 1\nup_total{service=\"b\"} 2\n"
            "# HELP only_a A.\n# TYPE only_a gauge\nonly_a 5\n");
}

TEST(MergeExpositionsTest, KeepsHistogramLinesWithTheirFamily) {
  const std::vector<std::string> texts = {
      "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\n",
      "# HELP h H.\n# TYPE h histogram\nh_bucket{x=\"1\",le=\"+Inf\"} 3\nh_sum{x=\"1\"} 4\n"
      "h_count{x=\"1\"} 3\n",
  };
  std::string merged = MergeExpositions(texts);
  EXPECT_EQ(merged.find("# TYPE h histogram"), merged.rfind("# TYPE h histogram"));
  EXPECT_NE(merged.find("h_count{x=\"1\"} 3\n"), std::string::npos);
}

}  // namespace
}  // namespace nexus::metrics
