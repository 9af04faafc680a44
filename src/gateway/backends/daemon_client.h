// DaemonClient: what the gateway asks of nexusd (the services of package
// nexus.daemon.v1: Health, Files, Tree, Nodes, Lambda), one method per RPC.
//
// Same conventions as AuthClient (auth_client.h): an interface with one fake
// (tests/support/gateway_recording_daemon_client.h), coroutine calls that
// never block an I/O thread, kUnavailable when nexusd is down. Unary calls
// carry the gateway's backend deadline (RunLambda: that plus the run's own
// time limit); the streaming transfers (UploadCall, DownloadCall) carry none,
// since a large file may take minutes: the HTTP side's read and write
// timeouts bound them instead. Implementations are thread-safe; one
// UploadCall or DownloadCall is driven by one coroutine at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "gateway/http/http_types.h"
#include "nexus/daemon/v1/common.pb.h"
#include "nexus/daemon/v1/files.pb.h"
#include "nexus/daemon/v1/health.pb.h"
#include "nexus/daemon/v1/lambda.pb.h"
#include "nexus/daemon/v1/metrics.pb.h"
#include "nexus/daemon/v1/nodes.pb.h"
#include "nexus/daemon/v1/tree.pb.h"

namespace grpc {
class Channel;
class ChannelCredentials;
}  // namespace grpc

namespace nexus::gateway {

class BackendMetrics;

namespace daemonpb = ::nexus::daemon::v1;

// A running UploadFile call (client stream). The header went out when the
// call was started; Write sends data messages; Finish ends the stream
// normally, which is what commits the file. Destroying the call without
// Finish, or Cancel, cancels it (TryCancel), and nexusd keeps nothing: never
// end a stream normally after a client went away or sent a broken body.
class UploadCall {
 public:
  virtual ~UploadCall() = default;
  // Sends `*data` as one data message: returns once gRPC has taken the
  // message before it, so one message is in flight while the caller reads
  // the next (flow control: no faster than nexusd accepts). `*data` comes
  // back cleared, its capacity kept for the next message. After a failure
  // (of this message or, found here, of the one before) the call is over;
  // the error is nexusd's answer (e.g. an invalid path) when there is one.
  virtual asio::awaitable<Status> Write(std::string* data) = 0;
  // Sends the tree path of an upload whose header said path_follows, after
  // its last data message. Failures as for Write.
  virtual asio::awaitable<Status> SendPath(std::string path) = 0;
  // Sends the S3 ETag to keep with the file, after its last data message
  // (and path): the MD5 of a multipart part (UploadHeader.
  // multipart_upload_id), which nexusd requires. Failures as for Write.
  virtual asio::awaitable<Status> SendS3Etag(std::string etag) = 0;
  // Ends the stream and waits for nexusd's answer: the committed file.
  virtual asio::awaitable<Result<daemonpb::FileInfo>> Finish() = 0;
  virtual void Cancel() = 0;
};

// A running DownloadFile / DownloadPath call (server stream). Destroying it
// before the stream ended cancels it. The gRPC implementation reads one
// message ahead of its caller (the next one is on its way while the caller
// writes the last to the client), never more: memory per download stays at
// two messages plus gRPC's flow-control window.
class DownloadCall {
 public:
  virtual ~DownloadCall() = default;
  // Reads the next message into `*msg`: true when one arrived, false when
  // the stream ended successfully, an error when the call failed (before the
  // header: nexusd's answer, e.g. kNotFound or kRangeNotSatisfiable).
  virtual asio::awaitable<Result<bool>> Read(daemonpb::DownloadResponse* msg) = 0;

  // Reads the next message, which must be a `data` message, and puts its
  // payload in `*data` (replacing the contents; pass the same string each
  // time and its storage is reused: no allocation per message). True when
  // one arrived, false when the stream ended successfully, an error when the
  // call failed or the message was not data. The gRPC implementation copies
  // the payload once, straight from the received bytes; this default goes
  // through Read.
  virtual asio::awaitable<Result<bool>> ReadData(std::string* data) {
    daemonpb::DownloadResponse msg;
    Result<bool> got = co_await Read(&msg);
    if (!got.ok() || !*got) co_return got;
    if (!msg.has_data()) co_return InternalError("a second header message");
    data->swap(*msg.mutable_data());
    co_return true;
  }
};

class DaemonClient {
 public:
  virtual ~DaemonClient() = default;

  virtual asio::awaitable<Result<daemonpb::HealthResponse>> Health(
      daemonpb::HealthRequest request) = 0;
  // nexusd's figures in the Prometheus text format. Fakes need not serve
  // them: by default the call answers kUnimplemented.
  virtual asio::awaitable<Result<daemonpb::CollectMetricsResponse>> CollectMetrics(
      daemonpb::CollectMetricsRequest) {
    co_return Status(StatusCode::kUnimplemented, "daemon metrics not served");
  }

  // ---- Files (raw) ----
  // Starts an upload and sends `header`; kUnavailable etc. when nexusd
  // refused it at once.
  virtual asio::awaitable<Result<std::unique_ptr<UploadCall>>> StartUpload(
      daemonpb::UploadHeader header) = 0;
  virtual asio::awaitable<Result<daemonpb::ListFilesResponse>> ListFiles(
      daemonpb::ListFilesRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::FileInfo>> GetFile(daemonpb::GetFileRequest request) = 0;
  virtual std::unique_ptr<DownloadCall> DownloadFile(daemonpb::DownloadFileRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::DeleteFileResponse>> DeleteFile(
      daemonpb::DeleteFileRequest request) = 0;

  // ---- Virtual file system ----
  virtual asio::awaitable<Result<daemonpb::MakeDirectoryResponse>> MakeDirectory(
      daemonpb::MakeDirectoryRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::ListDirectoryResponse>> ListDirectory(
      daemonpb::ListDirectoryRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::DeletePathResponse>> DeletePath(
      daemonpb::DeletePathRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::MovePathResponse>> MovePath(
      daemonpb::MovePathRequest request) = 0;
  virtual std::unique_ptr<DownloadCall> DownloadPath(daemonpb::DownloadPathRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::Usage>> GetUsage(daemonpb::GetUsageRequest request) = 0;
  // For WebDAV: one entry by path, a copy on shared chunks, an entry's
  // time, dead properties, write locks.
  virtual asio::awaitable<Result<daemonpb::DirEntry>> StatPath(
      daemonpb::StatPathRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::CopyPathResponse>> CopyPath(
      daemonpb::CopyPathRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::SetModifiedResponse>> SetModified(
      daemonpb::SetModifiedRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::PatchPropsResponse>> PatchProps(
      daemonpb::PatchPropsRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::ListPropsResponse>> ListProps(
      daemonpb::ListPropsRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::ActiveLock>> LockPath(
      daemonpb::LockPathRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::ActiveLock>> RefreshLock(
      daemonpb::RefreshLockRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::UnlockPathResponse>> UnlockPath(
      daemonpb::UnlockPathRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::ListLocksResponse>> ListLocks(
      daemonpb::ListLocksRequest request) = 0;

  // ---- S3 multipart uploads (parts go through StartUpload) ----
  // Fakes need not serve them: by default they answer kUnimplemented.
  // UploadPartCopy and Complete read the bytes they copy or hash, so they
  // get kMultipartTimeout instead of the backend deadline.
  virtual asio::awaitable<Result<daemonpb::MultipartUpload>> CreateMultipartUpload(
      daemonpb::CreateMultipartUploadRequest) {
    co_return Status(StatusCode::kUnimplemented, "multipart uploads not served");
  }
  virtual asio::awaitable<Result<daemonpb::MultipartPart>> UploadPartCopy(
      daemonpb::UploadPartCopyRequest) {
    co_return Status(StatusCode::kUnimplemented, "multipart uploads not served");
  }
  virtual asio::awaitable<Result<daemonpb::ListPartsResponse>> ListParts(
      daemonpb::ListPartsRequest) {
    co_return Status(StatusCode::kUnimplemented, "multipart uploads not served");
  }
  virtual asio::awaitable<Result<daemonpb::ListMultipartUploadsResponse>> ListMultipartUploads(
      daemonpb::ListMultipartUploadsRequest) {
    co_return Status(StatusCode::kUnimplemented, "multipart uploads not served");
  }
  virtual asio::awaitable<Result<daemonpb::DirEntry>> CompleteMultipartUpload(
      daemonpb::CompleteMultipartUploadRequest) {
    co_return Status(StatusCode::kUnimplemented, "multipart uploads not served");
  }
  virtual asio::awaitable<Result<daemonpb::AbortMultipartUploadResponse>> AbortMultipartUpload(
      daemonpb::AbortMultipartUploadRequest) {
    co_return Status(StatusCode::kUnimplemented, "multipart uploads not served");
  }

  // ---- Lambda ----
  virtual asio::awaitable<Result<daemonpb::RunLambdaResponse>> RunLambda(
      daemonpb::RunLambdaRequest request) = 0;

  // ---- Nodes ----
  // Create, Start, Stop and Delete drive runc, CNI and loop mounts (up to a
  // stop timeout): they get kNodeChangeTimeout instead of the backend
  // deadline; ExecNode gets the backend deadline plus the command's limit.
  virtual asio::awaitable<Result<daemonpb::Node>> CreateNode(
      daemonpb::CreateNodeRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::ListNodesResponse>> ListNodes(
      daemonpb::ListNodesRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::Node>> GetNode(daemonpb::NodeRef request) = 0;
  virtual asio::awaitable<Result<daemonpb::Node>> StartNode(daemonpb::NodeRef request) = 0;
  virtual asio::awaitable<Result<daemonpb::Node>> StopNode(daemonpb::NodeRef request) = 0;
  virtual asio::awaitable<Result<daemonpb::DeleteNodeResponse>> DeleteNode(
      daemonpb::NodeRef request) = 0;
  virtual asio::awaitable<Result<daemonpb::ExecNodeResponse>> ExecNode(
      daemonpb::ExecNodeRequest request) = 0;
  virtual asio::awaitable<Result<daemonpb::NodeMetrics>> GetNodeMetrics(
      daemonpb::GetNodeMetricsRequest request) = 0;
  // The daemon's host: its name and the memory its nodes may still take.
  virtual asio::awaitable<Result<daemonpb::HostInfo>> GetHost() = 0;
};

// The deadline of the node calls that change a node (see DaemonClient).
inline constexpr std::chrono::milliseconds kNodeChangeTimeout(60000);
// The deadline of the multipart calls that read an object's bytes (a 5 GiB
// part or object at a few hundred MB/s).
inline constexpr std::chrono::milliseconds kMultipartTimeout(600000);

// A client on one shared gRPC channel to `target` ("unix:/path" or
// "host:port"); every call has deadline `timeout`.
// `metrics`, when set, gets each unary call's latency and failures; it must
// outlive the client. `tls`: the mutual TLS of a TCP target (grpc_tls.h).
std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(
    const std::string& target, std::chrono::milliseconds timeout, BackendMetrics* metrics = nullptr,
    std::shared_ptr<grpc::ChannelCredentials> tls = nullptr);

// The channel MakeGrpcDaemonClient(target, ..., tls) makes.
std::shared_ptr<grpc::Channel> MakeDaemonChannel(
    const std::string& target, std::shared_ptr<grpc::ChannelCredentials> tls = nullptr);

// The same on an existing channel (tests use an in-process one).
std::unique_ptr<DaemonClient> MakeGrpcDaemonClient(std::shared_ptr<grpc::Channel> channel,
                                                   std::chrono::milliseconds timeout,
                                                   BackendMetrics* metrics = nullptr);

}  // namespace nexus::gateway
