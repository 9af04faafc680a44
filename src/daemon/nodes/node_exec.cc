// NodeManager::Exec: a command in a running node (`runc exec`), with a
// timeout and capped output.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "daemon/nodes/node_files.h"
#include "daemon/nodes/node_manager.h"

namespace nexus::daemon::runtime {
namespace {

// runc's own failure to start the command (not the command's exit status):
// it exits 255 and logs `level=error msg="exec failed: ..."`.
void TranslateRuncExecFailure(ExecNodeResult& r) {
  if (r.exit_code != 255 || r.stderr_data.find("level=error") == std::string::npos) return;
  std::string msg = RuncErrorMessage(r.stderr_data);
  bool not_found = msg.find("not found") != std::string::npos ||
                   msg.find("no such file or directory") != std::string::npos;
  r.exit_code = not_found ? 127 : 126;  // the shell's "command not found" / "cannot execute"
  r.stderr_data = msg + "\n";
}

}  // namespace

Result<ExecNodeResult> NodeManager::Exec(const ExecNodeRequest& request) {
  if (request.command.empty() || request.command[0].empty()) {
    return InvalidArgumentError("command must not be empty");
  }
  int64_t timeout = request.timeout_ms == 0 ? options_.exec_timeout_ms_default : request.timeout_ms;
  if (timeout < 0 || timeout > options_.exec_timeout_ms_max) {
    return InvalidArgumentError("timeout_ms must be between 1 and " +
                                std::to_string(options_.exec_timeout_ms_max));
  }
  NEXUS_RETURN_IF_ERROR(availability_);
  std::string container;
  std::string pid_file;
  {
    NEXUS_ASSIGN_OR_RETURN(Locked locked, Lock(request.owner, request.id));
    const NodeRecord& r = locked.record;
    if (r.state != kNodeRunning || !ContainerRunning(r.uid)) {
      return InvalidArgumentError("node '" + request.id + "' is not running");
    }
    container = ContainerId(r.uid);
    pid_file = NodeDir(r.uid) + "/exec-" + NewUid() + ".pid";
  }
  const std::string what = "exec in node '" + request.id + "'";
  auto child = runtime_.Exec(container, ExecOptions{request.command, pid_file});
  if (!child.ok()) return child.status().WithContext(what);
  CommunicateOptions io;
  io.timeout_ms = timeout;
  io.stdout_limit = static_cast<size_t>(options_.exec_output_limit_bytes);
  io.stderr_limit = static_cast<size_t>(options_.exec_output_limit_bytes);
  // Killing `runc exec` would leave the command running in the node: kill
  // the command itself, whose host pid runc wrote down. On a loaded host runc
  // may write it only after the timeout fired: then kill it once runc, killed
  // in turn, has returned (never twice: the pid could be another's by then).
  bool killed = false;
  auto kill_command = [this, &pid_file, &killed] {
    std::string text = ReadFileOrEmpty(files_, pid_file);
    long pid = std::strtol(text.c_str(), nullptr, 10);
    if (pid > 1 && !killed) {
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      killed = true;
    }
  };
  io.on_timeout = kill_command;
  auto outcome = (*child)->Communicate(io);
  if (outcome.ok() && outcome->timed_out) kill_command();
  (void)files_.Remove(pid_file);
  if (!outcome.ok()) return outcome.status().WithContext(what);
  ExecNodeResult result;
  result.stdout_data = std::move(outcome->stdout_data);
  result.stderr_data = std::move(outcome->stderr_data);
  result.exit_code = outcome->ShellExitCode();
  result.stdout_truncated = outcome->stdout_truncated;
  result.stderr_truncated = outcome->stderr_truncated;
  result.timed_out = outcome->timed_out;
  if (result.timed_out) {
    result.exit_code = 128 + SIGKILL;
  } else {
    TranslateRuncExecFailure(result);
  }
  return result;
}

}  // namespace nexus::daemon::runtime
