#include "gateway/daemon_client.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <optional>
#include <string_view>
#include <vector>

#include "gateway/async_slot.h"
#include "gateway/download_frame.h"
#include "gateway/grpc_call.h"
#include "nexus/daemon/v1/daemon.grpc.pb.h"

namespace nexus::gateway {
namespace {

using Callback = std::function<void(grpc::Status)>;

// nexusd sends downloads in 1 MiB messages and accepts up to 8 MiB; leave
// room above both rather than meet gRPC's 4 MiB default by surprise.
constexpr int kMaxReceiveMessageBytes = 16 << 20;
// Other channel settings for the download stream were measured and left at
// gRPC's defaults: a 4 MiB HTTP/2 window (lookahead), 1 MiB frames and 1 MiB
// socket reads changed neither throughput nor CPU beyond run-to-run noise
// (BDP probing already opens the window on this path).

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

// ---- DownloadFile / DownloadPath: a server stream read as raw bytes ---------
//
// Called through the generic stub (the wire is the same as the generated
// stub's), so messages arrive as gRPC's received slices: a data message's
// payload is copied once, straight into the caller's reused buffer
// (download_frame.h), instead of being parsed into a fresh payload-sized
// protobuf string per message. The reactor keeps exactly one read in flight:
// it starts reading the next message as soon as the caller took the last,
// so receiving overlaps the caller's write to its client, and a slow client
// stops the stream after one message (gRPC's flow control then holds nexusd).
// Same lifetime and hold rules as UploadReactor.
class DownloadReactor final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                              public std::enable_shared_from_this<DownloadReactor> {
 public:
  void Start(grpc::GenericStub& stub, const std::string& method, grpc::ByteBuffer request) {
    self_ = shared_from_this();
    request_ = std::move(request);
    stub.PrepareBidiStreamingCall(&context_, method, grpc::StubOptions(), this);
    AddHold();
    // The request, then the half-close, as the generated stub would send them.
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&incoming_);
    StartCall();
  }

  // Waits for the message read ahead and moves it to `*out` (its old
  // contents are dropped); then reads the next one ahead.
  asio::awaitable<bool> Read(grpc::ByteBuffer* out) {
    bool ok = co_await read_done_.Take();
    if (ok) {
      out->Swap(&incoming_);
      incoming_.Clear();
      StartRead(&incoming_);
    }
    co_return ok;
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
  grpc::ByteBuffer request_;
  grpc::ByteBuffer incoming_;  // the read in flight
  AsyncSlot<bool> read_done_;
  AsyncSlot<grpc::Status> done_;
  std::atomic<bool> hold_released_{false};
  std::shared_ptr<DownloadReactor> self_;
};

class GrpcDownloadCall final : public DownloadCall {
 public:
  GrpcDownloadCall(std::shared_ptr<DownloadReactor> reactor, const char* method)
      : reactor_(std::move(reactor)), method_(method) {}
  ~GrpcDownloadCall() override {
    if (!over_) reactor_->Cancel();
  }

  asio::awaitable<Result<bool>> Read(daemonpb::DownloadResponse* msg) override {
    Result<bool> got = co_await Next();
    if (!got.ok() || !*got) co_return got;
    co_return Parse(msg);
  }

  asio::awaitable<Result<bool>> ReadData(std::string* data) override {
    Result<bool> got = co_await Next();
    if (!got.ok() || !*got) co_return got;
    slices_.clear();
    pieces_.clear();
    if (message_.Dump(&slices_).ok()) {
      for (const grpc::Slice& s : slices_) {
        pieces_.emplace_back(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      if (std::optional<DataPayload> payload = DownloadDataPayload(pieces_, message_.Length())) {
        // resize only changes anything for a message of another size (the
        // last one, usually): the buffer is reused, not zeroed again.
        data->resize(payload->length);
        CopyFromPieces(pieces_, payload->offset, payload->length, data->data());
        co_return true;
      }
    }
    // Not the plain data layout: let protobuf decide what it is.
    daemonpb::DownloadResponse msg;
    Result<bool> parsed = Parse(&msg);
    if (!parsed.ok()) co_return parsed;
    if (!msg.has_data()) co_return InternalError("a second header message");
    data->swap(*msg.mutable_data());
    co_return true;
  }

 private:
  // The next raw message into message_.
  asio::awaitable<Result<bool>> Next() {
    if (over_) co_return false;
    bool ok = co_await reactor_->Read(&message_);
    if (ok) co_return true;
    over_ = true;
    grpc::Status status = co_await reactor_->Finished();
    if (!status.ok()) co_return BackendError("daemon", method_, status);
    co_return false;
  }

  Result<bool> Parse(daemonpb::DownloadResponse* msg) {
    grpc::Status s =
        grpc::SerializationTraits<daemonpb::DownloadResponse>::Deserialize(&message_, msg);
    if (!s.ok()) {
      return BackendError(
          "daemon", method_,
          grpc::Status(grpc::StatusCode::INTERNAL, "malformed message: " + s.error_message()));
    }
    return true;
  }

  std::shared_ptr<DownloadReactor> reactor_;
  const char* method_;
  bool over_ = false;
  grpc::ByteBuffer message_;         // the message being looked at
  std::vector<grpc::Slice> slices_;  // its slices (references, not copies)
  std::vector<std::string_view> pieces_;
};

// Starts a download of `request` through the generic stub.
template <typename Req>
std::unique_ptr<DownloadCall> BeginDownload(grpc::GenericStub& stub, const char* method,
                                            const Req& request) {
  grpc::ByteBuffer serialized;
  bool own_buffer = false;
  grpc::Status s = grpc::SerializationTraits<Req>::Serialize(request, &serialized, &own_buffer);
  // Serializing a message we just built fails only on a bug (or a 2 GiB request).
  assert(s.ok());
  auto reactor = std::make_shared<DownloadReactor>();
  reactor->Start(stub, std::string("/") + daemonpb::Daemon::service_full_name() + "/" + method,
                 std::move(serialized));
  return std::make_unique<GrpcDownloadCall>(std::move(reactor), method);
}

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
      : stub_(daemonpb::Daemon::NewStub(channel)), generic_(channel), timeout_(timeout) {}

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
    return BeginDownload(generic_, "DownloadFile", request);
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
    return BeginDownload(generic_, "DownloadPath", request);
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
  grpc::GenericStub generic_;  // downloads (raw messages)
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
