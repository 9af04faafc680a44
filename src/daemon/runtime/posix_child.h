// PosixChild: a process started by the POSIX process runner (process.cc),
// seen through the Child interface. It owns the pid (a child still running
// when this goes away is killed and reaped, so none is left as a zombie), a
// pidfd when the kernel has pidfd_open, and the parent's ends of the child's
// pipes. One poll() loop waits for output, stdin space, exit and the deadline
// at once. Not thread-safe: one owner drives it.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "common/fd.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

class PosixChild final : public Child {
 public:
  PosixChild(pid_t pid, Fd pidfd, Fd stdin_w, Fd stdout_r, Fd stderr_r, Fd control_r)
      : pid_(pid),
        pidfd_(std::move(pidfd)),
        stdin_w_(std::move(stdin_w)),
        stdout_r_(std::move(stdout_r)),
        stderr_r_(std::move(stderr_r)),
        control_r_(std::move(control_r)) {}

  ~PosixChild() override;

  int pid() const override { return pid_; }

  bool Running() override;

  Result<ProcessOutcome> Communicate(const CommunicateOptions& options) override;
  Result<std::string> ReadControlLine(int64_t timeout_ms) override;
  bool WaitExit(int64_t timeout_ms) override;

 private:
  // 1 when reaped now, 0 when still running, -1 on error.
  int TryReap() {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == 0) return 0;
    if (r < 0) return -1;
    Record(status);
    return 1;
  }
  void Reap() {
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) Record(status);
    reaped_ = true;
  }
  void Record(int status) {
    exited_ = true;
    reaped_ = true;
    if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
  }

  pid_t pid_;
  Fd pidfd_;
  Fd stdin_w_;
  Fd stdout_r_;
  Fd stderr_r_;
  Fd control_r_;
  std::string control_seen_;     // read by ReadControlLine, reported by Communicate
  size_t control_consumed_ = 0;  // prefix of control_seen_ already returned as lines
  bool exited_ = false;
  bool reaped_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
};

}  // namespace nexus::daemon::runtime
