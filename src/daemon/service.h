// DaemonService: the gRPC adapter for nexus.daemon.v1.Daemon. Each method
// unpacks the request, calls a domain object, and converts the Status with
// ToGrpcStatus — no logic of its own, so domain code never sees gRPC.
//
// The domain objects arrive in Deps (non-owning pointers that must outlive the
// service). RPCs whose domain object does not exist yet answer UNIMPLEMENTED
// with the Nexus code in the details, which the gateway turns into 501.
// Thread-safe as long as the domain objects are: gRPC calls methods from its
// own thread pool concurrently.
#pragma once

#include "daemon/health.h"
#include "nexus/daemon/v1/daemon.grpc.pb.h"

namespace nexus::daemon {

namespace v1 = ::nexus::daemon::v1;

class DaemonService final : public v1::Daemon::Service {
 public:
  struct Deps {
    const ::nexus::daemon::Health* health = nullptr;  // required
  };

  explicit DaemonService(Deps deps);

  grpc::Status Health(grpc::ServerContext* ctx, const v1::HealthRequest* req,
                      v1::HealthResponse* resp) override;

  grpc::Status UploadFile(grpc::ServerContext* ctx, grpc::ServerReader<v1::UploadFileRequest>* in,
                          v1::FileInfo* resp) override;
  grpc::Status ListFiles(grpc::ServerContext* ctx, const v1::ListFilesRequest* req,
                         v1::ListFilesResponse* resp) override;
  grpc::Status GetFile(grpc::ServerContext* ctx, const v1::GetFileRequest* req,
                       v1::FileInfo* resp) override;
  grpc::Status DownloadFile(grpc::ServerContext* ctx, const v1::DownloadFileRequest* req,
                            grpc::ServerWriter<v1::DownloadResponse>* out) override;
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
  grpc::Status DownloadPath(grpc::ServerContext* ctx, const v1::DownloadPathRequest* req,
                            grpc::ServerWriter<v1::DownloadResponse>* out) override;
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
  Deps deps_;
};

}  // namespace nexus::daemon
