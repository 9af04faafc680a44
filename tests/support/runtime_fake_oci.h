// FakeOciRuntime and FakeCgroupFs: in-memory stand-ins for runc and the
// host's cgroup filesystem (daemon/runtime/oci_runtime.h, cgroups.h).
//
// FakeOciRuntime keeps a map of containers and a log of calls ("run <id>",
// "kill <id> 9 all", "delete <id>", ...). Run() hands out a FakeChild whose
// behaviour `run_script` decides from the id and bundle; when that child's
// Communicate() returns, the container is "stopped", as with runc.
// FakeCgroupFs answers OomKilled from a set the test fills and records
// removals. Both are thread-safe (one mutex each).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "support/runtime_fake_process.h"

namespace nexus::testing {

using daemon::runtime::CgroupFs;
using daemon::runtime::ContainerState;
using daemon::runtime::ContainerStatus;
using daemon::runtime::OciRuntime;

class FakeOciRuntime final : public OciRuntime {
 public:
  // What the container's process does; default: the supervisor reports exit 0.
  std::function<FakeProcessScript(const std::string& id, const std::string& bundle)> run_script =
      [](const std::string&, const std::string&) {
        FakeProcessScript s;
        s.outcome.exit_code = 0;
        s.outcome.control_data = "ready\nexit 0 1\n";
        return s;
      };

  Status Create(const std::string& id, const std::string& bundle, const std::string&) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("create " + id);
    if (containers_.count(id)) return AlreadyExistsError("container '" + id + "' exists");
    containers_[id] = {id, ContainerStatus::kCreated, 4242, bundle};
    return Status::Ok();
  }

  Status Start(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("start " + id);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFoundError("container '" + id + "' does not exist");
    it->second.status = ContainerStatus::kRunning;
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
      containers_[id] = {id, ContainerStatus::kRunning, 4242, bundle};
    }
    // The container stops when its process is done, as `runc run --keep` leaves it.
    auto user_hook = script.on_communicate;
    script.on_communicate = [this, id, user_hook](const CommunicateOptions& o) {
      if (user_hook) user_hook(o);
      std::lock_guard<std::mutex> lock(mu_);
      auto it = containers_.find(id);
      if (it != containers_.end()) it->second.status = ContainerStatus::kStopped;
    };
    return std::unique_ptr<daemon::runtime::Child>(
        std::make_unique<FakeChild>(std::move(script), log_, 5000));
  }

  Result<ContainerState> State(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("state " + id);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFoundError("container '" + id + "' does not exist");
    return it->second;
  }

  Status Kill(const std::string& id, int signal, bool all) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("kill " + id + " " + std::to_string(signal) + (all ? " all" : ""));
    if (!containers_.count(id)) return NotFoundError("container '" + id + "' does not exist");
    return Status::Ok();
  }

  Status Delete(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("delete " + id);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NotFoundError("container '" + id + "' does not exist");
    if (it->second.status == ContainerStatus::kRunning) {
      return InternalError("cannot delete container '" + id + "' that is not stopped");
    }
    containers_.erase(it);
    return Status::Ok();
  }

  Result<std::vector<ContainerState>> List() override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("list");
    std::vector<ContainerState> out;
    for (const auto& [id, state] : containers_) out.push_back(state);
    return out;
  }

  Status Destroy(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("destroy " + id);
    containers_.erase(id);
    return Status::Ok();
  }

  // Adds a container as if an earlier process had left it behind.
  void AddContainer(const std::string& id, ContainerStatus status) {
    std::lock_guard<std::mutex> lock(mu_);
    containers_[id] = {id, status, 4242, "/elsewhere/" + id};
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  size_t container_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return containers_.size();
  }
  std::shared_ptr<FakeProcessLog> log() { return log_; }
  // The RunIo of every Run(), in order.
  std::vector<daemon::runtime::RunIo> run_io() {
    std::lock_guard<std::mutex> lock(mu_);
    return run_io_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, ContainerState> containers_;
  std::vector<std::string> calls_;
  std::vector<daemon::runtime::RunIo> run_io_;
  std::shared_ptr<FakeProcessLog> log_ = std::make_shared<FakeProcessLog>();
};

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

}  // namespace nexus::testing
