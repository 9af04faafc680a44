// FakeOciRuntime and FakeCgroupFs: in-memory stand-ins for runc and the
// host's cgroup filesystem (daemon/runtime/oci_runtime.h, cgroups.h), for
// both engines' tests: the lambda sandboxes (attached `run`) and the nodes
// (detached create/start, exec).
//
// FakeOciRuntime keeps a map of containers and a log of calls ("run <id>",
// "kill <id> 9 all", "delete <id>", ...). Run() hands out a FakeChild whose
// behaviour `run_script` decides from the id and bundle; when that child's
// Communicate() returns, the container is "stopped", as with runc. Exec()
// does the same with `exec_script` in a running container. Given a
// FakeCgroupFs, Create() reads the bundle's config.json and "creates" its
// linux.cgroupsPath there (runc makes the cgroup at create; delete removes
// it), so tests see cgroups appear and go. Chosen steps can be made to fail,
// so that rollbacks can be tested.
// FakeCgroupFs answers OomKilled from a set the test fills and records
// removals. Both are thread-safe (one mutex each).
#pragma once

#include <signal.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "support/runtime_fake_process.h"

namespace nexus::testing {

using daemon::runtime::CgroupFs;
using daemon::runtime::ContainerState;
using daemon::runtime::ContainerStatus;
using daemon::runtime::ExecOptions;
using daemon::runtime::OciRuntime;

class FakeCgroupFs final : public CgroupFs {
 public:
  Result<bool> OomKilled(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    return oom_.count(path) > 0;
  }
  bool Exists(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    return existing_.count(path) > 0;
  }
  Status Remove(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    removed_.push_back(path);
    existing_.erase(path);
    return Status::Ok();
  }

  void SetOomKilled(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    oom_.insert(path);
  }
  void AddExisting(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    existing_.insert(path);
  }
  std::vector<std::string> removed() {
    std::lock_guard<std::mutex> lock(mu_);
    return removed_;
  }

 private:
  std::mutex mu_;
  std::set<std::string> oom_;
  std::set<std::string> existing_;
  std::vector<std::string> removed_;
};

class FakeOciRuntime final : public OciRuntime {
 public:
  FakeOciRuntime() = default;
  // Tracks each container's cgroup in `cgroups`, reading bundles through
  // `files` (the real file system when null).
  explicit FakeOciRuntime(FakeCgroupFs& cgroups, Env* files = nullptr)
      : cgroups_(&cgroups), files_(files) {}

  Status fail_create;  // non-ok: Create() fails (after runc would have made the cgroup)
  Status fail_start;
  // Called as Create() begins, with the container's id (e.g. to look at the
  // host as the container is about to start).
  std::function<void(const std::string& id)> on_create;
  bool ignores_sigterm = false;
  // What the container's process does; default: the supervisor reports exit 0.
  std::function<FakeProcessScript(const std::string& id, const std::string& bundle)> run_script =
      [](const std::string&, const std::string&) {
        FakeProcessScript s;
        s.outcome.exit_code = 0;
        s.outcome.control_data = "ready\nexit 0 1\n";
        return s;
      };
  // What an exec'd command does, from its argv; default: exit 0, no output.
  std::function<FakeProcessScript(const std::string& id, const ExecOptions&)> exec_script =
      [](const std::string&, const ExecOptions&) {
        FakeProcessScript s;
        s.outcome.exit_code = 0;
        return s;
      };

  Status Create(const std::string& id, const std::string& bundle,
                const std::string& output_file) override {
    if (on_create) on_create(id);
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("create " + id);
    if (containers_.count(id)) return AlreadyExistsError("container '" + id + "' exists");
    std::string cgroup;
    if (cgroups_ != nullptr) {
      PosixEnv real;
      auto text = (files_ != nullptr ? *files_ : static_cast<Env&>(real))
                      .ReadFile(bundle + "/config.json", 16 << 20);
      auto config = nlohmann::json::parse(text.ok() ? *text : std::string(), nullptr,
                                          /*allow_exceptions=*/false);
      if (!config.is_object()) return InternalError("create '" + id + "': no config.json");
      cgroup = config["linux"]["cgroupsPath"].get<std::string>();
      cgroups_->AddExisting(cgroup);
    }
    output_files_.push_back(output_file);
    if (!fail_create.ok()) return fail_create;  // runc leaves the cgroup behind
    containers_[id] = {{id, ContainerStatus::kCreated, 4242, bundle}, cgroup};
    return Status::Ok();
  }

  Status Start(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("start " + id);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFoundError("container '" + id + "' does not exist");
    if (!fail_start.ok()) return fail_start;
    it->second.state.status = ContainerStatus::kRunning;
    return Status::Ok();
  }

  Result<std::unique_ptr<daemon::runtime::Child>> Run(const std::string& id,
                                                      const std::string& bundle,
                                                      const daemon::runtime::RunIo& io) override {
    FakeProcessScript script = run_script(id, bundle);
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("run " + id);
      run_io_.push_back(io);
      if (!script.spawn_error.ok()) return script.spawn_error;
      containers_[id] = {{id, ContainerStatus::kRunning, 4242, bundle}, ""};
    }
    // The container stops when its process is done, as `runc run --keep` leaves it.
    auto user_hook = script.on_communicate;
    script.on_communicate = [this, id, user_hook](const CommunicateOptions& o) {
      if (user_hook) user_hook(o);
      std::lock_guard<std::mutex> lock(mu_);
      auto it = containers_.find(id);
      if (it != containers_.end()) it->second.state.status = ContainerStatus::kStopped;
    };
    return std::unique_ptr<daemon::runtime::Child>(
        std::make_unique<FakeChild>(std::move(script), log_, 5000));
  }

  Result<ContainerState> State(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("state " + id);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFoundError("container '" + id + "' does not exist");
    return it->second.state;
  }

  Status Kill(const std::string& id, int signal, bool all) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("kill " + id + " " + std::to_string(signal) + (all ? " all" : ""));
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFoundError("container '" + id + "' does not exist");
    if (it->second.state.status != ContainerStatus::kRunning) {
      return InternalError("container not running");
    }
    if (signal == SIGKILL || !ignores_sigterm) it->second.state.status = ContainerStatus::kStopped;
    return Status::Ok();
  }

  Status Delete(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("delete " + id);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFoundError("container '" + id + "' does not exist");
    if (it->second.state.status == ContainerStatus::kRunning) {
      return InternalError("cannot delete container '" + id + "' that is not stopped");
    }
    RemoveLocked(it);
    return Status::Ok();
  }

  Result<std::vector<ContainerState>> List() override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("list");
    std::vector<ContainerState> out;
    for (const auto& [id, c] : containers_) out.push_back(c.state);
    return out;
  }

  Status Destroy(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("destroy " + id);
    auto it = containers_.find(id);
    if (it != containers_.end()) RemoveLocked(it);
    return Status::Ok();
  }

  Result<std::unique_ptr<daemon::runtime::Child>> Exec(const std::string& id,
                                                       const ExecOptions& options) override {
    FakeProcessScript script = exec_script(id, options);
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("exec " + id);
    execs_.push_back(options);
    auto it = containers_.find(id);
    if (it == containers_.end() || it->second.state.status != ContainerStatus::kRunning) {
      return InternalError("exec in '" + id + "': container not running");
    }
    if (!script.spawn_error.ok()) return script.spawn_error;
    return std::unique_ptr<daemon::runtime::Child>(
        std::make_unique<FakeChild>(std::move(script), log_, 5000));
  }

  // A container as an earlier process (or a crash) left it.
  void AddContainer(const std::string& id, ContainerStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    containers_[id] = {{id, status, 4242, "/elsewhere/" + id}, ""};
  }
  // The container's init died on its own (OOM, killed from the host).
  void SetStatus(const std::string& id, ContainerStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    containers_.at(id).state.status = status;
  }
  bool Has(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return containers_.count(id) > 0;
  }
  size_t container_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return containers_.size();
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<ExecOptions> execs() {
    std::lock_guard<std::mutex> lock(mu_);
    return execs_;
  }
  // The RunIo of every Run(), in order.
  std::vector<daemon::runtime::RunIo> run_io() {
    std::lock_guard<std::mutex> lock(mu_);
    return run_io_;
  }
  std::shared_ptr<FakeProcessLog> log() { return log_; }

 private:
  struct Container {
    ContainerState state;
    std::string cgroup;  // empty without a FakeCgroupFs
  };

  void RemoveLocked(std::map<std::string, Container>::iterator it) {
    if (cgroups_ != nullptr && !it->second.cgroup.empty()) {
      (void)cgroups_->Remove(it->second.cgroup);
    }
    containers_.erase(it);
  }

  FakeCgroupFs* cgroups_ = nullptr;
  Env* files_ = nullptr;
  std::mutex mu_;
  std::map<std::string, Container> containers_;
  std::vector<std::string> calls_;
  std::vector<ExecOptions> execs_;
  std::vector<daemon::runtime::RunIo> run_io_;
  std::vector<std::string> output_files_;
  std::shared_ptr<FakeProcessLog> log_ = std::make_shared<FakeProcessLog>();
};

}  // namespace nexus::testing
