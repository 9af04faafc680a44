#include "gateway/backends/daemon_client.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <optional>

#include "gateway/backends/completion_queue_threads.h"
#include "gateway/backends/daemon_streams.h"
#include "gateway/backends/grpc_call.h"
#include "nexus/daemon/v1/files.grpc.pb.h"
#include "nexus/daemon/v1/health.grpc.pb.h"
#include "nexus/daemon/v1/lambda.grpc.pb.h"
#include "nexus/daemon/v1/metrics.grpc.pb.h"
#include "nexus/daemon/v1/nodes.grpc.pb.h"
#include "nexus/daemon/v1/tree.grpc.pb.h"

namespace nexus::gateway {
namespace {

// nexusd sends downloads in 1 MiB messages and accepts up to 8 MiB; leave
// room above both rather than meet gRPC's 4 MiB default by surprise.
constexpr int kMaxReceiveMessageBytes = 16 << 20;
// Other channel settings for the download stream were measured and left at
// gRPC's defaults: a 4 MiB HTTP/2 window (lookahead), 1 MiB frames and 1 MiB
// socket reads changed neither throughput nor CPU beyond run-to-run noise
// (BDP probing already opens the window on this path).

// Threads completing nexusd calls. Two, so that while one is busy receiving
// a download's messages (the polling thread does that work) the other hands
// out the completions of the other calls.
constexpr int kQueueThreads = 2;

// Added to a lambda run's own time limit for its call deadline: a cold
// sandbox start and the answer's trip back. When the request names no limit,
// nexusd's configured default applies, which is at most its maximum
// (60 s by default): wait for that.
constexpr std::chrono::milliseconds kLambdaStartMargin(15000);
constexpr std::chrono::milliseconds kLambdaUnknownLimit(60000);

// An exec without a limit gets nexusd's default (30 s); the margin covers
// `runc exec` starting and the answer's trip back. Limits past nexusd's
// maximum are refused there, so the clamp only keeps the sum finite.
constexpr std::chrono::milliseconds kNodeExecUnknownLimit(30000);
constexpr std::chrono::milliseconds kNodeExecMargin(10000);
constexpr int64_t kNodeExecLimitClampMs = 24LL * 3600 * 1000;

class GrpcDaemonClient final : public DaemonClient {
 public:
  GrpcDaemonClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout,
                   BackendMetrics* metrics)
      : health_(daemonpb::Health::NewStub(channel)),
        metrics_stub_(daemonpb::Metrics::NewStub(channel)),
        files_(daemonpb::Files::NewStub(channel)),
        tree_(daemonpb::Tree::NewStub(channel)),
        nodes_(daemonpb::Nodes::NewStub(channel)),
        lambda_(daemonpb::Lambda::NewStub(channel)),
        generic_(channel),
        timeout_(timeout),
        metrics_(metrics) {}

  asio::awaitable<Result<daemonpb::HealthResponse>> Health(daemonpb::HealthRequest r) override {
    return Call(*health_, &daemonpb::Health::Stub::PrepareAsyncCheck, std::move(r), "Health");
  }

  asio::awaitable<Result<daemonpb::CollectMetricsResponse>> CollectMetrics(
      daemonpb::CollectMetricsRequest r) override {
    return Call(*metrics_stub_, &daemonpb::Metrics::Stub::PrepareAsyncCollect, std::move(r),
                "CollectMetrics");
  }

  // ---- Files ----
  asio::awaitable<Result<std::unique_ptr<UploadCall>>> StartUpload(
      daemonpb::UploadHeader header) override {
    return BeginUpload(files_, queue_.queue(), std::move(header), Series("UploadFile"));
  }
  asio::awaitable<Result<daemonpb::ListFilesResponse>> ListFiles(
      daemonpb::ListFilesRequest r) override {
    return Call(*files_, &daemonpb::Files::Stub::PrepareAsyncListFiles, std::move(r), "ListFiles");
  }
  asio::awaitable<Result<daemonpb::FileInfo>> GetFile(daemonpb::GetFileRequest r) override {
    return Call(*files_, &daemonpb::Files::Stub::PrepareAsyncGetFile, std::move(r), "GetFile");
  }
  std::unique_ptr<DownloadCall> DownloadFile(daemonpb::DownloadFileRequest r) override {
    return BeginDownload(generic_, queue_.queue(), daemonpb::Files::service_full_name(),
                         "DownloadFile", r, Series("DownloadFile"));
  }
  asio::awaitable<Result<daemonpb::DeleteFileResponse>> DeleteFile(
      daemonpb::DeleteFileRequest r) override {
    return Call(*files_, &daemonpb::Files::Stub::PrepareAsyncDeleteFile, std::move(r),
                "DeleteFile");
  }

  // ---- Tree ----
  asio::awaitable<Result<daemonpb::MakeDirectoryResponse>> MakeDirectory(
      daemonpb::MakeDirectoryRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncMakeDirectory, std::move(r),
                "MakeDirectory");
  }
  asio::awaitable<Result<daemonpb::ListDirectoryResponse>> ListDirectory(
      daemonpb::ListDirectoryRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncListDirectory, std::move(r),
                "ListDirectory");
  }
  asio::awaitable<Result<daemonpb::DeletePathResponse>> DeletePath(
      daemonpb::DeletePathRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncDeletePath, std::move(r), "DeletePath");
  }
  asio::awaitable<Result<daemonpb::MovePathResponse>> MovePath(
      daemonpb::MovePathRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncMovePath, std::move(r), "MovePath");
  }
  std::unique_ptr<DownloadCall> DownloadPath(daemonpb::DownloadPathRequest r) override {
    return BeginDownload(generic_, queue_.queue(), daemonpb::Tree::service_full_name(),
                         "DownloadPath", r, Series("DownloadPath"));
  }
  asio::awaitable<Result<daemonpb::Usage>> GetUsage(daemonpb::GetUsageRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncGetUsage, std::move(r), "GetUsage");
  }
  asio::awaitable<Result<daemonpb::DirEntry>> StatPath(daemonpb::StatPathRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncStatPath, std::move(r), "StatPath");
  }
  asio::awaitable<Result<daemonpb::CopyPathResponse>> CopyPath(
      daemonpb::CopyPathRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncCopyPath, std::move(r), "CopyPath");
  }
  asio::awaitable<Result<daemonpb::SetModifiedResponse>> SetModified(
      daemonpb::SetModifiedRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncSetModified, std::move(r),
                "SetModified");
  }
  asio::awaitable<Result<daemonpb::PatchPropsResponse>> PatchProps(
      daemonpb::PatchPropsRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncPatchProps, std::move(r), "PatchProps");
  }
  asio::awaitable<Result<daemonpb::ListPropsResponse>> ListProps(
      daemonpb::ListPropsRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncListProps, std::move(r), "ListProps");
  }
  asio::awaitable<Result<daemonpb::ActiveLock>> LockPath(daemonpb::LockPathRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncLockPath, std::move(r), "LockPath");
  }
  asio::awaitable<Result<daemonpb::ActiveLock>> RefreshLock(
      daemonpb::RefreshLockRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncRefreshLock, std::move(r),
                "RefreshLock");
  }
  asio::awaitable<Result<daemonpb::UnlockPathResponse>> UnlockPath(
      daemonpb::UnlockPathRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncUnlockPath, std::move(r), "UnlockPath");
  }
  asio::awaitable<Result<daemonpb::ListLocksResponse>> ListLocks(
      daemonpb::ListLocksRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncListLocks, std::move(r), "ListLocks");
  }

  // ---- S3 multipart uploads ----
  asio::awaitable<Result<daemonpb::MultipartUpload>> CreateMultipartUpload(
      daemonpb::CreateMultipartUploadRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncCreateMultipartUpload, std::move(r),
                "CreateMultipartUpload");
  }
  asio::awaitable<Result<daemonpb::MultipartPart>> UploadPartCopy(
      daemonpb::UploadPartCopyRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncUploadPartCopy, std::move(r),
                "UploadPartCopy", kMultipartTimeout);
  }
  asio::awaitable<Result<daemonpb::ListPartsResponse>> ListParts(
      daemonpb::ListPartsRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncListParts, std::move(r), "ListParts");
  }
  asio::awaitable<Result<daemonpb::ListMultipartUploadsResponse>> ListMultipartUploads(
      daemonpb::ListMultipartUploadsRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncListMultipartUploads, std::move(r),
                "ListMultipartUploads");
  }
  asio::awaitable<Result<daemonpb::DirEntry>> CompleteMultipartUpload(
      daemonpb::CompleteMultipartUploadRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncCompleteMultipartUpload, std::move(r),
                "CompleteMultipartUpload", kMultipartTimeout);
  }
  asio::awaitable<Result<daemonpb::AbortMultipartUploadResponse>> AbortMultipartUpload(
      daemonpb::AbortMultipartUploadRequest r) override {
    return Call(*tree_, &daemonpb::Tree::Stub::PrepareAsyncAbortMultipartUpload, std::move(r),
                "AbortMultipartUpload");
  }

  // ---- Lambda ----
  asio::awaitable<Result<daemonpb::RunLambdaResponse>> RunLambda(
      daemonpb::RunLambdaRequest r) override {
    const auto limit =
        r.timeout_ms() > 0 ? std::chrono::milliseconds(r.timeout_ms()) : kLambdaUnknownLimit;
    return Call(*lambda_, &daemonpb::Lambda::Stub::PrepareAsyncRunLambda, std::move(r), "RunLambda",
                timeout_ + limit + kLambdaStartMargin);
  }

  // ---- Nodes ----
  asio::awaitable<Result<daemonpb::Node>> CreateNode(daemonpb::CreateNodeRequest r) override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncCreateNode, std::move(r), "CreateNode",
                kNodeChangeTimeout);
  }
  asio::awaitable<Result<daemonpb::ListNodesResponse>> ListNodes(
      daemonpb::ListNodesRequest r) override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncListNodes, std::move(r), "ListNodes");
  }
  asio::awaitable<Result<daemonpb::Node>> GetNode(daemonpb::NodeRef r) override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncGetNode, std::move(r), "GetNode");
  }
  asio::awaitable<Result<daemonpb::Node>> StartNode(daemonpb::NodeRef r) override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncStartNode, std::move(r), "StartNode",
                kNodeChangeTimeout);
  }
  asio::awaitable<Result<daemonpb::Node>> StopNode(daemonpb::NodeRef r) override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncStopNode, std::move(r), "StopNode",
                kNodeChangeTimeout);
  }
  asio::awaitable<Result<daemonpb::DeleteNodeResponse>> DeleteNode(daemonpb::NodeRef r) override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncDeleteNode, std::move(r), "DeleteNode",
                kNodeChangeTimeout);
  }
  asio::awaitable<Result<daemonpb::NodeMetrics>> GetNodeMetrics(
      daemonpb::GetNodeMetricsRequest r) override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncGetNodeMetrics, std::move(r),
                "GetNodeMetrics");
  }
  asio::awaitable<Result<daemonpb::HostInfo>> GetHost() override {
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncGetHost, daemonpb::GetHostRequest(),
                "GetHost");
  }
  asio::awaitable<Result<daemonpb::ExecNodeResponse>> ExecNode(
      daemonpb::ExecNodeRequest r) override {
    const auto limit =
        r.timeout_ms() > 0
            ? std::chrono::milliseconds(std::min(r.timeout_ms(), kNodeExecLimitClampMs))
            : kNodeExecUnknownLimit;
    return Call(*nodes_, &daemonpb::Nodes::Stub::PrepareAsyncExecNode, std::move(r), "ExecNode",
                timeout_ + limit + kNodeExecMargin);
  }

 private:
  // Where the calls of `method` are counted, if anywhere.
  BackendCallSeries* Series(const char* method) {
    return metrics_ ? &metrics_->For(method) : nullptr;
  }

  // One unary call on `stub` with the backend deadline, or `timeout`.
  template <typename Stub, typename Req, typename Resp>
  asio::awaitable<Result<Resp>> Call(Stub& stub, PrepareUnary<Stub, Req, Resp> prepare, Req request,
                                     const char* method,
                                     std::optional<std::chrono::milliseconds> timeout = {}) {
    return StubCall(stub, prepare, queue_.queue(), std::move(request), timeout.value_or(timeout_),
                    "daemon", method, Series(method));
  }

  // Declared first, destroyed last: its threads drain every operation of the
  // stubs' calls.
  CompletionQueueThreads queue_{kQueueThreads};
  std::unique_ptr<daemonpb::Health::Stub> health_;
  std::unique_ptr<daemonpb::Metrics::Stub> metrics_stub_;
  std::shared_ptr<daemonpb::Files::Stub> files_;  // shared with the upload streams
  std::unique_ptr<daemonpb::Tree::Stub> tree_;
  std::unique_ptr<daemonpb::Nodes::Stub> nodes_;
  std::unique_ptr<daemonpb::Lambda::Stub> lambda_;
  grpc::GenericStub generic_;  // downloads (raw messages)
  std::chrono::milliseconds timeout_;
  BackendMetrics* metrics_;
};

}  // namespace

std::shared_ptr<grpc::Channel> MakeDaemonChannel(const std::string& target,
                                                 std::shared_ptr<grpc::ChannelCredentials> tls) {
  return MakeBackendChannel(target, kMaxReceiveMessageBytes, std::move(tls));
}

std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(const std::string& target,
                                                   std::chrono::milliseconds timeout,
                                                   BackendMetrics* metrics,
                                                   std::shared_ptr<grpc::ChannelCredentials> tls) {
  return std::make_unique<GrpcDaemonClient>(MakeDaemonChannel(target, std::move(tls)), timeout,
                                            metrics);
}

std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(std::shared_ptr<grpc::Channel> channel,
                                                   std::chrono::milliseconds timeout,
                                                   BackendMetrics* metrics) {
  return std::make_unique<GrpcDaemonClient>(std::move(channel), timeout, metrics);
}

}  // namespace nexus::gateway
