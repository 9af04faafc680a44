// ProcessRunner: spawning a helper program (runc, the sandbox interpreter
// behind it) and talking to it over pipes — the one place nexusd's runtime
// touches fork/exec, pipes and wait.
//
// Spawn() starts a child in its own process group with an explicit argv and
// environment (no PATH search, no inherited descriptors beyond those asked
// for); the returned Child owns the process and its pipe ends. Communicate()
// then feeds stdin, collects stdout/stderr up to per-stream caps (the rest is
// read and dropped, so the child never blocks on a full pipe) and enforces a
// wall-clock timeout. The split lets a caller start a child early and talk to
// it later (the lambda warm pool does this).
//
// A Child is used by one thread at a time; destroying a Child that still runs
// kills it (SIGKILL) and reaps it, so every early return cleans up.
// PosixProcessRunner is thread-safe: children are spawned with posix_spawn and
// every pipe is close-on-exec, so concurrent spawns never leak descriptors
// into each other. Tests use FakeProcessRunner (tests/support).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus::daemon::runtime {

struct SpawnOptions {
  // argv[0] must be an absolute path: the environment of nexusd is not the
  // child's, so there is no PATH search.
  std::vector<std::string> argv;
  // The child's whole environment, "KEY=value" each.
  std::vector<std::string> env;
  // Empty: stdin, stdout and stderr are pipes served by Communicate().
  // Otherwise stdin is /dev/null and stdout+stderr are appended to this file;
  // for children whose descendants outlive them (`runc create`), which would
  // otherwise hold our pipes open forever.
  std::string output_file;
  // Gives the child a fourth descriptor, fd 3: the write end of a pipe whose
  // data Communicate() returns as `control`. A side channel that is not the
  // program's output (the lambda sandbox reports its user's exit status there).
  bool control_pipe = false;
  // More descriptors for the child, in order from the first after those above
  // (fd 4 with a control pipe, else 3). Each is one of the caller's, which it
  // keeps open until Spawn() returns, or a second way to the child's own
  // stdout or stderr pipe: a child that hands descriptors on (`runc run
  // --preserve-fds`) lets the programs it starts write to us directly
  // instead of through its relay.
  struct ExtraFd {
    enum class Kind { kCallers, kStdoutPipe, kStderrPipe };
    Kind kind = Kind::kCallers;
    int fd = -1;  // kCallers only
  };
  std::vector<ExtraFd> extra_fds;
};

struct CommunicateOptions {
  std::string stdin_data;         // written, then stdin is closed
  size_t stdout_limit = 1 << 20;  // bytes kept per stream; the rest is dropped
  size_t stderr_limit = 1 << 20;
  size_t control_limit = 64 << 10;
  int64_t timeout_ms = 0;  // wall clock from the call; 0 = none
  // Called once when the timeout passes and the child still runs. Empty:
  // SIGKILL the child. A caller whose child is only a front for something
  // else (runc run → the container) kills the real thing here.
  std::function<void()> on_timeout;
  // After on_timeout, how long the child may take to exit before it is
  // SIGKILLed directly.
  int64_t kill_grace_ms = 2000;
  // Called with the control data read so far; once it returns true,
  // Communicate() reads what stdout and stderr hold at that moment and returns
  // without waiting for the child to exit (exit_code stays -1): for a child
  // whose control report ends the work while it is still winding down. Call
  // WaitExit() (or destroy the Child) afterwards.
  std::function<bool(std::string_view control)> done;
};

struct ProcessOutcome {
  int exit_code = -1;   // >= 0 when the child exited
  int term_signal = 0;  // > 0 when a signal killed it
  bool timed_out = false;
  std::string stdout_data;
  std::string stderr_data;
  std::string control_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  int64_t elapsed_ms = 0;  // from the start of Communicate() to the child's exit (or `done`)

  // Shell convention: the exit code, or 128 + signal.
  int ShellExitCode() const { return term_signal > 0 ? 128 + term_signal : exit_code; }
};

class Child {
 public:
  virtual ~Child() = default;
  virtual int pid() const = 0;
  // Serves the child's pipes until it has exited and its output is drained,
  // then reaps it. Call at most once. Errors are OS failures of our side
  // (poll, read); what the child did is in the outcome.
  virtual Result<ProcessOutcome> Communicate(const CommunicateOptions& options) = 0;
  // After Communicate() returned early (CommunicateOptions::done): reads and
  // drops what the child still writes until it exits, then reaps it;
  // SIGKILLs it once `timeout_ms` has passed. False when it had to be killed;
  // true at once when it was already reaped.
  virtual bool WaitExit(int64_t timeout_ms) = 0;
  // True while the child has not exited; never blocks.
  virtual bool Running() = 0;
  // Reads the next line (without its newline) from the control pipe, waiting
  // up to `timeout_ms`: lets a caller wait for a child to say it is ready
  // before talking to it. What is read stays part of Communicate()'s
  // `control`. kDeadlineExceeded on timeout, kUnavailable when the pipe
  // closed first (or there is none).
  virtual Result<std::string> ReadControlLine(int64_t timeout_ms) = 0;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Fails (naming argv[0] and errno) when the program cannot be executed.
  virtual Result<std::unique_ptr<Child>> Spawn(const SpawnOptions& options) = 0;

  // Spawn() then Communicate(): the common case of a short-lived helper.
  Result<ProcessOutcome> Run(const SpawnOptions& spawn, const CommunicateOptions& io);
};

// The real implementation (posix_spawn, pipes, poll, pidfd).
std::unique_ptr<ProcessRunner> NewPosixProcessRunner();

// The environment variable PATH of this process split at ':' and searched for
// an executable `name`; "" when none. `name` containing '/' is returned as is
// when executable.
std::string FindExecutable(const std::string& name);

}  // namespace nexus::daemon::runtime
