// Sandbox: one throw-away lambda container that runs exactly one snippet.
//
// Start() writes a bundle (oci_spec.h) and starts the container attached
// (`runc run`) with nexus-lambda-init (lambda_init.cc), a small static
// program bind-mounted read-only at /sandbox/init, as its init process. It
// reads a one-line order ("<runtime> <timeout_ms>") from stdin, then starts
// the user's program — a Python interpreter that runs /sandbox/main.py as
// __main__, or `sh /sandbox/main.sh` — whose stdin is the rest of the
// stream, enforces the timeout by killing every process of the sandbox, and
// reports the program's real exit status and run time on fd 3, a control
// pipe separate from the program's output. runc hands the init three more
// descriptors: fds 4 and 5 are our own stdout and stderr pipes, which the init
// makes the program's 1 and 2, and fd 6 the sandbox's seccomp program, which
// the init installs first (seccomp_bpf.h: compiled once per runner rather than
// by runc at every start). Since the program writes to our pipes directly,
// its output is all there when its exit report arrives: RunCode() answers
// then, while runc is still winding down, and Destroy() waits for runc.
//
//   ready                  the init is up and waiting for its order
//   exit <code> <ms>       the program exited
//   signal <n> <ms>        a signal killed it
//   timeout <ms>           it ran out of time and was killed (SIGKILL)
//
// The code travels as a read-only file rather than `python3 -c` (argv caps a
// single argument at 128 KiB) or ahead of the user's stdin (which must reach
// the program untouched): /sandbox/main.py, 0400 and the sandbox user's from
// its first byte, in a 0700 directory of that user inside the 0700 bundle, so
// no other local user can read it. Since the order comes on stdin, a sandbox can be
// started before its code is known: a pool sandbox (SandboxOptions::pool)
// also has its interpreter started and waiting before it says "ready", so a
// warm run pays neither the container's nor the interpreter's start-up. A
// cold sandbox starts exactly one interpreter, the program's.
//
// A Sandbox is used by one thread at a time. Destroy() (also run by the
// destructor) removes the container, its cgroup and its bundle whatever
// happened before.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/result.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/oci_spec.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

// What a run produced; the fields of nexus.daemon.v1.RunLambdaResponse.
struct LambdaResult {
  std::string stdout_data;
  std::string stderr_data;
  int exit_code = 0;              // shell convention: 128 + signal when killed
  int64_t execution_time_ms = 0;  // from the program's start to its end
  std::string signal;             // "SIGKILL"; empty when not killed by a signal
  bool timed_out = false;
  bool oom_killed = false;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};

// Runtimes a snippet may ask for, and the file its code is written to.
struct LambdaRuntimeInfo {
  std::string_view name;
  std::string_view file;  // under /sandbox
};
inline constexpr LambdaRuntimeInfo kLambdaRuntimes[] = {
    {"python3", "main.py"},
    {"sh", "main.sh"},
};
const LambdaRuntimeInfo* FindLambdaRuntime(std::string_view name);

// "SIGKILL" for 9; "" for 0; "SIG<n>" for numbers libc has no name for.
std::string SignalName(int signal);

// The sandbox's init: nexus-lambda-init on the host (installed next to
// nexusd), bind-mounted read-only at kSandboxInit.
inline constexpr const char* kLambdaInitName = "nexus-lambda-init";
inline constexpr const char* kSandboxInit = "/sandbox/init";
// The interpreter of the python3 runtime, from the host's /usr.
inline constexpr const char* kSandboxPython = "/usr/bin/python3";

// The init's report, parsed from the control pipe: the last well-formed end
// line wins. A line whose values are out of range (exit code outside 0..255,
// signal outside 1..64, negative ms) is malformed and ignored.
struct SupervisorReport {
  enum class End { kNone, kExit, kSignal, kTimeout };
  bool ready = false;
  End end = End::kNone;
  int value = 0;  // exit code or signal number
  int64_t ms = 0;
};
SupervisorReport ParseSupervisorReport(std::string_view control);

struct SandboxOptions {
  std::string id;            // the container id
  std::string bundle_dir;    // absolute; must not exist yet
  std::string cgroups_path;  // absolute cgroup path, unique
  int64_t memory_bytes = 128 << 20;
  HostLayout host;
  std::string init_path;  // absolute host path of nexus-lambda-init
  // A shared generated /etc (WriteEtcDir) to mount; empty: one in the bundle.
  std::string etc_dir;
  // Read-only descriptor of the compiled seccomp program (SeccompProgramFd);
  // the runner owns it and keeps it open while any sandbox starts.
  int seccomp_fd = -1;
  // Started ahead of its run (the warm pool): the init starts the Python
  // interpreter at once and says "ready" only when it waits for code.
  bool pool = false;
};

struct SandboxRun {
  std::string runtime;  // a kLambdaRuntimes name
  std::string code;
  std::string stdin_data;
  int64_t timeout_ms = 10000;
  size_t output_limit = 1 << 20;  // per stream
};

class Sandbox {
 public:
  // `runtime`, `cgroups` and `files` (where the bundle is written) must
  // outlive the sandbox.
  Sandbox(SandboxOptions options, OciRuntime& runtime, CgroupFs& cgroups, Env& files);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& id() const { return options_.id; }
  int64_t memory_bytes() const { return options_.memory_bytes; }

  // Writes the bundle and starts the container; the init then waits for its
  // order. Errors are infrastructure failures (kInternal).
  Status Start();
  // Waits until the init says it is ready for its order (the container is
  // fully up, and for a pool sandbox its interpreter too): the warm pool
  // keeps only ready sandboxes.
  Status WaitReady(int64_t timeout_ms);
  // Started, not yet used, and its container still runs.
  bool Alive();
  // Runs one snippet to completion; a sandbox serves exactly one run.
  Result<LambdaResult> RunCode(const SandboxRun& run);
  // Removes container, cgroup and bundle; idempotent. Returns the first
  // failure (the rest is still attempted).
  Status Destroy();

 private:
  // The bundle, the sandbox user's directory for the code and the init's
  // mount point.
  Status WriteSandboxBundle(const SandboxSpec& spec);
  Result<LambdaResult> Finish(const SandboxRun& run, const ProcessOutcome& outcome);

  SandboxOptions options_;
  OciRuntime& runtime_;
  CgroupFs& cgroups_;
  Env& files_;
  std::unique_ptr<Child> child_;  // `runc run`
  bool bundle_written_ = false;
  bool used_ = false;
  bool destroyed_ = false;
};

}  // namespace nexus::daemon::runtime
