// FakeProcessRunner / FakeChild: scripted stand-ins for the POSIX process
// runner (daemon/runtime/process.h), so code that drives helper programs is
// tested without spawning anything.
//
// A FakeProcessScript says what the child "does": the outcome Communicate()
// returns (output longer than the caller's limits is cut and flagged, as the
// real runner does), or that it runs until killed, in which case Communicate()
// fires the caller's timeout callback at once — time is simulated, nothing
// sleeps. Every spawn and every Communicate() call is recorded.
// Thread-safe: the records are guarded by a mutex.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "daemon/runtime/process.h"

namespace nexus::testing {

using daemon::runtime::Child;
using daemon::runtime::CommunicateOptions;
using daemon::runtime::ProcessOutcome;
using daemon::runtime::ProcessRunner;
using daemon::runtime::SpawnOptions;

struct FakeProcessScript {
  // What Communicate() returns (after a kill, when runs_until_killed).
  ProcessOutcome outcome;
  // The child never exits by itself: Communicate() reports timed_out after
  // calling options.on_timeout (and elapsed_ms = the timeout).
  bool runs_until_killed = false;
  // Called at the start of Communicate(), e.g. to look at stdin or files.
  std::function<void(const CommunicateOptions&)> on_communicate;
  // With runs_until_killed: called right after the caller's timeout callback
  // (e.g. to write a pid file the callback found missing).
  std::function<void()> after_timeout;
  // Non-ok: Spawn() fails with it.
  Status spawn_error;
};

// Shared record of what the fakes saw.
struct FakeProcessLog {
  std::mutex mu;
  std::vector<SpawnOptions> spawned;
  std::vector<CommunicateOptions> communicated;
  std::atomic<int> wait_exits{0};  // WaitExit() calls
};

class FakeChild final : public Child {
 public:
  FakeChild(FakeProcessScript script, std::shared_ptr<FakeProcessLog> log, int pid)
      : script_(std::move(script)), log_(std::move(log)), pid_(pid) {}

  int pid() const override { return pid_; }
  bool Running() override { return running_; }

  // The lines of the script's control data, one per call; past the last one
  // the child "stays silent" (kDeadlineExceeded, at once).
  Result<std::string> ReadControlLine(int64_t timeout_ms) override {
    const std::string& c = script_.outcome.control_data;
    size_t nl = c.find('\n', control_pos_);
    if (nl == std::string::npos) {
      return Status(StatusCode::kDeadlineExceeded, "fake child: no more control lines");
    }
    std::string line = c.substr(control_pos_, nl - control_pos_);
    control_pos_ = nl + 1;
    return line;
  }

  Result<ProcessOutcome> Communicate(const CommunicateOptions& options) override {
    {
      std::lock_guard<std::mutex> lock(log_->mu);
      log_->communicated.push_back(options);
    }
    if (script_.on_communicate) script_.on_communicate(options);
    ProcessOutcome out = script_.outcome;
    if (script_.runs_until_killed) {
      if (options.timeout_ms <= 0) {
        return InternalError("fake child runs until killed but Communicate has no timeout");
      }
      if (options.on_timeout) options.on_timeout();
      if (script_.after_timeout) script_.after_timeout();
      out.timed_out = true;
      out.elapsed_ms = options.timeout_ms;
    }
    Cap(out.stdout_data, options.stdout_limit, out.stdout_truncated);
    Cap(out.stderr_data, options.stderr_limit, out.stderr_truncated);
    running_ = false;
    return out;
  }

  bool WaitExit(int64_t) override {
    running_ = false;
    ++log_->wait_exits;
    return true;
  }

 private:
  static void Cap(std::string& data, size_t limit, bool& truncated) {
    if (data.size() > limit) {
      data.resize(limit);
      truncated = true;
    }
  }

  FakeProcessScript script_;
  std::shared_ptr<FakeProcessLog> log_;
  int pid_;
  bool running_ = true;
  size_t control_pos_ = 0;
};

class FakeProcessRunner final : public ProcessRunner {
 public:
  // Decides each child's script from its spawn options; default: exit 0.
  std::function<FakeProcessScript(const SpawnOptions&)> script = [](const SpawnOptions&) {
    FakeProcessScript s;
    s.outcome.exit_code = 0;
    return s;
  };
  std::shared_ptr<FakeProcessLog> log = std::make_shared<FakeProcessLog>();

  Result<std::unique_ptr<Child>> Spawn(const SpawnOptions& options) override {
    FakeProcessScript s = script(options);
    {
      std::lock_guard<std::mutex> lock(log->mu);
      log->spawned.push_back(options);
    }
    if (!s.spawn_error.ok()) return s.spawn_error;
    return std::unique_ptr<Child>(std::make_unique<FakeChild>(std::move(s), log, next_pid_++));
  }

  std::vector<SpawnOptions> Spawned() {
    std::lock_guard<std::mutex> lock(log->mu);
    return log->spawned;
  }

 private:
  std::atomic<int> next_pid_{1000};
};

}  // namespace nexus::testing
