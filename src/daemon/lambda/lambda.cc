#include "daemon/lambda/lambda.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <utility>

#include "daemon/lambda/lambda_dirs.h"
#include "daemon/runtime/seccomp_bpf.h"

namespace nexus::daemon::runtime {
namespace {

// nexus-lambda-init is a small static binary; anything this large is not it.
constexpr size_t kMaxInitBytes = 64 << 20;

}  // namespace

LambdaRunner::LambdaRunner(LambdaOptions options, OciRuntime& runtime, CgroupFs& cgroups,
                           Status availability, Env* files)
    : options_(std::move(options)),
      runtime_(runtime),
      cgroups_(cgroups),
      files_(files != nullptr ? *files : host_files_),
      availability_(std::move(availability)) {
  // Everything a sandbox writes goes below runtime_dir: never relative to
  // wherever nexusd runs, nor to the root.
  if (Status usable = RuntimeDirUsable(options_.runtime_dir); !usable.ok()) {
    availability_ = usable;
  }
  auto program = CompileSeccompProfile(SandboxSeccomp());
  Result<int> fd = program.ok() ? SeccompProgramFd(*program) : Result<int>(program.status());
  if (fd.ok()) {
    seccomp_fd_ = *fd;
  } else if (availability_.ok()) {
    availability_ = UnavailableError("lambda needs its seccomp filter: " + fd.status().message());
  }
  reaper_ = std::thread([this] { ReaperLoop(); });
}

LambdaRunner::~LambdaRunner() {
  std::deque<std::unique_ptr<Sandbox>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    idle.swap(pool_);
  }
  pool_changed_.notify_all();
  if (refill_.joinable()) refill_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : pool_) idle.push_back(std::move(s));
    pool_.clear();
  }
  idle.clear();  // each destructor tears its container down
  {
    std::lock_guard<std::mutex> lock(mu_);
    reaper_stopping_ = true;
  }
  retired_changed_.notify_all();
  reaper_.join();  // after the queue is drained
  // Every sandbox is gone; runc leaves the parent it created for them (and,
  // after a failed teardown, a child) in every hierarchy.
  if (availability_.ok() && cgroups_.Exists(cgroup_parent())) {
    Status s = cgroups_.RemoveTree(cgroup_parent());
    if (!s.ok()) spdlog::warn("lambda: remove cgroup parent: {}", s.ToString());
  }
  if (seccomp_fd_ >= 0) ::close(seccomp_fd_);
  if (!shared_etc_.empty()) {
    Status s = files_.RemoveTree(shared_etc_);
    if (!s.ok()) spdlog::warn("lambda: {}", s.message());
  }
  if (!init_copy_.empty()) {
    Status s = files_.Remove(init_copy_);
    if (!s.ok() && s.code() != StatusCode::kNotFound) spdlog::warn("lambda: {}", s.message());
    // Every sandbox is gone, so runc's root holds no container; a bundle or
    // a container whose teardown failed keeps its directory (and was logged).
    RemoveIfEmpty(files_, lambda_dir() + "/runc");
    RemoveIfEmpty(files_, lambda_dir());
    RemoveIfEmpty(files_, options_.runtime_dir);  // unless something else of the instance uses it
  }
}

std::string LambdaRunner::cgroup_parent() const {
  return "/nexus-" + options_.instance + "-lambda";
}

std::string LambdaRunner::lambda_dir() const { return options_.runtime_dir + "/lambda"; }

Status LambdaRunner::PrepareRuntimeDir() {
  NEXUS_RETURN_IF_ERROR(RuntimeDirUsable(options_.runtime_dir));
  NEXUS_RETURN_IF_ERROR(MakeOwnPrivateDir(files_, options_.runtime_dir));
  NEXUS_RETURN_IF_ERROR(MakeOwnPrivateDir(files_, lambda_dir()));
  // Sandboxes mount a copy of the init, not the installed one: a mount's
  // source shows in the sandbox's mountinfo, and the installation's path
  // (a build tree, a home directory) is no business of the code it runs.
  // Written beside and renamed into place, so a sandbox never mounts half
  // of it.
  const std::string copy = lambda_dir() + "/init";
  const std::string tmp = copy + ".tmp";
  auto init = files_.ReadFile(options_.init_path, kMaxInitBytes);
  Status installed = init.ok() ? files_.RemoveTree(tmp) : init.status();  // a crash's leftover
  if (installed.ok()) installed = files_.WriteNewFile(tmp, *init, 0555);
  if (installed.ok()) installed = files_.Rename(tmp, copy);
  if (!installed.ok()) {
    (void)files_.RemoveTree(tmp);
    return AsInternal(installed.WithContext("install '" + copy + "'"));
  }
  init_copy_ = copy;
  options_.init_path = copy;
  return Status::Ok();
}

Result<LambdaRunner::Resolved> LambdaRunner::Validate(const LambdaRequest& request) const {
  if (!FindLambdaRuntime(request.runtime)) {
    std::string names;
    for (const auto& r : kLambdaRuntimes)
      names += (names.empty() ? "" : ", ") + std::string(r.name);
    return InvalidArgumentError("unknown runtime '" + request.runtime + "' (supported: " + names +
                                ")");
  }
  if (request.code.empty()) return InvalidArgumentError("code must not be empty");
  if (request.code.size() > kMaxLambdaCodeBytes) {
    return InvalidArgumentError("code is larger than " + std::to_string(kMaxLambdaCodeBytes) +
                                " bytes");
  }
  if (request.stdin_data.size() > kMaxLambdaStdinBytes) {
    return InvalidArgumentError("stdin is larger than " + std::to_string(kMaxLambdaStdinBytes) +
                                " bytes");
  }
  Resolved r{request.timeout_ms, request.memory_mb};
  if (r.timeout_ms == 0) r.timeout_ms = options_.timeout_ms_default;
  if (r.timeout_ms < 0 || r.timeout_ms > options_.timeout_ms_max) {
    return InvalidArgumentError("timeout_ms must be between 1 and " +
                                std::to_string(options_.timeout_ms_max));
  }
  if (r.memory_mb == 0) r.memory_mb = options_.memory_mb_default;
  if (r.memory_mb < kMinLambdaMemoryMb || r.memory_mb > options_.memory_mb_max) {
    return InvalidArgumentError("memory_mb must be between " + std::to_string(kMinLambdaMemoryMb) +
                                " and " + std::to_string(options_.memory_mb_max));
  }
  return r;
}

Result<LambdaResult> LambdaRunner::Run(const LambdaRequest& request) {
  NEXUS_ASSIGN_OR_RETURN(Resolved resolved, Validate(request));
  if (!availability_.ok()) return Status(availability_).set_reason(Reason::kLambdaUnsupportedHere);
  NEXUS_ASSIGN_OR_RETURN(Slot slot, AcquireSlot());

  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<Sandbox> sandbox, TakeSandbox(resolved.memory_mb));
  SandboxRun run;
  run.runtime = request.runtime;
  run.code = request.code;
  run.stdin_data = request.stdin_data;
  run.timeout_ms = resolved.timeout_ms;
  run.output_limit = static_cast<size_t>(options_.output_limit_bytes);
  auto result = sandbox->RunCode(run);
  const std::string id = sandbox->id();
  Retire(std::move(sandbox), std::move(slot));
  if (!result.ok()) {
    spdlog::error("lambda run for '{}' in {}: {}", request.owner, id, result.status().ToString());
    return result.status();
  }
  spdlog::debug("lambda run for '{}' in {}: runtime {} exit {} in {} ms{}{}", request.owner, id,
                request.runtime, result->exit_code, result->execution_time_ms,
                result->timed_out ? " (timed out)" : "",
                result->oom_killed ? " (out of memory)" : "");
  return result;
}

Status LambdaRunner::CleanUpLeftovers() {
  if (!availability_.ok()) return Status::Ok();
  Status first;
  const std::string prefix = options_.instance + "-l-";
  auto list = runtime_.List();
  if (!list.ok()) {
    first = list.status();
  } else {
    for (const auto& c : *list) {
      if (c.id.rfind(prefix, 0) != 0) continue;
      Status s = runtime_.Destroy(c.id);
      if (!s.ok() && first.ok()) first = s;
      spdlog::info("lambda: removed leftover container {}", c.id);
    }
  }
  if (files_.IsDir(lambda_dir())) {
    auto names = files_.ListDir(lambda_dir());
    if (!names.ok() && first.ok()) first = AsInternal(names.status());
    for (const auto& name : names.ok() ? *names : std::vector<std::string>{}) {
      if (name.rfind(prefix, 0) != 0) continue;
      Status removed = files_.RemoveTree(lambda_dir() + "/" + name);
      if (!removed.ok() && first.ok()) first = AsInternal(removed);
    }
  }
  // The containers are gone, so whatever remains under the parent is empty.
  if (cgroups_.Exists(cgroup_parent())) {
    Status s = cgroups_.RemoveTree(cgroup_parent());
    if (!s.ok() && first.ok()) first = s;
    if (s.ok()) spdlog::info("lambda: removed leftover cgroup {}", cgroup_parent());
  }
  return first;
}

Status LambdaRunner::PrepareSharedEtc() {
  NEXUS_RETURN_IF_ERROR(RuntimeDirUsable(options_.runtime_dir));
  NEXUS_RETURN_IF_ERROR(MakeOwnPrivateDir(files_, lambda_dir()));
  const std::string dir = lambda_dir() + "/etc";
  Status stale = files_.RemoveTree(dir);
  if (!stale.ok()) return AsInternal(stale.WithContext("remove the stale /etc"));
  Status written = WriteEtcDir(files_, dir, SandboxSpec{}.hostname, options_.host.ld_so_cache);
  if (!written.ok()) {
    (void)files_.RemoveTree(dir);
    return AsInternal(written);
  }
  shared_etc_ = dir;
  return Status::Ok();
}

}  // namespace nexus::daemon::runtime
