// OciRuntime: the container engine nexusd drives — create, start, run,
// inspect, signal and delete OCI containers from bundles (oci_spec.h).
//
// RuncRuntime implements it by running the `runc` binary through a
// ProcessRunner, always with `--root <dir>` so that each Nexus instance (and
// each test) has its own container namespace and never sees another's
// containers. Container ids are chosen by callers and must be unique in that
// root. The runtime holds no per-container state of its own (runc's root is
// the state), so it is thread-safe as long as callers do not race on the same
// id. Tests use FakeOciRuntime (tests/support).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

enum class ContainerStatus { kCreating, kCreated, kRunning, kPaused, kStopped, kUnknown };

std::string_view ContainerStatusName(ContainerStatus status);
ContainerStatus ContainerStatusFromName(std::string_view name);

struct ContainerState {
  std::string id;
  ContainerStatus status = ContainerStatus::kUnknown;
  int pid = 0;  // the container's init process on the host; 0 when stopped
  std::string bundle;
};

// A process to start in a running container (`runc exec`). It inherits the
// container's user, capabilities, environment and working directory.
struct ExecOptions {
  std::vector<std::string> args;  // args[0] is looked up on the container's PATH
  // Where the runtime writes the host pid of the started process, so a caller
  // can kill it (killing `runc exec` itself would leave it running).
  std::string pid_file;
};

// How Run() connects the container's process to the returned Child.
struct RunIo {
  // The Child's control pipe is the process's fd 3.
  bool control_pipe = false;
  // Further descriptors of the process, in order from fd 4 (3 without a
  // control pipe), handed through the runtime (runc --preserve-fds).
  std::vector<SpawnOptions::ExtraFd> extra_fds;
};

class OciRuntime {
 public:
  virtual ~OciRuntime() = default;

  // Sets the container up from `bundle` and leaves its process waiting for
  // Start(). Its stdio, and the runtime's own messages, are appended to
  // `output_file` (a detached container outlives any pipe of ours).
  virtual Status Create(const std::string& id, const std::string& bundle,
                        const std::string& output_file) = 0;
  virtual Status Start(const std::string& id) = 0;

  // Creates and starts the container attached: the returned Child's stdin,
  // stdout and stderr reach the container's process, its exit status is the
  // process's (128+n when signal n killed it), and `io` adds descriptors
  // (RunIo). The container is kept (stopped) after its process exits, so its
  // cgroup can still be read; the caller Delete()s or Destroy()s it.
  virtual Result<std::unique_ptr<Child>> Run(const std::string& id, const std::string& bundle,
                                             const RunIo& io) = 0;

  // kNotFound when there is no such container.
  virtual Result<ContainerState> State(const std::string& id) = 0;
  // Signals the container's init process, or with `all` every process in it.
  virtual Status Kill(const std::string& id, int signal, bool all) = 0;
  // Deletes a stopped (or created) container and its cgroup.
  virtual Status Delete(const std::string& id) = 0;
  virtual Result<std::vector<ContainerState>> List() = 0;
  // Removes a container in any state: SIGKILL, wait until it has stopped,
  // delete. A container that does not exist is success.
  virtual Status Destroy(const std::string& id) = 0;

  // Starts a process in the running container `id`, attached: the returned
  // Child's stdin, stdout and stderr are the process's and its exit status is
  // the process's (128+n when signal n killed it). Runtimes that cannot do
  // this answer kUnimplemented.
  virtual Result<std::unique_ptr<Child>> Exec(const std::string& id, const ExecOptions& options) {
    (void)options;
    return UnimplementedError("exec in container '" + id + "': not supported by this runtime");
  }
};

struct RuncOptions {
  std::string runc_path;               // absolute
  std::string root;                    // runc --root: this instance's container state
  int64_t command_timeout_ms = 10000;  // for every runc command but `run`
  // How Destroy() waits between state polls; injectable so tests need not sleep.
  std::function<void(int64_t ms)> sleep_ms;
};

class RuncRuntime final : public OciRuntime {
 public:
  // `processes` must outlive the runtime.
  RuncRuntime(RuncOptions options, ProcessRunner& processes);

  Status Create(const std::string& id, const std::string& bundle,
                const std::string& output_file) override;
  Status Start(const std::string& id) override;
  Result<std::unique_ptr<Child>> Run(const std::string& id, const std::string& bundle,
                                     const RunIo& io) override;
  Result<ContainerState> State(const std::string& id) override;
  Status Kill(const std::string& id, int signal, bool all) override;
  Status Delete(const std::string& id) override;
  Result<std::vector<ContainerState>> List() override;
  Status Destroy(const std::string& id) override;
  Result<std::unique_ptr<Child>> Exec(const std::string& id, const ExecOptions& options) override;

 private:
  SpawnOptions Command(std::vector<std::string> args) const;
  // Runs a short runc command; a non-zero exit becomes an error carrying
  // runc's message (kNotFound for "does not exist").
  Result<ProcessOutcome> Invoke(const std::string& what, std::vector<std::string> args);

  RuncOptions options_;
  ProcessRunner& processes_;
};

// The message of runc's stderr: the `msg="..."` of its last logrus line, or
// the last non-empty line.
std::string RuncErrorMessage(const std::string& stderr_text);

}  // namespace nexus::daemon::runtime
