// Exposition: the Prometheus text format, version 0.0.4, written and merged.
//
// TextWriter appends families to a string: "# HELP" and "# TYPE" lines, then
// the samples, label values and help text escaped as the format says, values
// as Go's ParseFloat reads them (+Inf, -Inf, NaN). A histogram is written
// whole: cumulative _bucket lines up to le="+Inf", then _sum and _count.
// MergeExpositions joins the texts of several processes (the gateway's own
// and those nexusd and nexus-auth return over RPC) into one, so a family that
// more than one process reports (process_*, nexus_build_info) appears once
// with every process's samples.
// The Prometheus format is small enough to write by hand here: Debian's
// prometheus-cpp-dev cannot be had without its civetweb listener and push
// client, and its label lookups take a lock per call.
// TextWriter is a value type (thread-compatible); the functions are pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nexus::metrics {

enum class Type { kCounter, kGauge, kHistogram };

struct Label {
  std::string name;
  std::string value;
};
using Labels = std::vector<Label>;

// A histogram's figures at one moment: counts[i] observations fell at or
// below bounds[i] and above bounds[i-1]; counts has one more element than
// bounds, for the observations above the last bound (+Inf).
struct HistogramSnapshot {
  std::span<const double> bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
};

class TextWriter {
 public:
  // Starts a family: every sample written until the next Family belongs to it.
  void Family(std::string_view name, std::string_view help, Type type);
  // One sample line; `name` is the family's name (with _total for counters).
  void Sample(std::string_view name, const Labels& labels, double value);
  // The _bucket, _sum and _count lines of one histogram series.
  void Histogram(std::string_view name, const Labels& labels, const HistogramSnapshot& h);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void AppendSample(std::string_view name, std::string_view suffix, const Labels& labels,
                    const Label* extra, double value);

  std::string out_;
};

// A value as the format writes it: integers without exponent or point,
// others in the shortest form that reads back exactly.
std::string FormatValue(double v);
// Escapes a label value (\ " and newline) or a help text (\ and newline).
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);

// One exposition holding every family of `texts`: a family's HELP and TYPE
// once (from its first appearance), then its samples from each text in
// order. Families keep the order of their first appearance.
std::string MergeExpositions(std::span<const std::string> texts);

}  // namespace nexus::metrics
