#include "daemon/runtime/oci_runtime.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <utility>

namespace nexus::daemon::runtime {
namespace {

struct StatusName {
  ContainerStatus status;
  std::string_view name;
};
constexpr StatusName kStatusNames[] = {
    {ContainerStatus::kCreating, "creating"}, {ContainerStatus::kCreated, "created"},
    {ContainerStatus::kRunning, "running"},   {ContainerStatus::kPaused, "paused"},
    {ContainerStatus::kStopped, "stopped"},   {ContainerStatus::kUnknown, "unknown"},
};

// runc's environment: nothing of nexusd's (no LISTEN_FDS, which runc would
// pass into the container as extra descriptors).
const std::vector<std::string> kRuncEnv = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};

// Destroy() polls `runc state` with doubling pauses up to this one.
constexpr int64_t kMaxPollPauseMs = 32;

Result<ContainerState> ParseState(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) {
    return InternalError("runc state: unexpected JSON");
  }
  ContainerState s;
  s.id = j["id"].get<std::string>();
  if (j.contains("status") && j["status"].is_string()) {
    s.status = ContainerStatusFromName(j["status"].get<std::string>());
  }
  if (j.contains("pid") && j["pid"].is_number_integer()) s.pid = j["pid"].get<int>();
  if (j.contains("bundle") && j["bundle"].is_string()) s.bundle = j["bundle"].get<std::string>();
  return s;
}

std::string SignalArg(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev ? std::string(abbrev) : std::to_string(signal);
}

}  // namespace

std::string_view ContainerStatusName(ContainerStatus status) {
  for (const auto& s : kStatusNames) {
    if (s.status == status) return s.name;
  }
  return "unknown";
}

ContainerStatus ContainerStatusFromName(std::string_view name) {
  for (const auto& s : kStatusNames) {
    if (s.name == name) return s.status;
  }
  return ContainerStatus::kUnknown;
}

std::string RuncErrorMessage(const std::string& stderr_text) {
  std::istringstream in(stderr_text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  auto pos = last.find("msg=\"");
  if (pos == std::string::npos) return last;
  std::string msg;
  for (size_t i = pos + 5; i < last.size() && last[i] != '"'; ++i) {
    if (last[i] == '\\' && i + 1 < last.size()) ++i;
    msg.push_back(last[i]);
  }
  return msg;
}

RuncRuntime::RuncRuntime(RuncOptions options, ProcessRunner& processes)
    : options_(std::move(options)), processes_(processes) {
  if (!options_.sleep_ms) {
    options_.sleep_ms = [](int64_t ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    };
  }
}

SpawnOptions RuncRuntime::Command(std::vector<std::string> args) const {
  SpawnOptions spawn;
  spawn.argv = {options_.runc_path, "--root", options_.root};
  for (auto& a : args) spawn.argv.push_back(std::move(a));
  spawn.env = kRuncEnv;
  return spawn;
}

Result<ProcessOutcome> RuncRuntime::Invoke(const std::string& what, std::vector<std::string> args) {
  CommunicateOptions io;
  io.timeout_ms = options_.command_timeout_ms;
  io.stdout_limit = 4 << 20;  // `runc list` of many containers
  io.stderr_limit = 64 << 10;
  auto outcome = processes_.Run(Command(std::move(args)), io);
  if (!outcome.ok()) return outcome.status().WithContext(what);
  if (outcome->timed_out) {
    return InternalError(what + ": runc did not answer within " +
                         std::to_string(options_.command_timeout_ms) + " ms");
  }
  if (outcome->exit_code != 0) {
    std::string msg = RuncErrorMessage(outcome->stderr_data);
    if (msg.empty()) msg = "runc exited with status " + std::to_string(outcome->ShellExitCode());
    if (msg.find("does not exist") != std::string::npos) return NotFoundError(what + ": " + msg);
    return InternalError(what + ": " + msg);
  }
  return outcome;
}

Status RuncRuntime::Create(const std::string& id, const std::string& bundle,
                           const std::string& output_file) {
  SpawnOptions spawn = Command({"create", "--bundle", bundle, id});
  spawn.output_file = output_file;
  CommunicateOptions io;
  io.timeout_ms = options_.command_timeout_ms;
  auto outcome = processes_.Run(spawn, io);
  const std::string what = "create container '" + id + "'";
  if (!outcome.ok()) return outcome.status().WithContext(what);
  if (outcome->timed_out || outcome->exit_code != 0) {
    return InternalError(what + ": runc exited with status " +
                         std::to_string(outcome->ShellExitCode()) + " (see '" + output_file + "')");
  }
  return Status::Ok();
}

Status RuncRuntime::Start(const std::string& id) {
  return Invoke("start container '" + id + "'", {"start", id}).status();
}

Result<std::unique_ptr<Child>> RuncRuntime::Run(const std::string& id, const std::string& bundle,
                                                const RunIo& io) {
  std::vector<std::string> args = {"run", "--keep", "--bundle", bundle};
  const size_t preserved = (io.control_pipe ? 1 : 0) + io.extra_fds.size();
  if (preserved > 0) {
    args.push_back("--preserve-fds");
    args.push_back(std::to_string(preserved));
  }
  args.push_back(id);
  SpawnOptions spawn = Command(std::move(args));
  spawn.control_pipe = io.control_pipe;
  spawn.extra_fds = io.extra_fds;
  auto child = processes_.Spawn(spawn);
  if (!child.ok()) return child.status().WithContext("run container '" + id + "'");
  return child;
}

Result<ContainerState> RuncRuntime::State(const std::string& id) {
  const std::string what = "state of container '" + id + "'";
  NEXUS_ASSIGN_OR_RETURN(auto outcome, Invoke(what, {"state", id}));
  auto j = nlohmann::json::parse(outcome.stdout_data, nullptr, /*allow_exceptions=*/false);
  auto state = ParseState(j);
  if (!state.ok()) return state.status().WithContext(what);
  return state;
}

Status RuncRuntime::Kill(const std::string& id, int signal, bool all) {
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.push_back(id);
  args.push_back(SignalArg(signal));
  return Invoke("kill container '" + id + "'", std::move(args)).status();
}

Status RuncRuntime::Delete(const std::string& id) {
  return Invoke("delete container '" + id + "'", {"delete", id}).status();
}

Result<std::vector<ContainerState>> RuncRuntime::List() {
  const std::string what = "list containers";
  NEXUS_ASSIGN_OR_RETURN(auto outcome, Invoke(what, {"list", "--format", "json"}));
  auto j = nlohmann::json::parse(outcome.stdout_data, nullptr, /*allow_exceptions=*/false);
  std::vector<ContainerState> list;
  if (j.is_null()) return list;  // runc prints `null` when there are none
  if (!j.is_array()) return InternalError(what + ": unexpected JSON");
  for (const auto& item : j) {
    auto state = ParseState(item);
    if (!state.ok()) return state.status().WithContext(what);
    list.push_back(std::move(state).value());
  }
  return list;
}

// `runc delete --force` would do all of this, but it sleeps 100 ms after its
// SIGKILL before looking again. Each runc command costs a process start, so
// the fast path is two of them: SIGKILL, then a plain delete — by the time
// the second runc is up the container's init is gone. Only when that delete
// finds the container still running do we poll its state (with short,
// doubling pauses); --force stays the fallback for one that will not stop.
Status RuncRuntime::Destroy(const std::string& id) {
  Status killed = Kill(id, SIGKILL, /*all=*/false);
  if (killed.code() == StatusCode::kNotFound) return Status::Ok();
  // Any other kill failure (already stopped, only created) leaves delete to judge.
  Status deleted = Delete(id);
  if (deleted.ok() || deleted.code() == StatusCode::kNotFound) return Status::Ok();

  auto state = State(id);
  int64_t waited = 0;
  int64_t pause = 1;
  while (state.ok() && state->status != ContainerStatus::kStopped &&
         waited < options_.command_timeout_ms) {
    options_.sleep_ms(pause);
    waited += pause;
    pause = std::min(pause * 2, kMaxPollPauseMs);
    state = State(id);
  }
  if (!state.ok()) {
    return state.status().code() == StatusCode::kNotFound ? Status::Ok() : state.status();
  }
  if (state->status == ContainerStatus::kStopped) {
    deleted = Delete(id);
    if (deleted.ok() || deleted.code() == StatusCode::kNotFound) return Status::Ok();
  }
  deleted = Invoke("force-delete container '" + id + "'", {"delete", "--force", id}).status();
  return deleted.code() == StatusCode::kNotFound ? Status::Ok() : deleted;
}

Result<std::unique_ptr<Child>> RuncRuntime::Exec(const std::string& id,
                                                 const ExecOptions& options) {
  if (options.args.empty()) {
    return InvalidArgumentError("exec in container '" + id + "': no command");
  }
  std::vector<std::string> args = {"exec"};
  if (!options.pid_file.empty()) {
    args.push_back("--pid-file");
    args.push_back(options.pid_file);
  }
  args.push_back(id);
  for (const auto& a : options.args) args.push_back(a);
  auto child = processes_.Spawn(Command(std::move(args)));
  if (!child.ok()) return child.status().WithContext("exec in container '" + id + "'");
  return child;
}

}  // namespace nexus::daemon::runtime
