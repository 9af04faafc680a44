#include "gateway/backends/daemon_router.h"

#include <grpcpp/channel.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace nexus::gateway {
namespace {

// Nodes remembered with the daemon that last answered for them; past this
// the map starts afresh (a miss costs one redirect, never a wrong answer).
constexpr size_t kMaxRememberedNodes = 100000;

bool BackendDown(const Status& s) {
  return s.code() == StatusCode::kUnavailable && s.reason() == Reason::kBackendDown;
}

template <typename T>
bool BackendDown(const Result<T>& r) {
  return !r.ok() && BackendDown(r.status());
}

// A download that, when its first read finds its daemon down (nothing
// received yet), starts again on another daemon: `restart(failed)` makes
// the new call, or null when there is no other daemon.
class FailoverDownload final : public DownloadCall {
 public:
  using Restart = std::function<std::unique_ptr<DownloadCall>()>;
  FailoverDownload(std::unique_ptr<DownloadCall> call, Restart restart)
      : call_(std::move(call)), restart_(std::move(restart)) {}

  asio::awaitable<Result<bool>> Read(daemonpb::DownloadResponse* msg) override {
    Result<bool> got = co_await call_->Read(msg);
    if (co_await Retry(got)) got = co_await call_->Read(msg);
    co_return std::move(got);
  }
  asio::awaitable<Result<bool>> ReadData(std::string* data) override {
    Result<bool> got = co_await call_->ReadData(data);
    if (co_await Retry(got)) got = co_await call_->ReadData(data);
    co_return std::move(got);
  }

 private:
  // Whether the call was replaced and the read must be made again.
  asio::awaitable<bool> Retry(const Result<bool>& got) {
    const bool first = !read_;
    read_ = true;
    if (!first || !BackendDown(got)) co_return false;
    std::unique_ptr<DownloadCall> other = restart_();
    if (other == nullptr) co_return false;
    call_ = std::move(other);
    co_return true;
  }

  std::unique_ptr<DownloadCall> call_;
  Restart restart_;
  bool read_ = false;
};

class DaemonRouter final : public DaemonClient {
 public:
  explicit DaemonRouter(std::vector<RoutedDaemon> daemons) : daemons_(std::move(daemons)) {
    hosts_.resize(daemons_.size());
  }

  asio::awaitable<Result<daemonpb::HealthResponse>> Health(daemonpb::HealthRequest r) override {
    return Read([r](DaemonClient& c) { return c.Health(r); });
  }
  asio::awaitable<Result<daemonpb::CollectMetricsResponse>> CollectMetrics(
      daemonpb::CollectMetricsRequest r) override {
    // Always the first that answers, so the figures of one daemon are scraped.
    for (size_t i = 0; i < daemons_.size(); ++i) {
      if (i + 1 < daemons_.size() && !Reachable(i)) continue;
      auto got = co_await daemons_[i].client->CollectMetrics(r);
      if (!BackendDown(got) || i + 1 == daemons_.size()) co_return std::move(got);
    }
    co_return UnavailableError("daemon service unavailable").set_reason(Reason::kBackendDown);
  }

  // ---- Files and tree: any daemon ----
  asio::awaitable<Result<std::unique_ptr<UploadCall>>> StartUpload(
      daemonpb::UploadHeader h) override {
    // Refused at the start, an upload has sent nothing: another may take it.
    return Read([h](DaemonClient& c) { return c.StartUpload(h); });
  }
  asio::awaitable<Result<daemonpb::ListFilesResponse>> ListFiles(
      daemonpb::ListFilesRequest r) override {
    return Read([r](DaemonClient& c) { return c.ListFiles(r); });
  }
  asio::awaitable<Result<daemonpb::FileInfo>> GetFile(daemonpb::GetFileRequest r) override {
    return Read([r](DaemonClient& c) { return c.GetFile(r); });
  }
  std::unique_ptr<DownloadCall> DownloadFile(daemonpb::DownloadFileRequest r) override {
    return Download([r](DaemonClient& c) { return c.DownloadFile(r); });
  }
  asio::awaitable<Result<daemonpb::DeleteFileResponse>> DeleteFile(
      daemonpb::DeleteFileRequest r) override {
    return Any().DeleteFile(std::move(r));
  }
  asio::awaitable<Result<daemonpb::MakeDirectoryResponse>> MakeDirectory(
      daemonpb::MakeDirectoryRequest r) override {
    return Any().MakeDirectory(std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListDirectoryResponse>> ListDirectory(
      daemonpb::ListDirectoryRequest r) override {
    return Read([r](DaemonClient& c) { return c.ListDirectory(r); });
  }
  asio::awaitable<Result<daemonpb::DeletePathResponse>> DeletePath(
      daemonpb::DeletePathRequest r) override {
    return Any().DeletePath(std::move(r));
  }
  asio::awaitable<Result<daemonpb::MovePathResponse>> MovePath(
      daemonpb::MovePathRequest r) override {
    return Any().MovePath(std::move(r));
  }
  std::unique_ptr<DownloadCall> DownloadPath(daemonpb::DownloadPathRequest r) override {
    return Download([r](DaemonClient& c) { return c.DownloadPath(r); });
  }
  asio::awaitable<Result<daemonpb::Usage>> GetUsage(daemonpb::GetUsageRequest r) override {
    return Read([r](DaemonClient& c) { return c.GetUsage(r); });
  }
  asio::awaitable<Result<daemonpb::DirEntry>> StatPath(daemonpb::StatPathRequest r) override {
    return Read([r](DaemonClient& c) { return c.StatPath(r); });
  }
  asio::awaitable<Result<daemonpb::CopyPathResponse>> CopyPath(
      daemonpb::CopyPathRequest r) override {
    return Any().CopyPath(std::move(r));
  }
  asio::awaitable<Result<daemonpb::SetModifiedResponse>> SetModified(
      daemonpb::SetModifiedRequest r) override {
    return Any().SetModified(std::move(r));
  }
  asio::awaitable<Result<daemonpb::PatchPropsResponse>> PatchProps(
      daemonpb::PatchPropsRequest r) override {
    return Any().PatchProps(std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListPropsResponse>> ListProps(
      daemonpb::ListPropsRequest r) override {
    return Read([r](DaemonClient& c) { return c.ListProps(r); });
  }
  asio::awaitable<Result<daemonpb::ActiveLock>> LockPath(daemonpb::LockPathRequest r) override {
    return Any().LockPath(std::move(r));
  }
  asio::awaitable<Result<daemonpb::ActiveLock>> RefreshLock(
      daemonpb::RefreshLockRequest r) override {
    return Any().RefreshLock(std::move(r));
  }
  asio::awaitable<Result<daemonpb::UnlockPathResponse>> UnlockPath(
      daemonpb::UnlockPathRequest r) override {
    return Any().UnlockPath(std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListLocksResponse>> ListLocks(
      daemonpb::ListLocksRequest r) override {
    return Read([r](DaemonClient& c) { return c.ListLocks(r); });
  }
  asio::awaitable<Result<daemonpb::MultipartUpload>> CreateMultipartUpload(
      daemonpb::CreateMultipartUploadRequest r) override {
    return Any().CreateMultipartUpload(std::move(r));
  }
  asio::awaitable<Result<daemonpb::MultipartPart>> UploadPartCopy(
      daemonpb::UploadPartCopyRequest r) override {
    return Any().UploadPartCopy(std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListPartsResponse>> ListParts(
      daemonpb::ListPartsRequest r) override {
    return Read([r](DaemonClient& c) { return c.ListParts(r); });
  }
  asio::awaitable<Result<daemonpb::ListMultipartUploadsResponse>> ListMultipartUploads(
      daemonpb::ListMultipartUploadsRequest r) override {
    return Read([r](DaemonClient& c) { return c.ListMultipartUploads(r); });
  }
  asio::awaitable<Result<daemonpb::DirEntry>> CompleteMultipartUpload(
      daemonpb::CompleteMultipartUploadRequest r) override {
    return Any().CompleteMultipartUpload(std::move(r));
  }
  asio::awaitable<Result<daemonpb::AbortMultipartUploadResponse>> AbortMultipartUpload(
      daemonpb::AbortMultipartUploadRequest r) override {
    return Any().AbortMultipartUpload(std::move(r));
  }
  asio::awaitable<Result<daemonpb::RunLambdaResponse>> RunLambda(
      daemonpb::RunLambdaRequest r) override {
    return Any().RunLambda(std::move(r));
  }

  // ---- Nodes ----
  asio::awaitable<Result<daemonpb::ListNodesResponse>> ListNodes(
      daemonpb::ListNodesRequest r) override {
    // Every daemon lists every node of the user from the shared table.
    return Read([r](DaemonClient& c) { return c.ListNodes(r); });
  }
  asio::awaitable<Result<daemonpb::Node>> GetNode(daemonpb::NodeRef r) override {
    return ToNode(NodeKey(r), [r](DaemonClient& c) { return c.GetNode(r); });
  }
  asio::awaitable<Result<daemonpb::Node>> StartNode(daemonpb::NodeRef r) override {
    return ToNode(NodeKey(r), [r](DaemonClient& c) { return c.StartNode(r); });
  }
  asio::awaitable<Result<daemonpb::Node>> StopNode(daemonpb::NodeRef r) override {
    return ToNode(NodeKey(r), [r](DaemonClient& c) { return c.StopNode(r); });
  }
  asio::awaitable<Result<daemonpb::DeleteNodeResponse>> DeleteNode(daemonpb::NodeRef r) override {
    return ToNode(NodeKey(r), [r](DaemonClient& c) { return c.DeleteNode(r); });
  }
  asio::awaitable<Result<daemonpb::ExecNodeResponse>> ExecNode(
      daemonpb::ExecNodeRequest r) override {
    return ToNode(NodeKey(r.owner(), r.id()), [r](DaemonClient& c) { return c.ExecNode(r); });
  }
  asio::awaitable<Result<daemonpb::NodeMetrics>> GetNodeMetrics(
      daemonpb::GetNodeMetricsRequest r) override {
    return ToNode(NodeKey(r.owner(), r.id()), [r](DaemonClient& c) { return c.GetNodeMetrics(r); });
  }
  asio::awaitable<Result<daemonpb::HostInfo>> GetHost() override {
    return Read([](DaemonClient& c) { return c.GetHost(); });
  }

  asio::awaitable<Result<daemonpb::Node>> CreateNode(daemonpb::CreateNodeRequest r) override {
    const int64_t wanted = r.memory_mb() << 20;
    std::optional<size_t> best;
    int64_t best_free = -1;
    bool any_answered = false;
    bool any_runs_nodes = false;
    for (size_t i = 0; i < daemons_.size(); ++i) {
      Result<daemonpb::HostInfo> host = co_await HostOf(i);
      if (!host.ok()) continue;
      any_answered = true;
      if (!host->nodes_available()) continue;
      any_runs_nodes = true;
      const int64_t free = host->memory_free_bytes();
      if (free >= wanted && free > best_free) {
        best = i;
        best_free = free;
      }
    }
    if (!best) {
      if (!any_answered) {
        co_return UnavailableError("daemon service unavailable").set_reason(Reason::kBackendDown);
      }
      if (!any_runs_nodes) {
        co_return UnavailableError("no daemon here can run nodes")
            .set_reason(Reason::kNodesUnsupportedHere);
      }
      co_return QuotaExceededError("no host has room for a node of this size");
    }
    Result<daemonpb::Node> made = co_await daemons_[*best].client->CreateNode(r);
    if (made.ok()) Remember(NodeKey(r.owner(), r.name()), *best);
    co_return std::move(made);
  }

 private:
  static std::string NodeKey(const std::string& owner, const std::string& id) {
    return owner + '/' + id;
  }
  static std::string NodeKey(const daemonpb::NodeRef& r) { return NodeKey(r.owner(), r.id()); }

  // Whether daemon i's channel is not known to be down (asking also makes an
  // idle channel connect, so a daemon that came back is found).
  bool Reachable(size_t i) const {
    const auto& channel = daemons_[i].channel;
    return channel == nullptr ||
           channel->GetState(/*try_to_connect=*/true) != GRPC_CHANNEL_TRANSIENT_FAILURE;
  }

  // The next daemon in turn that is not known to be down; the next in turn
  // when all are.
  size_t Pick(std::optional<size_t> not_this = std::nullopt) {
    size_t start;
    {
      std::lock_guard<std::mutex> lock(mu_);
      start = next_++ % daemons_.size();
    }
    for (size_t k = 0; k < daemons_.size(); ++k) {
      const size_t i = (start + k) % daemons_.size();
      if (i != not_this && Reachable(i)) return i;
    }
    if (not_this && daemons_.size() > 1 && start == *not_this) return (start + 1) % daemons_.size();
    return start;
  }
  DaemonClient& Any() { return *daemons_[Pick()].client; }

  // A download on the next daemon, started again on another when its first
  // read finds that one down (FailoverDownload).
  template <typename Start>
  std::unique_ptr<DownloadCall> Download(Start start) {
    const size_t first = Pick();
    return std::make_unique<FailoverDownload>(
        start(*daemons_[first].client), [this, first, start]() -> std::unique_ptr<DownloadCall> {
          const size_t second = Pick(first);
          return second == first ? nullptr : start(*daemons_[second].client);
        });
  }

  // A call that only reads: once more on another daemon if the first was
  // down.
  template <typename Call>
  auto Read(Call call) -> decltype(call(std::declval<DaemonClient&>())) {
    const size_t first = Pick();
    auto got = co_await call(*daemons_[first].client);
    if (!BackendDown(got) || daemons_.size() == 1) co_return std::move(got);
    const size_t second = Pick(first);
    if (second == first) co_return std::move(got);
    co_return co_await call(*daemons_[second].client);
  }

  // A call for one node: first to the daemon remembered for it (else any),
  // then, when that one says the node lives on another host, to that host's.
  template <typename Call>
  auto ToNode(std::string key, Call call) -> decltype(call(std::declval<DaemonClient&>())) {
    size_t first = Pick();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = node_daemon_.find(key); it != node_daemon_.end()) first = it->second;
    }
    auto got = co_await call(*daemons_[first].client);
    if ((BackendDown(got) || got.status().reason() == Reason::kNodesUnsupportedHere) &&
        daemons_.size() > 1) {
      // Safe to send again: only the daemon of the node's host carries a
      // call out, and if that was the one down, the next sends it back there.
      // A daemon that cannot run nodes has none: another knows the host.
      first = Pick(first);
      got = co_await call(*daemons_[first].client);
    }
    if (got.ok() || got.status().reason() != Reason::kNodeOnOtherHost) {
      if (got.ok()) Remember(key, first);
      co_return std::move(got);
    }
    const std::string host = got.status().node_host();
    std::optional<size_t> owner = co_await DaemonOfHost(host);
    if (!owner || *owner == first) {
      spdlog::warn("node {}: its host {} has no daemon among gateway.daemons that answers", key,
                   host);
      co_return UnavailableError("the host of this node (" + host + ") is unreachable")
          .set_reason(Reason::kBackendDown);
    }
    auto routed = co_await call(*daemons_[*owner].client);
    if (routed.ok()) Remember(key, *owner);
    co_return std::move(routed);
  }

  void Remember(const std::string& key, size_t daemon) {
    std::lock_guard<std::mutex> lock(mu_);
    if (node_daemon_.size() >= kMaxRememberedNodes) node_daemon_.clear();
    node_daemon_[key] = daemon;
  }

  // Daemon i's host, asked afresh (free memory changes with every node).
  asio::awaitable<Result<daemonpb::HostInfo>> HostOf(size_t i) {
    if (!Reachable(i)) {
      co_return UnavailableError("daemon " + daemons_[i].address + " unavailable")
          .set_reason(Reason::kBackendDown);
    }
    Result<daemonpb::HostInfo> got = co_await daemons_[i].client->GetHost();
    if (got.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      hosts_[i] = got->host();
    } else {
      spdlog::warn("daemon {}: host info: {}", daemons_[i].address, got.status().message());
    }
    co_return std::move(got);
  }

  // The daemon whose host is `host`: from what was learned, else asking
  // every daemon whose host is not known yet or that may have changed it.
  asio::awaitable<std::optional<size_t>> DaemonOfHost(const std::string& host) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < hosts_.size(); ++i) {
        if (hosts_[i] == host) co_return i;
      }
    }
    for (size_t i = 0; i < daemons_.size(); ++i) {
      Result<daemonpb::HostInfo> got = co_await HostOf(i);
      if (got.ok() && got->host() == host) co_return i;
    }
    co_return std::nullopt;
  }

  const std::vector<RoutedDaemon> daemons_;
  std::mutex mu_;
  size_t next_ = 0;                                      // round robin
  std::vector<std::string> hosts_;                       // daemon i's host, once known
  std::unordered_map<std::string, size_t> node_daemon_;  // "<owner>/<id>" -> daemon
};

}  // namespace

std::unique_ptr<DaemonClient> MakeDaemonRouter(std::vector<RoutedDaemon> daemons) {
  return std::make_unique<DaemonRouter>(std::move(daemons));
}

}  // namespace nexus::gateway
