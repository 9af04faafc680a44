#include "common/metrics/exposition.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace nexus::metrics {
namespace {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// The family a "# HELP " or "# TYPE " line names.
std::string_view CommentFamily(std::string_view line) {
  std::string_view rest = line.substr(7);
  return rest.substr(0, rest.find(' '));
}

// Label values escape \, " and newline; help texts only \ and newline.
std::string Escape(std::string_view v, bool quotes) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A sample line's metric name (with a histogram's suffix, if any).
std::string_view SampleName(std::string_view line) {
  return line.substr(0, line.find_first_of("{ "));
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Exact integers (counts, bytes) read better, and stay exact, without a
  // decimal point; 2^53 is where doubles stop holding every integer.
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    return fmt::format("{}", static_cast<int64_t>(v));
  }
  return fmt::format("{}", v);
}

std::string EscapeLabelValue(std::string_view v) { return Escape(v, /*quotes=*/true); }

std::string EscapeHelp(std::string_view v) { return Escape(v, /*quotes=*/false); }

void TextWriter::Family(std::string_view name, std::string_view help, Type type) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(help),
                 name, TypeName(type));
}

void TextWriter::AppendSample(std::string_view name, std::string_view suffix, const Labels& labels,
                              const Label* extra, double value) {
  out_.append(name);
  out_.append(suffix);
  if (!labels.empty() || extra) {
    out_.push_back('{');
    bool first = true;
    auto append = [&](const Label& l) {
      if (!first) out_.push_back(',');
      first = false;
      fmt::format_to(std::back_inserter(out_), "{}=\"{}\"", l.name, EscapeLabelValue(l.value));
    };
    for (const Label& l : labels) append(l);
    if (extra) append(*extra);
    out_.push_back('}');
  }
  out_.push_back(' ');
  out_.append(FormatValue(value));
  out_.push_back('\n');
}

void TextWriter::Sample(std::string_view name, const Labels& labels, double value) {
  AppendSample(name, "", labels, nullptr, value);
}

void TextWriter::Histogram(std::string_view name, const Labels& labels,
                           const HistogramSnapshot& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    double bound = i < h.bounds.size() ? h.bounds[i] : INFINITY;
    Label le{"le", FormatValue(bound)};
    AppendSample(name, "_bucket", labels, &le, static_cast<double>(cumulative));
  }
  AppendSample(name, "_sum", labels, nullptr, h.sum);
  AppendSample(name, "_count", labels, nullptr, static_cast<double>(cumulative));
}

std::string MergeExpositions(std::span<const std::string> texts) {
  struct Block {
    std::string comments;  // HELP and TYPE, from the first text that has them
    std::string samples;
    bool have_help = false;
    bool have_type = false;
  };
  std::vector<std::string> order;
  std::map<std::string, Block, std::less<>> blocks;
  auto block_of = [&](std::string_view family) -> Block& {
    auto it = blocks.find(family);
    if (it == blocks.end()) {
      order.emplace_back(family);
      it = blocks.emplace(std::string(family), Block{}).first;
    }
    return it->second;
  };
  for (const std::string& text : texts) {
    std::string current;  // the family of the last HELP/TYPE line
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + pos, end - pos);
      pos = end + 1;
      if (line.empty()) continue;
      const bool help = line.starts_with("# HELP ");
      const bool type = line.starts_with("# TYPE ");
      if (help || type) {
        current = CommentFamily(line);
        Block& b = block_of(current);
        bool& seen = help ? b.have_help : b.have_type;
        if (!seen) {
          seen = true;
          b.comments.append(line);
          b.comments.push_back('\n');
        }
        continue;
      }
      if (line.front() == '#') continue;
      // A sample outside its family's comments (an untyped one) is its own.
      std::string_view name = SampleName(line);
      Block& b = current.empty() || !name.starts_with(current) ? block_of(name) : block_of(current);
      b.samples.append(line);
      b.samples.push_back('\n');
    }
  }
  std::string out;
  for (const std::string& family : order) {
    const Block& b = blocks.find(family)->second;
    out += b.comments;
    out += b.samples;
  }
  return out;
}

}  // namespace nexus::metrics
