#include "daemon/lambda/lambda.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>
#include <utility>

#include "daemon/runtime/process.h"
#include "daemon/runtime/seccomp_bpf.h"

namespace nexus::daemon::runtime {
namespace {

const char kUnavailableMessage[] = "lambda needs root and runc";
// How long a pool sandbox may take to come up before it counts as broken.
constexpr int64_t kPoolStartTimeoutMs = 10000;

// Stands in for the host's cgroups when they cannot be used; never reached,
// since such a runner is unavailable.
class NoCgroupFs final : public CgroupFs {
 public:
  Result<bool> OomKilled(const std::string&) override { return UnavailableError("no cgroups"); }
  bool Exists(const std::string&) override { return false; }
  Status Remove(const std::string&) override { return Status::Ok(); }
};

// Makes `path` a directory of ours, mode 0700, creating it (and missing
// parents) if needed: not a symlink, not someone else's, whatever it was.
Status MakePrivateDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return InternalError("create the parent of '" + path + "': " + ec.message());
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError(StatusCode::kInternal, "mkdir '" + path + "'", errno);
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return ErrnoError(StatusCode::kInternal, "stat '" + path + "'", errno);
  }
  if (!S_ISDIR(st.st_mode)) return InternalError("'" + path + "' is not a directory");
  if (st.st_uid != ::geteuid()) {
    return InternalError("'" + path + "' belongs to uid " + std::to_string(st.st_uid));
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0) {
    return ErrnoError(StatusCode::kInternal, "chmod '" + path + "'", errno);
  }
  return Status::Ok();
}

// Removes the directory `path` if it is empty; anything else stays, quietly
// when it is still in use (ENOTEMPTY) or already gone.
void RemoveIfEmpty(const std::string& path) {
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
    spdlog::warn("lambda: remove '{}': {}", path, std::strerror(errno));
  }
}

Status RuntimeDirUsable(const std::string& dir) {
  if (dir.empty() || dir[0] != '/' || dir == "/") {
    return InternalError("lambda runtime_dir '" + dir + "' is not an absolute directory");
  }
  return Status::Ok();
}

std::string RandomHex64() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

struct LambdaRunner::Owned {
  std::unique_ptr<ProcessRunner> processes;
  std::unique_ptr<OciRuntime> runtime;
  std::unique_ptr<CgroupFs> cgroups;
};

// A held concurrency slot; releases it when destroyed.
class LambdaRunner::Slot {
 public:
  explicit Slot(LambdaRunner* runner) : runner_(runner) {}
  Slot(Slot&& o) noexcept : runner_(std::exchange(o.runner_, nullptr)) {}
  Slot& operator=(Slot&&) = delete;
  ~Slot() {
    if (runner_) runner_->ReleaseSlot();
  }
  // The reaper releases it instead, once the sandbox is gone.
  void Disarm() { runner_ = nullptr; }

 private:
  LambdaRunner* runner_;
};

Result<LambdaOptions> LambdaOptionsFromConfig(const Config& config) {
  const LambdaConfig& c = config.lambda;
  LambdaOptions o;
  std::error_code ec;
  o.runtime_dir = config.runtime_dir.empty() ? "/run/nexus-" + config.instance : config.runtime_dir;
  auto runtime = std::filesystem::absolute(o.runtime_dir, ec);
  if (ec) return InvalidArgumentError("runtime_dir '" + o.runtime_dir + "': " + ec.message());
  o.runtime_dir = runtime.lexically_normal().string();
  while (o.runtime_dir.size() > 1 && o.runtime_dir.back() == '/') o.runtime_dir.pop_back();
  if (o.runtime_dir == "/") return InvalidArgumentError("runtime_dir must not be /");
  o.instance = config.instance;
  o.timeout_ms_default = c.timeout_ms_default;
  o.timeout_ms_max = c.timeout_ms_max;
  o.memory_mb_default = c.memory_mb_default;
  o.memory_mb_max = c.memory_mb_max;
  o.max_concurrent = c.max_concurrent;
  if (o.max_concurrent == 0) {
    long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    o.max_concurrent = 2 * (cores > 0 ? cores : 1);
  }
  o.pool_size = c.pool_size;
  o.output_limit_bytes = c.output_limit_bytes;
  o.init_path = c.init_path;
  if (o.init_path.empty()) {
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) o.init_path = (self.parent_path() / kLambdaInitName).string();
  } else {
    auto init = std::filesystem::absolute(o.init_path, ec);
    if (ec) return InvalidArgumentError("lambda.init_path '" + o.init_path + "': " + ec.message());
    o.init_path = init.lexically_normal().string();
  }

  if (o.timeout_ms_max <= 0 || o.timeout_ms_default <= 0 ||
      o.timeout_ms_default > o.timeout_ms_max) {
    return InvalidArgumentError(
        "lambda timeouts must satisfy 0 < timeout_ms_default <= timeout_ms_max");
  }
  if (o.memory_mb_default < kMinLambdaMemoryMb || o.memory_mb_default > o.memory_mb_max) {
    return InvalidArgumentError("lambda memory must satisfy " + std::to_string(kMinLambdaMemoryMb) +
                                " <= memory_mb_default <= memory_mb_max");
  }
  if (o.max_concurrent < 0) return InvalidArgumentError("lambda.max_concurrent must be >= 0");
  if (o.pool_size < 0) return InvalidArgumentError("lambda.pool_size must be >= 0");
  if (o.output_limit_bytes <= 0) {
    return InvalidArgumentError("lambda.output_limit_bytes must be > 0");
  }
  return o;
}

LambdaRunner::LambdaRunner(LambdaOptions options, OciRuntime& runtime, CgroupFs& cgroups,
                           Status availability)
    : options_(std::move(options)),
      runtime_(runtime),
      cgroups_(cgroups),
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
    std::error_code ec;
    std::filesystem::remove_all(shared_etc_, ec);
    if (ec) spdlog::warn("lambda: remove '{}': {}", shared_etc_, ec.message());
  }
  if (!init_copy_.empty()) {
    if (::unlink(init_copy_.c_str()) != 0 && errno != ENOENT) {
      spdlog::warn("lambda: remove '{}': {}", init_copy_, std::strerror(errno));
    }
    // Every sandbox is gone, so runc's root holds no container; a bundle or
    // a container whose teardown failed keeps its directory (and was logged).
    RemoveIfEmpty(lambda_dir() + "/runc");
    RemoveIfEmpty(lambda_dir());
    RemoveIfEmpty(options_.runtime_dir);  // unless something else of the instance uses it
  }
}

Result<std::unique_ptr<LambdaRunner>> LambdaRunner::ForHost(const Config& config) {
  NEXUS_ASSIGN_OR_RETURN(LambdaOptions options, LambdaOptionsFromConfig(config));
  auto owned = std::make_unique<Owned>();
  owned->processes = NewPosixProcessRunner();
  Status availability;

  std::string runc =
      FindExecutable(config.lambda.runc_path.empty() ? "runc" : config.lambda.runc_path);
  if (::geteuid() != 0) {
    availability = UnavailableError(std::string(kUnavailableMessage) + " (nexusd is not root)");
  } else if (runc.empty() || runc[0] != '/') {
    availability = UnavailableError(std::string(kUnavailableMessage) + " (runc not found)");
  } else if (::access(kSandboxPython, X_OK) != 0) {
    availability = UnavailableError("lambda needs " + std::string(kSandboxPython));
  } else if (options.init_path.empty() || ::access(options.init_path.c_str(), X_OK) != 0) {
    availability = UnavailableError("lambda needs " + std::string(kLambdaInitName) +
                                    " (beside nexusd, or lambda.init_path)");
  }
  if (availability.ok()) {
    auto cgroups = HostCgroupFs::Detect();
    auto layout = ProbeHostLayout("/");
    if (!cgroups.ok()) {
      availability = UnavailableError(std::string(kUnavailableMessage) + " (" +
                                      cgroups.status().message() + ")");
    } else if (!layout.ok()) {
      availability = UnavailableError(layout.status().message());
    } else {
      options.host = std::move(layout).value();
      options.host.swap_limit = (*cgroups)->swap_limit_supported();
      owned->cgroups = std::move(cgroups).value();
    }
  }
  if (!owned->cgroups) owned->cgroups = std::make_unique<NoCgroupFs>();
  RuncOptions runc_options;
  runc_options.runc_path = runc;
  runc_options.root = options.runtime_dir + "/lambda/runc";
  owned->runtime = std::make_unique<RuncRuntime>(runc_options, *owned->processes);

  auto runner = std::make_unique<LambdaRunner>(std::move(options), *owned->runtime, *owned->cgroups,
                                               availability);
  runner->owned_ = std::move(owned);
  if (availability.ok()) {
    Status prepared = runner->PrepareRuntimeDir();
    if (!prepared.ok()) {
      runner->availability_ =
          UnavailableError("lambda needs its runtime directory: " + prepared.message());
    }
  }
  if (!runner->availability_.ok()) {
    spdlog::warn("lambda disabled: {}", runner->availability_.message());
    return runner;
  }
  Status cleaned = runner->CleanUpLeftovers();
  if (!cleaned.ok()) spdlog::warn("lambda: clean up leftovers: {}", cleaned.ToString());
  Status etc = runner->PrepareSharedEtc();
  if (!etc.ok())
    spdlog::warn("lambda: shared /etc (each sandbox gets its own): {}", etc.ToString());
  runner->StartPool();
  return runner;
}

std::string LambdaRunner::cgroup_parent() const {
  return "/nexus-" + options_.instance + "-lambda";
}

std::string LambdaRunner::lambda_dir() const { return options_.runtime_dir + "/lambda"; }

Status LambdaRunner::PrepareRuntimeDir() {
  NEXUS_RETURN_IF_ERROR(RuntimeDirUsable(options_.runtime_dir));
  NEXUS_RETURN_IF_ERROR(MakePrivateDir(options_.runtime_dir));
  NEXUS_RETURN_IF_ERROR(MakePrivateDir(lambda_dir()));
  // Sandboxes mount a copy of the init, not the installed one: a mount's
  // source shows in the sandbox's mountinfo, and the installation's path
  // (a build tree, a home directory) is no business of the code it runs.
  const std::string copy = lambda_dir() + "/init";
  const std::string tmp = copy + ".tmp";
  std::error_code ec;
  std::filesystem::copy_file(options_.init_path, tmp,
                             std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return InternalError("copy '" + options_.init_path + "' to '" + tmp + "': " + ec.message());
  }
  if (::chmod(tmp.c_str(), 0555) != 0 || ::rename(tmp.c_str(), copy.c_str()) != 0) {
    Status failed = ErrnoError(StatusCode::kInternal, "install '" + copy + "'", errno);
    ::unlink(tmp.c_str());
    return failed;
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

Result<LambdaRunner::Slot> LambdaRunner::AcquireSlot() {
  std::unique_lock<std::mutex> lock(mu_);
  bool got = slot_freed_.wait_for(lock, std::chrono::milliseconds(options_.queue_wait_ms),
                                  [this] { return active_ < options_.max_concurrent; });
  if (!got) {
    return RateLimitedError("too many lambda runs at once; try again shortly", 1);
  }
  ++active_;
  return Slot(this);
}

void LambdaRunner::ReleaseSlot() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
  }
  slot_freed_.notify_one();
  pool_changed_.notify_all();  // the refill waits for an idle moment
}

void LambdaRunner::Retire(std::unique_ptr<Sandbox> sandbox, Slot slot) {
  slot.Disarm();
  {
    std::lock_guard<std::mutex> lock(mu_);
    retired_.push_back(std::move(sandbox));
  }
  retired_changed_.notify_all();
}

void LambdaRunner::ReaperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    retired_changed_.wait(lock, [this] { return !retired_.empty() || reaper_stopping_; });
    if (retired_.empty()) return;  // stopping, and nothing left to tear down
    std::unique_ptr<Sandbox> sandbox = std::move(retired_.front());
    retired_.pop_front();
    ++tearing_down_;
    lock.unlock();
    Status s = sandbox->Destroy();
    if (!s.ok()) spdlog::warn("lambda sandbox {}: teardown: {}", sandbox->id(), s.ToString());
    sandbox.reset();
    ReleaseSlot();
    lock.lock();
    --tearing_down_;
    retired_changed_.notify_all();
  }
}

void LambdaRunner::WaitForTeardown() {
  std::unique_lock<std::mutex> lock(mu_);
  retired_changed_.wait(lock, [this] { return retired_.empty() && tearing_down_ == 0; });
}

std::unique_ptr<Sandbox> LambdaRunner::NewSandbox(int64_t memory_mb, bool pool) {
  SandboxOptions o;
  o.id = options_.instance + "-l-" + RandomHex64();
  o.bundle_dir = lambda_dir() + "/" + o.id;
  o.cgroups_path = cgroup_parent() + "/" + o.id;
  o.memory_bytes = memory_mb << 20;
  o.host = options_.host;
  o.init_path = options_.init_path;
  o.seccomp_fd = seccomp_fd_;
  o.etc_dir = shared_etc_;
  o.pool = pool;
  return std::make_unique<Sandbox>(std::move(o), runtime_, cgroups_);
}

Result<std::unique_ptr<Sandbox>> LambdaRunner::TakeSandbox(int64_t memory_mb) {
  std::deque<std::unique_ptr<Sandbox>> dead;
  std::unique_ptr<Sandbox> warm;
  if (memory_mb == options_.memory_mb_default) {
    std::lock_guard<std::mutex> lock(mu_);
    while (!pool_.empty() && !warm) {
      auto s = std::move(pool_.front());
      pool_.pop_front();
      if (s->Alive()) {
        warm = std::move(s);
      } else {
        dead.push_back(std::move(s));
      }
    }
  }
  if (warm || !dead.empty()) pool_changed_.notify_all();
  dead.clear();
  if (warm) return warm;

  NEXUS_RETURN_IF_ERROR(MakePrivateDir(lambda_dir()));
  auto sandbox = NewSandbox(memory_mb, /*pool=*/false);
  NEXUS_RETURN_IF_ERROR(sandbox->Start());
  return sandbox;
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
  std::error_code ec;
  const std::filesystem::path bundles = lambda_dir();
  if (std::filesystem::is_directory(bundles, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(bundles, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) != 0) continue;
      std::error_code rm;
      std::filesystem::remove_all(entry.path(), rm);
      if (rm && first.ok())
        first = InternalError("remove '" + entry.path().string() + "': " + rm.message());
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
  NEXUS_RETURN_IF_ERROR(MakePrivateDir(lambda_dir()));
  const std::string dir = lambda_dir() + "/etc";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return InternalError("remove stale '" + dir + "': " + ec.message());
  Status written = WriteEtcDir(dir, SandboxSpec{}.hostname, options_.host.ld_so_cache);
  if (!written.ok()) {
    std::filesystem::remove_all(dir, ec);
    return written;
  }
  shared_etc_ = dir;
  return Status::Ok();
}

void LambdaRunner::StartPool() {
  if (options_.pool_size <= 0 || !availability_.ok() || refill_.joinable()) return;
  refill_ = std::thread([this] { RefillLoop(); });
}

size_t LambdaRunner::idle_sandboxes() {
  std::lock_guard<std::mutex> lock(mu_);
  return pool_.size();
}

bool LambdaRunner::WaitForPool(size_t n, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return pool_changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                [&] { return pool_.size() >= n; });
}

void LambdaRunner::RefillLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  int failures = 0;
  while (!stopping_) {
    const bool want =
        pool_.size() < static_cast<size_t>(options_.pool_size) && (active_ == 0 || pool_.empty());
    if (!want) {
      pool_changed_.wait(lock);
      continue;
    }
    lock.unlock();
    auto sandbox = NewSandbox(options_.memory_mb_default, /*pool=*/true);
    Status started = MakePrivateDir(lambda_dir());
    if (started.ok()) started = sandbox->Start();
    if (started.ok()) started = sandbox->WaitReady(kPoolStartTimeoutMs);
    lock.lock();
    if (!started.ok()) {
      spdlog::warn("lambda pool: start sandbox: {}", started.ToString());
      lock.unlock();
      sandbox.reset();
      lock.lock();
      // Back off so a broken host does not spin; retried on the next change.
      ++failures;
      pool_changed_.wait_for(
          lock, std::chrono::milliseconds(std::min(100 << std::min(failures, 6), 5000)));
      continue;
    }
    failures = 0;
    if (stopping_) break;
    pool_.push_back(std::move(sandbox));
    pool_changed_.notify_all();
  }
  // A sandbox started while stopping is destroyed outside the lock.
  lock.unlock();
}

}  // namespace nexus::daemon::runtime
