// Progress bars for transfers on stderr: one line per running transfer (name,
// bar, bytes, rate, ETA) and a total line under them, redrawn in place at
// most ten times a second. Only when stderr is a terminal: a board built
// disabled draws nothing, so pipes and logs stay clean. Colour only when
// wanted (NO_COLOR).
//
// Thread-safe: transfers on worker threads report through their Slot; one
// mutex guards the board and the drawing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "cli/http_client.h"

namespace nexus::cli {

struct BarLine {
  std::string_view label;
  uint64_t done = 0;
  uint64_t total = 0;    // 0: unknown
  double elapsed_s = 0;  // since the transfer started
  size_t width = 80;     // terminal columns
  bool color = false;
};

// One line of the board (no newline), at most `width` columns.
std::string RenderBarLine(const BarLine& line);

class ProgressBoard {
 public:
  using Clock = std::chrono::steady_clock;

  ProgressBoard(std::FILE* out, bool enabled, bool color, uint64_t total_bytes, size_t total_files);
  ~ProgressBoard();
  ProgressBoard(const ProgressBoard&) = delete;
  ProgressBoard& operator=(const ProgressBoard&) = delete;

  // A transfer's line, removed when the Slot goes away (its bytes then count
  // as done in the total).
  class Slot : public TransferObserver {
   public:
    Slot(ProgressBoard* board, int id) : board_(board), id_(id) {}
    ~Slot() override { board_->End(id_); }
    void OnProgress(uint64_t done, uint64_t total) override { board_->Update(id_, done, total); }

   private:
    ProgressBoard* board_;
    int id_;
  };

  std::unique_ptr<Slot> Begin(std::string label, uint64_t size);

  // A skipped file: counts towards the total at once.
  void Skip(uint64_t size);

  // Prints `text` above the board (a warning, a failed file) without tearing it.
  void Message(const std::string& text);

  // Draws the final total line and stops drawing.
  void Finish();

 private:
  struct Line {
    std::string label;
    uint64_t done = 0;
    uint64_t total = 0;
    Clock::time_point started;
  };

  void Update(int id, uint64_t done, uint64_t total);
  void End(int id);
  void Redraw(bool force);  // mu_ held
  void Erase();             // mu_ held

  std::FILE* out_;
  const bool enabled_;
  const bool color_;
  const uint64_t total_bytes_;
  const size_t total_files_;
  const Clock::time_point started_;

  std::mutex mu_;
  std::map<int, Line> lines_;      // guarded by mu_
  int next_id_ = 0;                // guarded by mu_
  uint64_t finished_bytes_ = 0;    // guarded by mu_
  size_t finished_files_ = 0;      // guarded by mu_
  size_t drawn_lines_ = 0;         // guarded by mu_
  Clock::time_point last_draw_{};  // guarded by mu_
  bool finished_ = false;          // guarded by mu_
  std::string last_label_;         // guarded by mu_; names a lone finished file
};

}  // namespace nexus::cli
