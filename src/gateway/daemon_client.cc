#include "gateway/daemon_client.h"

#include <algorithm>
#include <atomic>

#include "gateway/async_slot.h"
#include "gateway/grpc_call.h"
#include "nexus/daemon/v1/daemon.grpc.pb.h"

namespace nexus::gateway {
namespace {

using Callback = std::function<void(grpc::Status)>;

// nexusd sends downloads in 1 MiB messages and accepts up to 8 MiB; leave
// room above both rather than meet gRPC's 4 MiB default by surprise.
constexpr int kMaxReceiveMessageBytes = 16 << 20;

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

// ---- UploadFile: a client-streaming reactor ----------------------------------
//
// Lives until gRPC calls OnDone (it holds a reference to itself until then),
// whatever happens to the UploadCall that drives it. A hold keeps OnDone from
// running while the driver may still start a write from outside a reaction;
// it is released once the driver is done issuing operations.
class UploadReactor final : public grpc::ClientWriteReactor<daemonpb::UploadFileRequest>,
                            public std::enable_shared_from_this<UploadReactor> {
 public:
  void Start(daemonpb::Daemon::Stub& stub, daemonpb::UploadHeader header) {
    self_ = shared_from_this();
    stub.async()->UploadFile(&context_, &response_, this);
    *message_.mutable_header() = std::move(header);
    AddHold();
    StartWrite(&message_);
    StartCall();
  }

  // Sends `*data`; see UploadCall::Write.
  asio::awaitable<bool> Write(std::string* data) {
    message_.mutable_data()->swap(*data);
    StartWrite(&message_);
    bool ok = co_await write_done_.Take();
    data->swap(*message_.mutable_data());
    data->clear();
    co_return ok;
  }

  // Sends the trailing path message; see UploadCall::SendPath.
  asio::awaitable<bool> WritePath(std::string path) {
    message_.set_vfs_path(std::move(path));
    StartWrite(&message_);
    co_return co_await write_done_.Take();
  }

  asio::awaitable<bool> HeaderSent() { return write_done_.Take(); }

  void CloseStream() {
    StartWritesDone();
    ReleaseHold();
  }

  void Cancel() {
    context_.TryCancel();
    ReleaseHold();
  }

  // The final status; the driver must have released the hold.
  asio::awaitable<grpc::Status> Done() { return done_.Take(); }

  daemonpb::FileInfo& response() { return response_; }

  void ReleaseHold() {
    if (!hold_released_.exchange(true)) RemoveHold();
  }

 private:
  void OnWriteDone(bool ok) override { write_done_.Set(ok); }
  void OnDone(const grpc::Status& status) override {
    done_.Set(status);
    auto last = std::move(self_);  // may destroy *this: touch nothing after
  }

  grpc::ClientContext context_;
  daemonpb::UploadFileRequest message_;
  daemonpb::FileInfo response_;
  AsyncSlot<bool> write_done_;
  AsyncSlot<grpc::Status> done_;
  std::atomic<bool> hold_released_{false};
  std::shared_ptr<UploadReactor> self_;
};

class GrpcUploadCall final : public UploadCall {
 public:
  explicit GrpcUploadCall(std::shared_ptr<UploadReactor> reactor) : reactor_(std::move(reactor)) {}
  ~GrpcUploadCall() override {
    if (!over_) reactor_->Cancel();
  }

  asio::awaitable<Status> Write(std::string* data) override {
    if (over_) co_return InternalError("upload: write after the call ended");
    bool ok = co_await reactor_->Write(data);
    if (ok) co_return Status::Ok();
    co_return co_await Failed();
  }

  asio::awaitable<Status> SendPath(std::string path) override {
    if (over_) co_return InternalError("upload: path after the call ended");
    bool ok = co_await reactor_->WritePath(std::move(path));
    if (ok) co_return Status::Ok();
    co_return co_await Failed();
  }

  asio::awaitable<Result<daemonpb::FileInfo>> Finish() override {
    if (over_) co_return InternalError("upload: finish after the call ended");
    over_ = true;
    reactor_->CloseStream();
    grpc::Status status = co_await reactor_->Done();
    if (!status.ok()) co_return BackendError("daemon", "UploadFile", status);
    co_return std::move(reactor_->response());
  }

  void Cancel() override {
    if (over_) return;
    over_ = true;
    reactor_->Cancel();
  }

  // The call broke while writing: nexusd's status says why.
  asio::awaitable<Status> Failed() {
    over_ = true;
    reactor_->ReleaseHold();
    grpc::Status status = co_await reactor_->Done();
    if (status.ok()) co_return UnavailableError("daemon service ended the upload early");
    co_return BackendError("daemon", "UploadFile", status);
  }

 private:
  std::shared_ptr<UploadReactor> reactor_;
  bool over_ = false;
};

// ---- DownloadFile / DownloadPath: a server-streaming reactor -----------------
//
// Same lifetime and hold rules as UploadReactor. `Req` is the request type;
// it is kept here because gRPC reads it after Start returns.
template <typename Req>
class DownloadReactor final : public grpc::ClientReadReactor<daemonpb::DownloadResponse>,
                              public std::enable_shared_from_this<DownloadReactor<Req>> {
 public:
  using StartFn = void (daemonpb::Daemon::Stub::async_interface::*)(
      grpc::ClientContext*, const Req*, grpc::ClientReadReactor<daemonpb::DownloadResponse>*);

  void Start(daemonpb::Daemon::Stub& stub, StartFn start, Req request) {
    self_ = this->shared_from_this();
    request_ = std::move(request);
    (stub.async()->*start)(&context_, &request_, this);
    AddHold();
    StartCall();
  }

  asio::awaitable<bool> Read(daemonpb::DownloadResponse* msg) {
    StartRead(msg);
    return read_done_.Take();
  }

  asio::awaitable<grpc::Status> Finished() {
    ReleaseHold();
    return done_.Take();
  }

  void Cancel() {
    context_.TryCancel();
    ReleaseHold();
  }

 private:
  void ReleaseHold() {
    if (!hold_released_.exchange(true)) RemoveHold();
  }
  void OnReadDone(bool ok) override { read_done_.Set(ok); }
  void OnDone(const grpc::Status& status) override {
    done_.Set(status);
    auto last = std::move(self_);  // may destroy *this: touch nothing after
  }

  grpc::ClientContext context_;
  Req request_;
  AsyncSlot<bool> read_done_;
  AsyncSlot<grpc::Status> done_;
  std::atomic<bool> hold_released_{false};
  std::shared_ptr<DownloadReactor> self_;
};

template <typename Req>
class GrpcDownloadCall final : public DownloadCall {
 public:
  GrpcDownloadCall(std::shared_ptr<DownloadReactor<Req>> reactor, const char* method)
      : reactor_(std::move(reactor)), method_(method) {}
  ~GrpcDownloadCall() override {
    if (!over_) reactor_->Cancel();
  }

  asio::awaitable<Result<bool>> Read(daemonpb::DownloadResponse* msg) override {
    if (over_) co_return false;
    bool ok = co_await reactor_->Read(msg);
    if (ok) co_return true;
    over_ = true;
    grpc::Status status = co_await reactor_->Finished();
    if (!status.ok()) co_return BackendError("daemon", method_, status);
    co_return false;
  }

 private:
  std::shared_ptr<DownloadReactor<Req>> reactor_;
  const char* method_;
  bool over_ = false;
};

// Starts an upload and waits for its header to be taken; a named coroutine
// (not a lambda: GCC 12, see STACK.md).
asio::awaitable<Result<std::unique_ptr<UploadCall>>> BeginUpload(
    std::shared_ptr<daemonpb::Daemon::Stub> stub, daemonpb::UploadHeader header) {
  auto reactor = std::make_shared<UploadReactor>();
  reactor->Start(*stub, std::move(header));
  auto call = std::make_unique<GrpcUploadCall>(reactor);
  bool sent = co_await reactor->HeaderSent();
  if (!sent) co_return co_await call->Failed();
  co_return std::unique_ptr<UploadCall>(std::move(call));
}

class GrpcDaemonClient final : public DaemonClient {
 public:
  GrpcDaemonClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
      : stub_(daemonpb::Daemon::NewStub(channel)), timeout_(timeout) {}

  asio::awaitable<Result<daemonpb::HealthResponse>> Health(
      daemonpb::HealthRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::HealthResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->Health(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "Health");
  }

  asio::awaitable<Result<std::unique_ptr<UploadCall>>> StartUpload(
      daemonpb::UploadHeader header) override {
    return BeginUpload(stub_, std::move(header));
  }

  asio::awaitable<Result<daemonpb::ListFilesResponse>> ListFiles(
      daemonpb::ListFilesRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::ListFilesResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->ListFiles(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "ListFiles");
  }

  asio::awaitable<Result<daemonpb::FileInfo>> GetFile(daemonpb::GetFileRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::FileInfo>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->GetFile(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "GetFile");
  }

  std::unique_ptr<DownloadCall> DownloadFile(daemonpb::DownloadFileRequest request) override {
    using Req = daemonpb::DownloadFileRequest;
    auto reactor = std::make_shared<DownloadReactor<Req>>();
    reactor->Start(*stub_, &daemonpb::Daemon::Stub::async_interface::DownloadFile,
                   std::move(request));
    return std::make_unique<GrpcDownloadCall<Req>>(std::move(reactor), "DownloadFile");
  }

  asio::awaitable<Result<daemonpb::DeleteFileResponse>> DeleteFile(
      daemonpb::DeleteFileRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::DeleteFileResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->DeleteFile(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "DeleteFile");
  }

  asio::awaitable<Result<daemonpb::MakeDirectoryResponse>> MakeDirectory(
      daemonpb::MakeDirectoryRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::MakeDirectoryResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->MakeDirectory(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "MakeDirectory");
  }

  asio::awaitable<Result<daemonpb::ListDirectoryResponse>> ListDirectory(
      daemonpb::ListDirectoryRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::ListDirectoryResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->ListDirectory(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "ListDirectory");
  }

  asio::awaitable<Result<daemonpb::DeletePathResponse>> DeletePath(
      daemonpb::DeletePathRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::DeletePathResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->DeletePath(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "DeletePath");
  }

  asio::awaitable<Result<daemonpb::MovePathResponse>> MovePath(
      daemonpb::MovePathRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::MovePathResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->MovePath(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "MovePath");
  }

  std::unique_ptr<DownloadCall> DownloadPath(daemonpb::DownloadPathRequest request) override {
    using Req = daemonpb::DownloadPathRequest;
    auto reactor = std::make_shared<DownloadReactor<Req>>();
    reactor->Start(*stub_, &daemonpb::Daemon::Stub::async_interface::DownloadPath,
                   std::move(request));
    return std::make_unique<GrpcDownloadCall<Req>>(std::move(reactor), "DownloadPath");
  }

  asio::awaitable<Result<daemonpb::Usage>> GetUsage(daemonpb::GetUsageRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::Usage>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->GetUsage(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "GetUsage");
  }

  asio::awaitable<Result<daemonpb::RunLambdaResponse>> RunLambda(
      daemonpb::RunLambdaRequest request) override {
    const auto limit = request.timeout_ms() > 0 ? std::chrono::milliseconds(request.timeout_ms())
                                                : kLambdaUnknownLimit;
    auto* async = stub_->async();
    return UnaryCall<daemonpb::RunLambdaResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->RunLambda(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_ + limit + kLambdaStartMargin, "daemon", "RunLambda");
  }

  asio::awaitable<Result<daemonpb::Node>> CreateNode(daemonpb::CreateNodeRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::Node>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->CreateNode(ctx, req, resp, std::move(cb));
        },
        std::move(request), kNodeChangeTimeout, "daemon", "CreateNode");
  }

  asio::awaitable<Result<daemonpb::ListNodesResponse>> ListNodes(
      daemonpb::ListNodesRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::ListNodesResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->ListNodes(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "ListNodes");
  }

  asio::awaitable<Result<daemonpb::Node>> GetNode(daemonpb::NodeRef request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::Node>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->GetNode(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "GetNode");
  }

  asio::awaitable<Result<daemonpb::Node>> StartNode(daemonpb::NodeRef request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::Node>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->StartNode(ctx, req, resp, std::move(cb));
        },
        std::move(request), kNodeChangeTimeout, "daemon", "StartNode");
  }

  asio::awaitable<Result<daemonpb::Node>> StopNode(daemonpb::NodeRef request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::Node>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->StopNode(ctx, req, resp, std::move(cb));
        },
        std::move(request), kNodeChangeTimeout, "daemon", "StopNode");
  }

  asio::awaitable<Result<daemonpb::DeleteNodeResponse>> DeleteNode(
      daemonpb::NodeRef request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::DeleteNodeResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->DeleteNode(ctx, req, resp, std::move(cb));
        },
        std::move(request), kNodeChangeTimeout, "daemon", "DeleteNode");
  }

  asio::awaitable<Result<daemonpb::NodeMetrics>> GetNodeMetrics(
      daemonpb::GetNodeMetricsRequest request) override {
    auto* async = stub_->async();
    return UnaryCall<daemonpb::NodeMetrics>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->GetNodeMetrics(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_, "daemon", "GetNodeMetrics");
  }

  asio::awaitable<Result<daemonpb::ExecNodeResponse>> ExecNode(
      daemonpb::ExecNodeRequest request) override {
    const auto limit =
        request.timeout_ms() > 0
            ? std::chrono::milliseconds(std::min(request.timeout_ms(), kNodeExecLimitClampMs))
            : kNodeExecUnknownLimit;
    auto* async = stub_->async();
    return UnaryCall<daemonpb::ExecNodeResponse>(
        [async](auto* ctx, auto* req, auto* resp, Callback cb) {
          async->ExecNode(ctx, req, resp, std::move(cb));
        },
        std::move(request), timeout_ + limit + kNodeExecMargin, "daemon", "ExecNode");
  }

 private:
  std::shared_ptr<daemonpb::Daemon::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(const std::string& target,
                                                   std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcDaemonClient>(MakeBackendChannel(target, kMaxReceiveMessageBytes),
                                            timeout);
}

std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(std::shared_ptr<grpc::Channel> channel,
                                                   std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcDaemonClient>(std::move(channel), timeout);
}

}  // namespace nexus::gateway
