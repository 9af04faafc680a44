#include "daemon/runtime/posix_child.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace nexus::daemon::runtime {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t MillisBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Reads what is available on `fd` into `out` up to `limit`; the excess is
// dropped and flagged. Returns false at EOF or on a read error.
bool Drain(int fd, std::string& out, size_t limit, bool* truncated) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      size_t room = out.size() < limit ? limit - out.size() : 0;
      size_t keep = std::min(room, static_cast<size_t>(n));
      out.append(buf, keep);
      if (keep < static_cast<size_t>(n) && truncated) *truncated = true;
      if (static_cast<size_t>(n) < sizeof buf) return true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// Writing to a pipe whose reader is gone raises SIGPIPE, which would kill
// nexusd. Block it on this thread while we write and swallow a pending one,
// instead of changing the process-wide disposition behind everyone's back.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_);
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

// After the child exits, a descendant may still hold our pipes open; read what
// comes for this long, then give up on them.
constexpr int64_t kDrainAfterExitMs = 500;
// Poll slice when there is no pidfd to wake us on exit.
constexpr int kNoPidFdSliceMs = 10;

}  // namespace

PosixChild::~PosixChild() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

bool PosixChild::Running() {
  if (reaped_ || exited_) return false;
  if (pidfd_.valid()) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
  return TryReap() == 0;
}

Result<std::string> PosixChild::ReadControlLine(int64_t timeout_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    size_t nl = control_seen_.find('\n', control_consumed_);
    if (nl != std::string::npos) {
      std::string line = control_seen_.substr(control_consumed_, nl - control_consumed_);
      control_consumed_ = nl + 1;
      return line;
    }
    if (!control_r_.valid())
      return UnavailableError("control pipe of child " + std::to_string(pid_) + " is closed");
    int64_t left = MillisBetween(SteadyClock::now(), deadline);
    if (left <= 0) {
      return Status(StatusCode::kDeadlineExceeded, "no line from child " + std::to_string(pid_) +
                                                       " within " + std::to_string(timeout_ms) +
                                                       " ms");
    }
    pollfd p{control_r_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno != EINTR)
      return ErrnoError(StatusCode::kInternal, "poll control pipe", errno);
    if (r > 0) {
      SetNonBlocking(control_r_.get());
      if (!Drain(control_r_.get(), control_seen_, 64 << 10, nullptr)) control_r_.reset();
    }
  }
}

Result<ProcessOutcome> PosixChild::Communicate(const CommunicateOptions& options) {
  ProcessOutcome out;
  out.control_data = control_seen_;
  const auto start = SteadyClock::now();
  const bool has_deadline = options.timeout_ms > 0;
  auto deadline = start + std::chrono::milliseconds(options.timeout_ms);
  SteadyClock::time_point kill_deadline{};
  bool hard_killed = false;
  SteadyClock::time_point exited_at{};

  ScopedSigpipeBlock sigpipe_guard;
  std::string_view pending_stdin = options.stdin_data;
  if (stdin_w_.valid()) {
    SetNonBlocking(stdin_w_.get());
    if (pending_stdin.empty()) stdin_w_.reset();
  }
  for (Fd* fd : {&stdout_r_, &stderr_r_, &control_r_}) {
    if (fd->valid()) SetNonBlocking(fd->get());
  }

  for (;;) {
    auto now = SteadyClock::now();
    if (!exited_) {
      if (has_deadline && !out.timed_out && now >= deadline) {
        out.timed_out = true;
        if (options.on_timeout) {
          options.on_timeout();
        } else {
          ::kill(pid_, SIGKILL);
          hard_killed = true;
        }
        kill_deadline = now + std::chrono::milliseconds(options.kill_grace_ms);
      } else if (out.timed_out && !hard_killed && now >= kill_deadline) {
        ::kill(pid_, SIGKILL);
        hard_killed = true;
      }
    }
    bool outputs_open = stdout_r_.valid() || stderr_r_.valid() || control_r_.valid();
    if (exited_ &&
        (!outputs_open || now >= exited_at + std::chrono::milliseconds(kDrainAfterExitMs))) {
      break;
    }

    pollfd fds[5];
    int n = 0;
    int idx_stdin = -1, idx_out = -1, idx_err = -1, idx_ctl = -1, idx_pid = -1;
    if (stdin_w_.valid()) {
      idx_stdin = n;
      fds[n++] = {stdin_w_.get(), POLLOUT, 0};
    }
    if (stdout_r_.valid()) {
      idx_out = n;
      fds[n++] = {stdout_r_.get(), POLLIN, 0};
    }
    if (stderr_r_.valid()) {
      idx_err = n;
      fds[n++] = {stderr_r_.get(), POLLIN, 0};
    }
    if (control_r_.valid()) {
      idx_ctl = n;
      fds[n++] = {control_r_.get(), POLLIN, 0};
    }
    if (!exited_ && pidfd_.valid()) {
      idx_pid = n;
      fds[n++] = {pidfd_.get(), POLLIN, 0};
    }

    int64_t wait_ms = -1;
    auto consider = [&](SteadyClock::time_point t) {
      int64_t ms = std::max<int64_t>(0, MillisBetween(now, t) + 1);
      wait_ms = wait_ms < 0 ? ms : std::min(wait_ms, ms);
    };
    if (!exited_) {
      if (has_deadline && !out.timed_out) consider(deadline);
      if (out.timed_out && !hard_killed) consider(kill_deadline);
      if (!pidfd_.valid()) consider(now + std::chrono::milliseconds(kNoPidFdSliceMs));
    } else {
      consider(exited_at + std::chrono::milliseconds(kDrainAfterExitMs));
    }

    int r = ::poll(fds, n, static_cast<int>(wait_ms));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(StatusCode::kInternal, "poll child " + std::to_string(pid_), errno);
    }

    if (idx_stdin >= 0 && fds[idx_stdin].revents) {
      if (fds[idx_stdin].revents & (POLLERR | POLLHUP)) {
        stdin_w_.reset();  // the child closed its stdin; the rest is dropped
      } else {
        ssize_t w = ::write(stdin_w_.get(), pending_stdin.data(),
                            std::min<size_t>(pending_stdin.size(), 64 * 1024));
        if (w > 0) {
          pending_stdin.remove_prefix(static_cast<size_t>(w));
          if (pending_stdin.empty()) stdin_w_.reset();
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          stdin_w_.reset();  // EPIPE: nobody reads stdin any more
        }
      }
    }
    struct Stream {
      int idx;
      Fd* fd;
      std::string* data;
      size_t limit;
      bool* truncated;
    };
    Stream streams[] = {
        {idx_out, &stdout_r_, &out.stdout_data, options.stdout_limit, &out.stdout_truncated},
        {idx_err, &stderr_r_, &out.stderr_data, options.stderr_limit, &out.stderr_truncated},
        {idx_ctl, &control_r_, &out.control_data, options.control_limit, nullptr},
    };
    for (auto& s : streams) {
      if (s.idx < 0 || !fds[s.idx].revents) continue;
      if (!Drain(s.fd->get(), *s.data, s.limit, s.truncated)) s.fd->reset();
    }
    if (!exited_ && options.done && idx_ctl >= 0 && fds[idx_ctl].revents &&
        options.done(out.control_data)) {
      // What the child wrote before its report is in the pipes now; the
      // pipes stay open for WaitExit(), so a late writer does not get EPIPE.
      for (int i = 0; i < 2; ++i) {
        Stream& s = streams[i];
        if (s.fd->valid() && !Drain(s.fd->get(), *s.data, s.limit, s.truncated)) s.fd->reset();
      }
      stdin_w_.reset();
      out.elapsed_ms = MillisBetween(start, SteadyClock::now());
      return out;
    }
    bool check_exit = idx_pid >= 0 ? fds[idx_pid].revents != 0 : (!exited_ && !pidfd_.valid());
    if (check_exit && TryReap() == 1) {
      exited_at = SteadyClock::now();
      out.elapsed_ms = MillisBetween(start, exited_at);
    }
  }
  stdout_r_.reset();
  stderr_r_.reset();
  control_r_.reset();
  stdin_w_.reset();
  if (!reaped_) Reap();
  out.exit_code = exit_code_;
  out.term_signal = term_signal_;
  return out;
}

bool PosixChild::WaitExit(int64_t timeout_ms) {
  stdin_w_.reset();
  bool killed = false;
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  std::string dropped;
  while (!reaped_ && !exited_) {
    int64_t left = MillisBetween(SteadyClock::now(), deadline);
    if (left <= 0) {
      ::kill(pid_, SIGKILL);
      killed = true;
      break;
    }
    pollfd fds[4];
    int n = 0;
    for (Fd* fd : {&stdout_r_, &stderr_r_, &control_r_}) {
      if (fd->valid()) fds[n++] = {fd->get(), POLLIN, 0};
    }
    if (pidfd_.valid()) fds[n++] = {pidfd_.get(), POLLIN, 0};
    int wait_ms =
        static_cast<int>(pidfd_.valid() ? left : std::min<int64_t>(left, kNoPidFdSliceMs));
    if (::poll(fds, n, wait_ms) < 0 && errno != EINTR) break;
    for (Fd* fd : {&stdout_r_, &stderr_r_, &control_r_}) {
      if (!fd->valid()) continue;
      SetNonBlocking(fd->get());
      dropped.clear();
      if (!Drain(fd->get(), dropped, 0, nullptr)) fd->reset();
    }
    TryReap();
  }
  stdout_r_.reset();
  stderr_r_.reset();
  control_r_.reset();
  if (!reaped_) Reap();
  return !killed;
}

}  // namespace nexus::daemon::runtime
