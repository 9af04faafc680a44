#include "daemon/lambda/sandbox.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <string.h>
#include <unistd.h>

#include <sstream>

#include "daemon/lambda/lambda_dirs.h"

namespace nexus::daemon::runtime {

namespace {

// The host-side deadline is a backstop for an init that cannot enforce
// the timeout (killed by the OOM killer, or subverted): it also covers
// container start-up on a loaded machine.
constexpr int64_t kHostDeadlineSlackMs = 5000;
// How long a sandbox's runc may take to wind down: an unused one after its
// stdin closes, a used one after the init's report.
constexpr int64_t kDiscardTimeoutMs = 2000;
// The highest signal number Linux delivers (SIGRTMAX).
constexpr int kMaxSignal = 64;

// As root, the sandbox user (who runs the code) owns what holds it.
bool GiveToSandboxUser() { return ::geteuid() == 0; }

FileOwner SandboxUser() {
  const SandboxSpec spec;
  return {spec.uid, spec.gid};
}

// Makes `path` (must not exist) mode 0700 and, as root, the sandbox user's
// own: it will hold a user's code, which only that user reads.
Status MakeSandboxUsersDir(Env& env, const std::string& path) {
  NEXUS_RETURN_IF_ERROR(env.MakeDir(path, 0700));
  if (GiveToSandboxUser()) NEXUS_RETURN_IF_ERROR(env.Chown(path, SandboxUser()));
  return Status::Ok();
}

// Writes a user's code to `path` (must not exist), readable by the sandbox
// user only from its first byte: created 0400, handed to that user (as
// root) before anything is written.
Status WriteUserCode(Env& env, const std::string& path, std::string_view code) {
  if (GiveToSandboxUser()) return env.WriteNewFileAs(path, code, 0400, SandboxUser());
  return env.WriteNewFile(path, code, 0400);
}

}  // namespace

const LambdaRuntimeInfo* FindLambdaRuntime(std::string_view name) {
  for (const auto& r : kLambdaRuntimes) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::string SignalName(int signal) {
  if (signal <= 0) return "";
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev ? "SIG" + std::string(abbrev) : "SIG" + std::to_string(signal);
}

SupervisorReport ParseSupervisorReport(std::string_view control) {
  SupervisorReport report;
  std::istringstream in{std::string(control)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "ready") {
      report.ready = true;
      continue;
    }
    int value = 0;
    int64_t ms = 0;
    // Values out of range are malformed, not trusted: a wait status holds
    // an exit code of 0..255 and a signal of 1..64, and 128 + value must
    // not overflow.
    if (kind == "exit" && (words >> value >> ms) && value >= 0 && value <= 255 && ms >= 0) {
      report.end = SupervisorReport::End::kExit;
    } else if (kind == "signal" && (words >> value >> ms) && value >= 1 && value <= kMaxSignal &&
               ms >= 0) {
      report.end = SupervisorReport::End::kSignal;
    } else if (kind == "timeout" && (words >> ms) && ms >= 0) {
      report.end = SupervisorReport::End::kTimeout;
      value = SIGKILL;
    } else {
      continue;
    }
    report.value = value;
    report.ms = ms;
  }
  return report;
}

Sandbox::Sandbox(SandboxOptions options, OciRuntime& runtime, CgroupFs& cgroups, Env& files)
    : options_(std::move(options)), runtime_(runtime), cgroups_(cgroups), files_(files) {}

Sandbox::~Sandbox() {
  Status s = Destroy();
  if (!s.ok()) spdlog::warn("lambda sandbox {}: teardown: {}", options_.id, s.ToString());
}

Status Sandbox::Start() {
  SandboxSpec spec;
  spec.args = {kSandboxInit};
  if (options_.pool) spec.args.push_back("pool");
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
  spec.host = options_.host;
  spec.memory_bytes = options_.memory_bytes;
  spec.cgroups_path = options_.cgroups_path;
  spec.etc_dir = options_.etc_dir;
  if (options_.init_path.empty() || options_.init_path[0] != '/') {
    return InternalError("lambda sandbox " + options_.id + ": no absolute path of " +
                         kLambdaInitName);
  }
  if (options_.seccomp_fd < 0) {
    return InternalError("lambda sandbox " + options_.id + ": no seccomp program");
  }
  if (files_.LinkStat(options_.bundle_dir).ok()) {
    return InternalError("lambda sandbox " + options_.id + ": bundle directory already exists");
  }
  // The init is bind-mounted from the host rather than copied into every
  // bundle: no per-run copy, and it stays executable even where the data dir
  // is mounted noexec.
  spec.extra_mounts.push_back(OciReadOnlyBind(options_.init_path, kSandboxInit, /*noexec=*/false));
  // The init installs the profile, precompiled (see the header); runc must
  // not compile it again.
  spec.runtime_seccomp = false;
  bundle_written_ = true;  // from here on Destroy() removes whatever exists
  if (Status written = WriteSandboxBundle(spec); !written.ok()) return AsInternal(written);
  using Kind = SpawnOptions::ExtraFd::Kind;
  RunIo io;
  io.control_pipe = true;
  io.extra_fds = {{Kind::kStdoutPipe}, {Kind::kStderrPipe}, {Kind::kCallers, options_.seccomp_fd}};
  NEXUS_ASSIGN_OR_RETURN(child_, runtime_.Run(options_.id, options_.bundle_dir, io));
  return Status::Ok();
}

Status Sandbox::WriteSandboxBundle(const SandboxSpec& spec) {
  NEXUS_RETURN_IF_ERROR(WriteBundle(files_, options_.bundle_dir, spec));
  NEXUS_RETURN_IF_ERROR(MakeSandboxUsersDir(files_, options_.bundle_dir + "/rootfs/sandbox"));
  // The init's mount point exists before runc makes the root read-only.
  return files_.WriteNewFile(options_.bundle_dir + "/rootfs" + kSandboxInit, "", 0444);
}

Status Sandbox::WaitReady(int64_t timeout_ms) {
  if (!child_ || used_ || destroyed_) {
    return InternalError("lambda sandbox " + options_.id + ": not started or already used");
  }
  auto line = child_->ReadControlLine(timeout_ms);
  if (!line.ok()) return line.status().WithContext("lambda sandbox " + options_.id + ": start");
  if (*line != "ready") {
    return InternalError("lambda sandbox " + options_.id + ": unexpected first report '" + *line +
                         "'");
  }
  return Status::Ok();
}

bool Sandbox::Alive() { return child_ && !used_ && !destroyed_ && child_->Running(); }

Result<LambdaResult> Sandbox::RunCode(const SandboxRun& run) {
  if (!child_ || used_ || destroyed_) {
    return InternalError("lambda sandbox " + options_.id + ": not started or already used");
  }
  used_ = true;
  const LambdaRuntimeInfo* info = FindLambdaRuntime(run.runtime);
  if (!info) return InvalidArgumentError("unknown runtime '" + run.runtime + "'");
  Status written = WriteUserCode(
      files_, options_.bundle_dir + "/rootfs/sandbox/" + std::string(info->file), run.code);
  if (!written.ok()) return AsInternal(written);

  CommunicateOptions io;
  io.stdin_data = run.runtime + " " + std::to_string(run.timeout_ms) + "\n" + run.stdin_data;
  io.stdout_limit = run.output_limit;
  io.stderr_limit = run.output_limit;
  io.timeout_ms = run.timeout_ms + kHostDeadlineSlackMs;
  io.on_timeout = [this] {
    Status s = runtime_.Kill(options_.id, SIGKILL, /*all=*/true);
    if (!s.ok()) spdlog::warn("lambda sandbox {}: kill at deadline: {}", options_.id, s.ToString());
  };
  // The init's end report is the answer: the program's output is already in
  // our pipes, and runc's wind-down is left to Destroy().
  io.done = [](std::string_view control) {
    return ParseSupervisorReport(control).end != SupervisorReport::End::kNone;
  };
  auto outcome = child_->Communicate(io);
  if (!outcome.ok()) return outcome.status().WithContext("lambda sandbox " + options_.id);
  return Finish(run, *outcome);
}

Result<LambdaResult> Sandbox::Finish(const SandboxRun& run, const ProcessOutcome& outcome) {
  SupervisorReport report = ParseSupervisorReport(outcome.control_data);
  auto oom = cgroups_.OomKilled(options_.cgroups_path);
  if (!oom.ok() && report.ready) {
    spdlog::warn("lambda sandbox {}: {}", options_.id, oom.status().ToString());
  }
  const bool oom_killed = oom.ok() && *oom;

  LambdaResult result;
  result.oom_killed = oom_killed;
  if (!report.ready && !oom_killed) {
    // The init never ran: runc could not start the container. Its
    // message is on stderr; it names host paths, so it goes to the log only.
    return InternalError("lambda sandbox " + options_.id +
                         ": container did not start: " + RuncErrorMessage(outcome.stderr_data));
  }
  result.stdout_data = outcome.stdout_data;
  result.stderr_data = outcome.stderr_data;
  result.stdout_truncated = outcome.stdout_truncated;
  result.stderr_truncated = outcome.stderr_truncated;
  switch (report.end) {
    case SupervisorReport::End::kExit:
      result.exit_code = report.value;
      break;
    case SupervisorReport::End::kSignal:
      result.exit_code = 128 + report.value;
      result.signal = SignalName(report.value);
      break;
    case SupervisorReport::End::kTimeout:
      result.timed_out = true;
      result.exit_code = 128 + SIGKILL;
      result.signal = SignalName(SIGKILL);
      break;
    case SupervisorReport::End::kNone:
      // The init itself died (the OOM killer, or our deadline): runc
      // reports its status, 128+n when a signal killed it.
      result.timed_out = outcome.timed_out;
      result.exit_code = outcome.ShellExitCode();
      if (result.timed_out || result.exit_code < 0) result.exit_code = 128 + SIGKILL;
      if (result.exit_code > 128) result.signal = SignalName(result.exit_code - 128);
      break;
  }
  result.execution_time_ms = report.end != SupervisorReport::End::kNone
                                 ? report.ms
                                 : std::min<int64_t>(outcome.elapsed_ms, run.timeout_ms);
  return result;
}

Status Sandbox::Destroy() {
  if (destroyed_) return Status::Ok();
  destroyed_ = true;
  Status first;
  auto note = [&first](Status s) {
    if (!s.ok() && first.ok()) first = std::move(s);
  };
  if (child_) {
    if (!used_) {
      // Never given an order: closing its stdin makes the init exit.
      CommunicateOptions io;
      io.timeout_ms = kDiscardTimeoutMs;
      io.on_timeout = [this] { (void)runtime_.Kill(options_.id, SIGKILL, /*all=*/true); };
      auto outcome = child_->Communicate(io);
      if (!outcome.ok()) note(outcome.status());
    } else if (!child_->WaitExit(kDiscardTimeoutMs)) {
      // RunCode answered on the init's report; runc should be done by now.
      spdlog::warn("lambda sandbox {}: runc still ran {} ms after the run; killed it", options_.id,
                   kDiscardTimeoutMs);
    }
    child_.reset();
    Status deleted = runtime_.Delete(options_.id);
    if (!deleted.ok() && deleted.code() != StatusCode::kNotFound) {
      deleted = runtime_.Destroy(options_.id);
    }
    if (deleted.code() != StatusCode::kNotFound) note(deleted);
  }
  // runc removed the cgroup with the container; this catches the cases where
  // the container never got that far but its cgroup did.
  if (cgroups_.Exists(options_.cgroups_path)) note(cgroups_.Remove(options_.cgroups_path));
  if (bundle_written_) note(AsInternal(files_.RemoveTree(options_.bundle_dir)));
  return first;
}

}  // namespace nexus::daemon::runtime
