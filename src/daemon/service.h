// DaemonService: the gRPC adapter for nexus.daemon.v1.Daemon. Each method
// unpacks the request, calls a domain object, and converts the Status with
// ToGrpcStatus — no logic of its own, so domain code never sees gRPC.
//
// Conventions every RPC follows (the gateway relies on them):
// - `owner` must be non-empty (INVALID_ARGUMENT otherwise); nexusd scopes
//   every lookup to it, so another owner's file or path is NOT_FOUND.
// - Errors carry the Nexus code in the status details (common/grpc_status.h).
//   A kInternal status never reaches the client with its message (it may name
//   host paths or chunk hashes): it is logged and answered "internal error".
// - Streams: UploadFile reads a `header` message, then `data` messages of at
//   most kMaxReceiveMessageBytes each (nexusd's server must be built with
//   that limit, see ConfigureServer); downloads write a `header` (the resolved range), then `data`
//   messages of at most kDownloadMessageBytes. An error after the header was
//   sent (data loss) ends the stream with that status; the client must treat
//   the bytes it got as incomplete.
//
// The domain objects arrive in Deps (non-owning pointers that must outlive the
// service). An RPC whose domain object is absent answers UNIMPLEMENTED with
// the Nexus code in the details, which the gateway turns into 501.
// Thread-safe as long as the domain objects are: gRPC calls methods from its
// own thread pool concurrently.
#pragma once

#include <grpcpp/server_builder.h>

#include <atomic>
#include <cstddef>

#include "daemon/health.h"
#include "daemon/runtime/lambda.h"
#include "daemon/storage/file_service.h"
#include "daemon/storage/tree_service.h"
#include "nexus/daemon/v1/daemon.grpc.pb.h"

namespace nexus::daemon {

namespace runtime {
class NodeManager;
}

namespace v1 = ::nexus::daemon::v1;

// Payload bytes per `data` message of a download (a chunk is split or small
// chunks merged to this size).
inline constexpr size_t kDownloadMessageBytes = 1 << 20;
// The largest message nexusd accepts (gRPC's default is 4 MiB): an upload's
// data message of ~1 MiB, or a RunLambda request of 1 MiB code + 1 MiB stdin,
// with room to spare.
inline constexpr int kMaxReceiveMessageBytes = 8 << 20;
// The sync server runs each call in progress on its own thread; a lambda run
// (up to its timeout) or a slow upload holds one for its whole duration.
inline constexpr int kMaxServerThreads = 64;
// Downloads served at once. Each holds a producer thread and up to a few
// MiB of chunk data; more are refused (UNAVAILABLE: retry) rather than let
// threads and memory grow with the number of clients.
inline constexpr int kMaxConcurrentDownloads = 64;

// Applies the server settings the service relies on: kMaxReceiveMessageBytes
// and a thread limit of kMaxServerThreads. nexusd and tests call it on the
// builder they register the service with.
void ConfigureServer(grpc::ServerBuilder& builder);

// DownloadFile and DownloadPath are served on raw messages by callback
// reactors (service.cc: DownloadWriter), so a download's payload goes from the
// verified chunk buffers to the socket without a copy; the wire is the same.
using DaemonServiceBase = v1::Daemon::WithRawCallbackMethod_DownloadFile<
    v1::Daemon::WithRawCallbackMethod_DownloadPath<v1::Daemon::Service>>;

class DaemonService final : public DaemonServiceBase {
 public:
  struct Deps {
    const ::nexus::daemon::Health* health = nullptr;  // required
    storage::FileService* files = nullptr;            // Files RPCs
    storage::TreeService* tree = nullptr;             // VFS RPCs and uploads with a vfs_path
    runtime::LambdaRunner* lambda = nullptr;          // RunLambda
    runtime::NodeManager* nodes = nullptr;            // Node RPCs
  };

  explicit DaemonService(Deps deps);

  grpc::Status Health(grpc::ServerContext* ctx, const v1::HealthRequest* req,
                      v1::HealthResponse* resp) override;

  // UploadFile, served on raw messages: the constructor installs it in place
  // of the generated handler, so a data message's payload reaches the
  // chunker as the received slices (no protobuf string, no copy); the wire is
  // the same.
  grpc::Status UploadFileRaw(grpc::ServerContext* ctx, grpc::ServerReader<grpc::ByteBuffer>* in,
                             v1::FileInfo* resp);
  grpc::Status ListFiles(grpc::ServerContext* ctx, const v1::ListFilesRequest* req,
                         v1::ListFilesResponse* resp) override;
  grpc::Status GetFile(grpc::ServerContext* ctx, const v1::GetFileRequest* req,
                       v1::FileInfo* resp) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* DownloadFile(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* req) override;
  grpc::Status DeleteFile(grpc::ServerContext* ctx, const v1::DeleteFileRequest* req,
                          v1::DeleteFileResponse* resp) override;

  grpc::Status MakeDirectory(grpc::ServerContext* ctx, const v1::MakeDirectoryRequest* req,
                             v1::MakeDirectoryResponse* resp) override;
  grpc::Status ListDirectory(grpc::ServerContext* ctx, const v1::ListDirectoryRequest* req,
                             v1::ListDirectoryResponse* resp) override;
  grpc::Status DeletePath(grpc::ServerContext* ctx, const v1::DeletePathRequest* req,
                          v1::DeletePathResponse* resp) override;
  grpc::Status MovePath(grpc::ServerContext* ctx, const v1::MovePathRequest* req,
                        v1::MovePathResponse* resp) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* DownloadPath(grpc::CallbackServerContext* ctx,
                                                           const grpc::ByteBuffer* req) override;
  grpc::Status GetUsage(grpc::ServerContext* ctx, const v1::GetUsageRequest* req,
                        v1::Usage* resp) override;

  grpc::Status CreateNode(grpc::ServerContext* ctx, const v1::CreateNodeRequest* req,
                          v1::Node* resp) override;
  grpc::Status ListNodes(grpc::ServerContext* ctx, const v1::ListNodesRequest* req,
                         v1::ListNodesResponse* resp) override;
  grpc::Status GetNode(grpc::ServerContext* ctx, const v1::NodeRef* req, v1::Node* resp) override;
  grpc::Status StartNode(grpc::ServerContext* ctx, const v1::NodeRef* req, v1::Node* resp) override;
  grpc::Status StopNode(grpc::ServerContext* ctx, const v1::NodeRef* req, v1::Node* resp) override;
  grpc::Status DeleteNode(grpc::ServerContext* ctx, const v1::NodeRef* req,
                          v1::DeleteNodeResponse* resp) override;
  grpc::Status ExecNode(grpc::ServerContext* ctx, const v1::ExecNodeRequest* req,
                        v1::ExecNodeResponse* resp) override;
  grpc::Status GetNodeMetrics(grpc::ServerContext* ctx, const v1::GetNodeMetricsRequest* req,
                              v1::NodeMetrics* resp) override;

  grpc::Status RunLambda(grpc::ServerContext* ctx, const v1::RunLambdaRequest* req,
                         v1::RunLambdaResponse* resp) override;

 private:
  // Serves `reader` as a download if a download slot is free.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* ServeDownload(
      std::string_view rpc, std::unique_ptr<storage::FileReader> reader, bool partial,
      std::string_view vfs_path);

  Deps deps_;
  std::atomic<int> downloads_{0};  // running downloads (DownloadWriter instances)
};

}  // namespace nexus::daemon
