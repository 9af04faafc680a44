#include "daemon/service.h"

#include <cassert>
#include <string>

#include "common/grpc_status.h"

namespace nexus::daemon {
namespace {

grpc::Status NotYet(const char* rpc) {
  return ToGrpcStatus(UnimplementedError(std::string(rpc) + " is not implemented yet"));
}

}  // namespace

DaemonService::DaemonService(Deps deps) : deps_(deps) { assert(deps_.health != nullptr); }

grpc::Status DaemonService::Health(grpc::ServerContext*, const v1::HealthRequest*,
                                   v1::HealthResponse* resp) {
  Status s = deps_.health->Check();
  if (!s.ok()) return ToGrpcStatus(s);
  resp->set_status("ok");
  return grpc::Status::OK;
}

grpc::Status DaemonService::UploadFile(grpc::ServerContext*,
                                       grpc::ServerReader<v1::UploadFileRequest>*, v1::FileInfo*) {
  return NotYet("UploadFile");
}
grpc::Status DaemonService::ListFiles(grpc::ServerContext*, const v1::ListFilesRequest*,
                                      v1::ListFilesResponse*) {
  return NotYet("ListFiles");
}
grpc::Status DaemonService::GetFile(grpc::ServerContext*, const v1::GetFileRequest*,
                                    v1::FileInfo*) {
  return NotYet("GetFile");
}
grpc::Status DaemonService::DownloadFile(grpc::ServerContext*, const v1::DownloadFileRequest*,
                                         grpc::ServerWriter<v1::DownloadResponse>*) {
  return NotYet("DownloadFile");
}
grpc::Status DaemonService::DeleteFile(grpc::ServerContext*, const v1::DeleteFileRequest*,
                                       v1::DeleteFileResponse*) {
  return NotYet("DeleteFile");
}

grpc::Status DaemonService::MakeDirectory(grpc::ServerContext*, const v1::MakeDirectoryRequest*,
                                          v1::MakeDirectoryResponse*) {
  return NotYet("MakeDirectory");
}
grpc::Status DaemonService::ListDirectory(grpc::ServerContext*, const v1::ListDirectoryRequest*,
                                          v1::ListDirectoryResponse*) {
  return NotYet("ListDirectory");
}
grpc::Status DaemonService::DeletePath(grpc::ServerContext*, const v1::DeletePathRequest*,
                                       v1::DeletePathResponse*) {
  return NotYet("DeletePath");
}
grpc::Status DaemonService::MovePath(grpc::ServerContext*, const v1::MovePathRequest*,
                                     v1::MovePathResponse*) {
  return NotYet("MovePath");
}
grpc::Status DaemonService::DownloadPath(grpc::ServerContext*, const v1::DownloadPathRequest*,
                                         grpc::ServerWriter<v1::DownloadResponse>*) {
  return NotYet("DownloadPath");
}
grpc::Status DaemonService::GetUsage(grpc::ServerContext*, const v1::GetUsageRequest*, v1::Usage*) {
  return NotYet("GetUsage");
}

grpc::Status DaemonService::CreateNode(grpc::ServerContext*, const v1::CreateNodeRequest*,
                                       v1::Node*) {
  return NotYet("CreateNode");
}
grpc::Status DaemonService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest*,
                                      v1::ListNodesResponse*) {
  return NotYet("ListNodes");
}
grpc::Status DaemonService::GetNode(grpc::ServerContext*, const v1::NodeRef*, v1::Node*) {
  return NotYet("GetNode");
}
grpc::Status DaemonService::StartNode(grpc::ServerContext*, const v1::NodeRef*, v1::Node*) {
  return NotYet("StartNode");
}
grpc::Status DaemonService::StopNode(grpc::ServerContext*, const v1::NodeRef*, v1::Node*) {
  return NotYet("StopNode");
}
grpc::Status DaemonService::DeleteNode(grpc::ServerContext*, const v1::NodeRef*,
                                       v1::DeleteNodeResponse*) {
  return NotYet("DeleteNode");
}
grpc::Status DaemonService::ExecNode(grpc::ServerContext*, const v1::ExecNodeRequest*,
                                     v1::ExecNodeResponse*) {
  return NotYet("ExecNode");
}
grpc::Status DaemonService::GetNodeMetrics(grpc::ServerContext*, const v1::GetNodeMetricsRequest*,
                                           v1::NodeMetrics*) {
  return NotYet("GetNodeMetrics");
}

grpc::Status DaemonService::RunLambda(grpc::ServerContext*, const v1::RunLambdaRequest*,
                                      v1::RunLambdaResponse*) {
  return NotYet("RunLambda");
}

}  // namespace nexus::daemon
