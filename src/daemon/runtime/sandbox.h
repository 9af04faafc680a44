// Sandbox: one throw-away lambda container that runs exactly one snippet.
//
// Start() writes a bundle (oci_spec.h) and starts the container attached
// (`runc run`) with a small Python supervisor as its init process
// (kSupervisorScript). The supervisor waits on stdin for a one-line order
// ("<runtime> <timeout_ms>"), then starts the user's program — a fresh
// Python interpreter that runs /sandbox/main.py as __main__, or
// `sh /sandbox/main.sh` — whose stdin is the rest of the stream, enforces
// the timeout by killing every process of the sandbox, and reports the
// program's real exit status and run time on fd 3, a control pipe separate
// from the program's output:
//
//   ready                  the supervisor is up and waiting for its order
//   exit <code> <ms>       the program exited
//   signal <n> <ms>        a signal killed it
//   timeout <ms>           it ran out of time and was killed (SIGKILL)
//
// Why a supervisor: as the namespace's pid 1 the user's program would ignore
// signals it has no handler for (its own SIGTERM, SIGINT) and its exit status
// would arrive through runc folded into 128+n; the supervisor keeps normal
// signal semantics and tells "killed by signal 9" from "exit(137)". The code
// travels as a read-only file rather than `python3 -c` (argv caps a single
// argument at 128 KiB) or ahead of the user's stdin (which must reach the
// program untouched); since the order comes on stdin, a sandbox can be
// started before its code is known (the warm pool). In a pool sandbox the
// supervisor also starts the Python interpreter ahead of the order; it waits
// on a pipe of its own, then reads main.py, so a warm run pays neither the
// container's nor the interpreter's start-up. The interpreter is a fresh
// process rather than a fork of the supervisor's: a forked one measured no
// faster here (copy-on-write faults cost as much as a new start).
//
// The supervisor runs as the same unprivileged uid as the user's code, so a
// hostile snippet could forge its own report; that only misreports its own
// run. What protects the host — namespaces, cgroup limits, seccomp, and the
// host-side deadline that kills the container — is outside its reach.
//
// A Sandbox is used by one thread at a time. Destroy() (also run by the
// destructor) removes the container, its cgroup and its bundle whatever
// happened before.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

// The supervisor (the sandbox's init), written to /sandbox/init.py.
extern const std::string_view kSupervisorScript;
// The interpreter that runs it, from the host's /usr.
inline constexpr const char* kSandboxPython = "/usr/bin/python3";

// The supervisor's report, parsed from the control pipe.
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
  // `runtime` and `cgroups` must outlive the sandbox.
  Sandbox(SandboxOptions options, OciRuntime& runtime, CgroupFs& cgroups);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& id() const { return options_.id; }
  int64_t memory_bytes() const { return options_.memory_bytes; }

  // Writes the bundle and starts the container; the supervisor then waits
  // for its order. Errors are infrastructure failures (kInternal).
  Status Start();
  // Waits until the supervisor says it is ready for its order (the
  // container is fully up): the warm pool keeps only ready sandboxes.
  Status WaitReady(int64_t timeout_ms);
  // Started, not yet used, and its container still runs.
  bool Alive();
  // Runs one snippet to completion; a sandbox serves exactly one run.
  Result<LambdaResult> RunCode(const SandboxRun& run);
  // Removes container, cgroup and bundle; idempotent. Returns the first
  // failure (the rest is still attempted).
  Status Destroy();

 private:
  Result<LambdaResult> Finish(const SandboxRun& run, const ProcessOutcome& outcome);

  SandboxOptions options_;
  OciRuntime& runtime_;
  CgroupFs& cgroups_;
  std::unique_ptr<Child> child_;  // `runc run`
  bool bundle_written_ = false;
  bool used_ = false;
  bool destroyed_ = false;
};

}  // namespace nexus::daemon::runtime
