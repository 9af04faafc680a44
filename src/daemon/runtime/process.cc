#include "daemon/runtime/process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>

namespace nexus::daemon::runtime {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t MillisBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// Pipe ends live above the descriptors a child is given (0-3): were one of
// them, say, fd 0 (a daemon started with stdin closed), an earlier dup2 in the
// spawn actions would overwrite it before it is used.
constexpr int kLowestPipeFd = 10;

Result<Fd> RaiseFd(Fd fd) {
  if (fd.get() >= kLowestPipeFd) return fd;
  int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, kLowestPipeFd);
  if (high < 0) return ErrnoError(StatusCode::kInternal, "fcntl F_DUPFD_CLOEXEC", errno);
  return Fd(high);
}

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(StatusCode::kInternal, "pipe2", errno);
  Fd r(fds[0]), w(fds[1]);
  Pipe p;
  NEXUS_ASSIGN_OR_RETURN(p.read, RaiseFd(std::move(r)));
  NEXUS_ASSIGN_OR_RETURN(p.write, RaiseFd(std::move(w)));
  return p;
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// A pidfd turns "the child exited" into a readable descriptor, so one poll()
// waits for output, stdin space, exit and the deadline at once. Kernels
// without pidfd_open (< 5.3) fall back to short poll slices and WNOHANG.
int OpenPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  errno = ENOSYS;
  return -1;
#endif
}

// The posix_spawn plumbing; frees its attribute objects on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions_);
    ::posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t* actions() { return &actions_; }
  posix_spawnattr_t* attr() { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

class PosixChild final : public Child {
 public:
  PosixChild(pid_t pid, Fd pidfd, Fd stdin_w, Fd stdout_r, Fd stderr_r, Fd control_r)
      : pid_(pid),
        pidfd_(std::move(pidfd)),
        stdin_w_(std::move(stdin_w)),
        stdout_r_(std::move(stdout_r)),
        stderr_r_(std::move(stderr_r)),
        control_r_(std::move(control_r)) {}

  ~PosixChild() override {
    if (reaped_) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  int pid() const override { return pid_; }

  bool Running() override {
    if (reaped_ || exited_) return false;
    if (pidfd_.valid()) {
      pollfd p{pidfd_.get(), POLLIN, 0};
      return ::poll(&p, 1, 0) == 0;
    }
    return TryReap() == 0;
  }

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

class PosixProcessRunner final : public ProcessRunner {
 public:
  Result<std::unique_ptr<Child>> Spawn(const SpawnOptions& options) override;
};

Result<std::unique_ptr<Child>> PosixProcessRunner::Spawn(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty() || options.argv[0][0] != '/') {
    return InvalidArgumentError("spawn: argv[0] must be an absolute path");
  }
  const std::string& program = options.argv[0];
  SpawnSetup setup;
  Pipe in, out, err, ctl;
  const bool pipes = options.output_file.empty();
  if (pipes) {
    NEXUS_ASSIGN_OR_RETURN(in, MakePipe());
    NEXUS_ASSIGN_OR_RETURN(out, MakePipe());
    NEXUS_ASSIGN_OR_RETURN(err, MakePipe());
    ::posix_spawn_file_actions_adddup2(setup.actions(), in.read.get(), 0);
    ::posix_spawn_file_actions_adddup2(setup.actions(), out.write.get(), 1);
    ::posix_spawn_file_actions_adddup2(setup.actions(), err.write.get(), 2);
  } else {
    ::posix_spawn_file_actions_addopen(setup.actions(), 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(setup.actions(), 1, options.output_file.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0640);
    ::posix_spawn_file_actions_adddup2(setup.actions(), 1, 2);
  }
  int next_fd = 3;
  if (options.control_pipe) {
    NEXUS_ASSIGN_OR_RETURN(ctl, MakePipe());
    ::posix_spawn_file_actions_adddup2(setup.actions(), ctl.write.get(), next_fd++);
  }
  // A caller's descriptor below kLowestPipeFd could be one an earlier dup2
  // of these actions overwrites; such ones are passed through a high copy.
  std::vector<Fd> raised;
  for (const SpawnOptions::ExtraFd& extra : options.extra_fds) {
    int source = -1;
    switch (extra.kind) {
      case SpawnOptions::ExtraFd::Kind::kStdoutPipe:
        source = out.write.get();
        break;
      case SpawnOptions::ExtraFd::Kind::kStderrPipe:
        source = err.write.get();
        break;
      case SpawnOptions::ExtraFd::Kind::kCallers:
        source = extra.fd;
        if (source >= 0 && source < kLowestPipeFd) {
          int high = ::fcntl(source, F_DUPFD_CLOEXEC, kLowestPipeFd);
          if (high < 0) return ErrnoError(StatusCode::kInternal, "fcntl F_DUPFD_CLOEXEC", errno);
          raised.emplace_back(high);
          source = high;
        }
        break;
    }
    if (source < 0) {
      return InvalidArgumentError("spawn '" + program +
                                  "': an extra descriptor needs pipes or a caller's fd");
    }
    ::posix_spawn_file_actions_adddup2(setup.actions(), source, next_fd++);
  }
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
  // Our own descriptors are close-on-exec; this also drops any a library or
  // our parent left inheritable, so the child sees exactly 0-2 and those above.
  ::posix_spawn_file_actions_addclosefrom_np(setup.actions(), next_fd);
#endif

  // Its own process group, so a Ctrl-C meant for nexusd does not reach runc
  // (which would forward it into the sandbox): nexusd decides teardown. An
  // empty signal mask and default dispositions, whatever this thread has.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  ::posix_spawnattr_setsigmask(setup.attr(), &none);
  ::posix_spawnattr_setsigdefault(setup.attr(), &all);
  ::posix_spawnattr_setpgroup(setup.attr(), 0);
  ::posix_spawnattr_setflags(
      setup.attr(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc =
      ::posix_spawn(&pid, program.c_str(), setup.actions(), setup.attr(), argv.data(), envp.data());
  if (rc != 0) return ErrnoError(StatusCode::kInternal, "spawn '" + program + "'", rc);

  Fd pidfd(OpenPidFd(pid));
  return std::unique_ptr<Child>(
      std::make_unique<PosixChild>(pid, std::move(pidfd), std::move(in.write), std::move(out.read),
                                   std::move(err.read), std::move(ctl.read)));
}

}  // namespace

Result<ProcessOutcome> ProcessRunner::Run(const SpawnOptions& spawn, const CommunicateOptions& io) {
  NEXUS_ASSIGN_OR_RETURN(auto child, Spawn(spawn));
  return child->Communicate(io);
}

std::unique_ptr<ProcessRunner> NewPosixProcessRunner() {
  return std::make_unique<PosixProcessRunner>();
}

std::string FindExecutable(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? name : "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path
                              : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

}  // namespace nexus::daemon::runtime
