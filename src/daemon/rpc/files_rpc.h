// FilesRpc: the gRPC adapter for nexus.daemon.v1.Files over the storage
// domain (storage::FileService; storage::UploadSession for the upload
// protocol). Each method unpacks the request, calls the domain and converts
// the Status (reply.h) — no logic of its own, so domain code never sees
// gRPC.
//
// Streams: UploadFile reads a `header` message, then `data` messages of at
// most kMaxReceiveMessageBytes each (the server must be configured with
// ConfigureServer, services.h), then the late `vfs_path` of a path_follows
// upload; downloads are raw_download.h's. Uploads and downloads each take a
// slot of their kind (call_admission.h) and are watched for stalls
// (stream_watchdog.h).
//
// Thread-safe as long as the domain objects are: gRPC calls methods from its
// own thread pool concurrently. The FileService, the UploadPlacement (may be
// null: uploads to a path are then kUnimplemented) and the CallControl must
// outlive the service.
#pragma once

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include "daemon/rpc/call_control.h"
#include "daemon/rpc/raw_download.h"
#include "daemon/storage/file_service.h"
#include "daemon/storage/upload_session.h"
#include "nexus/daemon/v1/files.grpc.pb.h"

namespace nexus::daemon {

class FilesRpc final : public v1::Files::Service {
 public:
  FilesRpc(storage::FileService& files, storage::UploadPlacement* placement, CallControl& calls);

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
  // DownloadFile, served on raw messages (raw_download.h).
  grpc::Status DownloadFileRaw(grpc::ServerContext* ctx, RawDownloadStream* stream);
  grpc::Status DeleteFile(grpc::ServerContext* ctx, const v1::DeleteFileRequest* req,
                          v1::DeleteFileResponse* resp) override;

 private:
  storage::FileService& files_;
  storage::UploadPlacement* placement_;
  CallControl& calls_;
};

}  // namespace nexus::daemon
