// TreeRpc: the gRPC adapter for nexus.daemon.v1.Tree over the tree domain
// (storage::TreeService). Each method unpacks the request, calls the domain
// and converts the Status (reply.h); the domain checks the owner and
// normalises every path, so the adapter does neither. DownloadPath is a raw
// download (raw_download.h) and takes a download slot (call_admission.h).
//
// Thread-safe as long as the TreeService is. The TreeService and the
// CallControl must outlive the service.
#pragma once

#include "daemon/rpc/call_control.h"
#include "daemon/rpc/raw_download.h"
#include "daemon/tree/tree_service.h"
#include "nexus/daemon/v1/tree.grpc.pb.h"

namespace nexus::daemon {

class TreeRpc final : public v1::Tree::Service {
 public:
  TreeRpc(storage::TreeService& tree, CallControl& calls);

  grpc::Status MakeDirectory(grpc::ServerContext* ctx, const v1::MakeDirectoryRequest* req,
                             v1::MakeDirectoryResponse* resp) override;
  grpc::Status ListDirectory(grpc::ServerContext* ctx, const v1::ListDirectoryRequest* req,
                             v1::ListDirectoryResponse* resp) override;
  grpc::Status DeletePath(grpc::ServerContext* ctx, const v1::DeletePathRequest* req,
                          v1::DeletePathResponse* resp) override;
  grpc::Status MovePath(grpc::ServerContext* ctx, const v1::MovePathRequest* req,
                        v1::MovePathResponse* resp) override;
  // DownloadPath, served on raw messages (raw_download.h).
  grpc::Status DownloadPathRaw(grpc::ServerContext* ctx, RawDownloadStream* stream);
  grpc::Status GetUsage(grpc::ServerContext* ctx, const v1::GetUsageRequest* req,
                        v1::Usage* resp) override;
  grpc::Status StatPath(grpc::ServerContext* ctx, const v1::StatPathRequest* req,
                        v1::DirEntry* resp) override;
  grpc::Status CopyPath(grpc::ServerContext* ctx, const v1::CopyPathRequest* req,
                        v1::CopyPathResponse* resp) override;
  grpc::Status SetModified(grpc::ServerContext* ctx, const v1::SetModifiedRequest* req,
                           v1::SetModifiedResponse* resp) override;
  grpc::Status PatchProps(grpc::ServerContext* ctx, const v1::PatchPropsRequest* req,
                          v1::PatchPropsResponse* resp) override;
  grpc::Status ListProps(grpc::ServerContext* ctx, const v1::ListPropsRequest* req,
                         v1::ListPropsResponse* resp) override;
  grpc::Status LockPath(grpc::ServerContext* ctx, const v1::LockPathRequest* req,
                        v1::ActiveLock* resp) override;
  grpc::Status RefreshLock(grpc::ServerContext* ctx, const v1::RefreshLockRequest* req,
                           v1::ActiveLock* resp) override;
  grpc::Status UnlockPath(grpc::ServerContext* ctx, const v1::UnlockPathRequest* req,
                          v1::UnlockPathResponse* resp) override;
  grpc::Status ListLocks(grpc::ServerContext* ctx, const v1::ListLocksRequest* req,
                         v1::ListLocksResponse* resp) override;
  grpc::Status CreateMultipartUpload(grpc::ServerContext* ctx,
                                     const v1::CreateMultipartUploadRequest* req,
                                     v1::MultipartUpload* resp) override;
  grpc::Status UploadPartCopy(grpc::ServerContext* ctx, const v1::UploadPartCopyRequest* req,
                              v1::MultipartPart* resp) override;
  grpc::Status ListParts(grpc::ServerContext* ctx, const v1::ListPartsRequest* req,
                         v1::ListPartsResponse* resp) override;
  grpc::Status ListMultipartUploads(grpc::ServerContext* ctx,
                                    const v1::ListMultipartUploadsRequest* req,
                                    v1::ListMultipartUploadsResponse* resp) override;
  grpc::Status CompleteMultipartUpload(grpc::ServerContext* ctx,
                                       const v1::CompleteMultipartUploadRequest* req,
                                       v1::DirEntry* resp) override;
  grpc::Status AbortMultipartUpload(grpc::ServerContext* ctx,
                                    const v1::AbortMultipartUploadRequest* req,
                                    v1::AbortMultipartUploadResponse* resp) override;

 private:
  storage::TreeService& tree_;
  CallControl& calls_;
};

}  // namespace nexus::daemon
