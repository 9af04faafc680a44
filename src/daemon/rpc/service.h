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
//   that limit, see ConfigureServer); downloads write a `header` (the
//   resolved range), then `data` messages of at most kDownloadMessageBytes.
//   The header goes once the first message is read and verified, so data
//   loss there fails the call with no header; after the header, it ends the
//   stream with that status, and the client must treat the bytes it got as
//   incomplete.
//
// The domain objects arrive in Deps (non-owning pointers that must outlive the
// service). An RPC whose domain object is absent answers UNIMPLEMENTED with
// the Nexus code in the details, which the gateway turns into 501.
// Thread-safe as long as the domain objects are: gRPC calls methods from its
// own thread pool concurrently.
//
// Every method runs on gRPC's sync server threads. nexusd registers no
// callback-API method: with one, gRPC 1.51 polls the whole server through
// its callback threads, which sleep 100 ms after each idle second, and any
// call arriving then (sync ones included) waits.
#pragma once

#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string_view>

#include "daemon/lambda/lambda.h"
#include "daemon/rpc/call_admission.h"
#include "daemon/rpc/health.h"
#include "daemon/rpc/stream_watchdog.h"
#include "daemon/storage/file_service.h"
#include "daemon/tree/tree_service.h"
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
// Long calls (downloads, uploads, lambda runs, execs, node changes) each
// have an overall cap and a per-user share (call_admission.h): a call over
// either is refused at once (RESOURCE_EXHAUSTED, a 429 at the gateway) before
// it does any work. The sync server runs each call in progress on its own
// thread from one pool of ServerThreadsFor(limits): the long calls' caps plus
// kShortCallThreads, so the short calls always find a thread whatever the
// long ones do, and no user holds more than their share of any kind.
// Streams are also cancelled when a Read or Write waits longer than
// limits.stream_idle_timeout (stream_watchdog.h): a stalled peer cannot hold
// its thread and slot forever either.

// Threads the sync server keeps waiting for work once their call ended.
// gRPC's default keeps two and ends every other thread when its call ends,
// so under concurrent calls each call paid for a thread's creation and exit:
// under 64 concurrent /api/me nexusd spent 205-280 us of CPU per GetUsage,
// 92-131 us with up to 64 threads kept (7,000-9,300 instead of 4,000-5,200
// requests/s through the gateway). An idle thread costs its stack and no CPU: one
// polls, the others sleep until work arrives.
inline constexpr int kMaxIdleServerThreads = 64;

// Applies the server settings the service relies on: kMaxReceiveMessageBytes
// and a thread limit of ServerThreadsFor(limits). nexusd and tests call it on
// the builder they register the service with, with the service's limits.
void ConfigureServer(grpc::ServerBuilder& builder, const CallLimits& limits = CallLimits{});

// The stream of a raw download: the request is read from it (once), the
// response messages written to it.
using RawDownloadStream = grpc::ServerReaderWriterInterface<grpc::ByteBuffer, grpc::ByteBuffer>;

class DaemonService final : public v1::Daemon::Service {
 public:
  struct Deps {
    const ::nexus::daemon::Health* health = nullptr;  // required
    storage::FileService* files = nullptr;            // Files RPCs
    storage::TreeService* tree = nullptr;             // VFS RPCs and uploads with a vfs_path
    runtime::LambdaRunner* lambda = nullptr;          // RunLambda
    runtime::NodeManager* nodes = nullptr;            // Node RPCs
  };

  // `limits`: the shares of the long calls and the idle timeout of streams;
  // give ConfigureServer the same.
  explicit DaemonService(Deps deps, const CallLimits& limits = CallLimits{});

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
  // DownloadFile and DownloadPath, served on raw messages: the constructor
  // installs them in place of the generated handlers, so a download's
  // payload goes from the verified chunk buffers to the socket without a
  // copy; the wire is the same.
  grpc::Status DownloadFileRaw(grpc::ServerContext* ctx, RawDownloadStream* stream);
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
  grpc::Status DownloadPathRaw(grpc::ServerContext* ctx, RawDownloadStream* stream);
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
  // Serves `reader` as a download on `stream` if its owner may start one
  // (admission_.downloads); returns once the download is over and the reader
  // released. `watch` times the stream's writes.
  grpc::Status ServeDownload(grpc::ServerContext* ctx, RawDownloadStream* stream,
                             StreamWatchdog::Watch& watch, std::string_view rpc,
                             std::unique_ptr<storage::FileReader> reader, bool partial,
                             std::string_view vfs_path);

  Deps deps_;
  CallAdmission admission_;
  StreamWatchdog watchdog_;  // cancels stalled streams; its thread ends before the rest goes
};

}  // namespace nexus::daemon
