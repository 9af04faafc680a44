#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "cli/units.h"

namespace nexus::cli {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr size_t kLabelColumns = 24;

size_t TerminalColumns(std::FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

std::string FitLabel(std::string_view label) {
  if (label.size() <= kLabelColumns) {
    return std::string(label) + std::string(kLabelColumns - label.size(), ' ');
  }
  // Keep the end of a long path: the file name is what tells lines apart.
  return "..." + std::string(label.substr(label.size() - (kLabelColumns - 3)));
}

}  // namespace

std::string RenderBarLine(const BarLine& line) {
  const double rate = line.elapsed_s > 0 ? static_cast<double>(line.done) / line.elapsed_s : 0;
  std::string tail;
  if (line.total > 0) {
    const uint64_t pct = std::min<uint64_t>(100, line.done * 100 / line.total);
    tail = " " + std::to_string(pct) + "% " + FormatBytes(line.done) + "/" +
           FormatBytes(line.total) + " " + FormatRate(rate) + " ETA ";
    tail +=
        rate > 0
            ? FormatEta(static_cast<double>(line.total - std::min(line.done, line.total)) / rate)
            : FormatEta(-1);
  } else {
    tail = " " + FormatBytes(line.done) + " " + FormatRate(rate);
  }
  std::string label = FitLabel(line.label);
  const size_t fixed = label.size() + 3 + tail.size();
  const size_t bar_width = line.width > fixed + 10 ? std::min<size_t>(30, line.width - fixed) : 10;
  size_t filled = line.total > 0
                      ? static_cast<size_t>(static_cast<double>(bar_width) *
                                            std::min(1.0, static_cast<double>(line.done) /
                                                              static_cast<double>(line.total)))
                      : 0;
  std::string bar = std::string(filled, '#') + std::string(bar_width - filled, '-');
  if (line.color) bar = "\x1b[32m" + bar.substr(0, filled) + "\x1b[0m" + bar.substr(filled);
  std::string out = label + " [" + bar + "]" + tail;
  return out;
}

ProgressBoard::ProgressBoard(std::FILE* out, bool enabled, bool color, uint64_t total_bytes,
                             size_t total_files)
    : out_(out),
      enabled_(enabled),
      color_(color),
      total_bytes_(total_bytes),
      total_files_(total_files),
      started_(Clock::now()) {}

ProgressBoard::~ProgressBoard() { Finish(); }

std::unique_ptr<ProgressBoard::Slot> ProgressBoard::Begin(std::string label, uint64_t size) {
  std::lock_guard lock(mu_);
  const int id = next_id_++;
  lines_[id] = Line{std::move(label), 0, size, Clock::now()};
  Redraw(/*force=*/false);
  return std::make_unique<Slot>(this, id);
}

void ProgressBoard::Skip(uint64_t size) {
  std::lock_guard lock(mu_);
  finished_bytes_ += size;
  ++finished_files_;
}

void ProgressBoard::Update(int id, uint64_t done, uint64_t total) {
  std::lock_guard lock(mu_);
  auto it = lines_.find(id);
  if (it == lines_.end()) return;
  it->second.done = done;
  if (total > 0) it->second.total = total;
  Redraw(/*force=*/false);
}

void ProgressBoard::End(int id) {
  std::lock_guard lock(mu_);
  auto it = lines_.find(id);
  if (it == lines_.end()) return;
  finished_bytes_ += it->second.done;
  ++finished_files_;
  last_label_ = std::move(it->second.label);
  lines_.erase(it);
  Redraw(/*force=*/false);
}

void ProgressBoard::Message(const std::string& text) {
  std::lock_guard lock(mu_);
  Erase();
  std::fprintf(out_, "%s\n", text.c_str());
  Redraw(/*force=*/true);
  std::fflush(out_);
}

void ProgressBoard::Finish() {
  std::lock_guard lock(mu_);
  if (finished_) return;
  Redraw(/*force=*/true);
  finished_ = true;
}

void ProgressBoard::Erase() {
  if (!enabled_ || drawn_lines_ == 0) return;
  // Up to the first line of the board, then clear to the end of the screen.
  std::fprintf(out_, "\x1b[%zuF\x1b[J", drawn_lines_);
  drawn_lines_ = 0;
}

void ProgressBoard::Redraw(bool force) {
  if (!enabled_ || finished_) return;
  const auto now = Clock::now();
  if (!force && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  const size_t width = TerminalColumns(out_);
  std::string text;
  size_t lines = 0;
  uint64_t moving = 0;
  // More than one file: a line per running transfer, then the total.
  if (total_files_ > 1) {
    for (const auto& [id, line] : lines_) {
      const double elapsed = std::chrono::duration<double>(now - line.started).count();
      text += "\x1b[2K" +
              RenderBarLine({line.label, line.done, line.total, elapsed, width, color_}) + "\n";
      ++lines;
      moving += line.done;
    }
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    const std::string label =
        "total " + std::to_string(finished_files_) + "/" + std::to_string(total_files_) + " files";
    text += "\x1b[2K" +
            RenderBarLine({label, finished_bytes_ + moving, total_bytes_, elapsed, width, color_}) +
            "\n";
    ++lines;
  } else {
    for (const auto& [id, line] : lines_) moving += line.done;
    const std::string& label = lines_.empty() ? last_label_ : lines_.begin()->second.label;
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    text += "\x1b[2K" +
            RenderBarLine({label, finished_bytes_ + moving, total_bytes_, elapsed, width, color_}) +
            "\n";
    ++lines;
  }
  Erase();
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
  drawn_lines_ = lines;
}

}  // namespace nexus::cli
