#include "gateway/backends/daemon_client.h"

// The default bodies of DaemonClient's calls, in the core library so that
// fakes built without gRPC link.
namespace nexus::gateway {
namespace {

Status NotBuilt(const char* method) {
  return UnimplementedError(std::string("daemon client does not implement ") + method);
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<UploadCall>>> DaemonClient::StartUpload(
    daemonpb::UploadHeader) {
  co_return NotBuilt("StartUpload");
}
asio::awaitable<Result<daemonpb::ListFilesResponse>> DaemonClient::ListFiles(
    daemonpb::ListFilesRequest) {
  co_return NotBuilt("ListFiles");
}
asio::awaitable<Result<daemonpb::FileInfo>> DaemonClient::GetFile(daemonpb::GetFileRequest) {
  co_return NotBuilt("GetFile");
}
asio::awaitable<Result<daemonpb::DeleteFileResponse>> DaemonClient::DeleteFile(
    daemonpb::DeleteFileRequest) {
  co_return NotBuilt("DeleteFile");
}
asio::awaitable<Result<daemonpb::MakeDirectoryResponse>> DaemonClient::MakeDirectory(
    daemonpb::MakeDirectoryRequest) {
  co_return NotBuilt("MakeDirectory");
}
asio::awaitable<Result<daemonpb::ListDirectoryResponse>> DaemonClient::ListDirectory(
    daemonpb::ListDirectoryRequest) {
  co_return NotBuilt("ListDirectory");
}
asio::awaitable<Result<daemonpb::DeletePathResponse>> DaemonClient::DeletePath(
    daemonpb::DeletePathRequest) {
  co_return NotBuilt("DeletePath");
}
asio::awaitable<Result<daemonpb::MovePathResponse>> DaemonClient::MovePath(
    daemonpb::MovePathRequest) {
  co_return NotBuilt("MovePath");
}
asio::awaitable<Result<daemonpb::Usage>> DaemonClient::GetUsage(daemonpb::GetUsageRequest) {
  co_return NotBuilt("GetUsage");
}
asio::awaitable<Result<daemonpb::RunLambdaResponse>> DaemonClient::RunLambda(
    daemonpb::RunLambdaRequest) {
  co_return NotBuilt("RunLambda");
}
asio::awaitable<Result<daemonpb::Node>> DaemonClient::CreateNode(daemonpb::CreateNodeRequest) {
  co_return NotBuilt("CreateNode");
}
asio::awaitable<Result<daemonpb::ListNodesResponse>> DaemonClient::ListNodes(
    daemonpb::ListNodesRequest) {
  co_return NotBuilt("ListNodes");
}
asio::awaitable<Result<daemonpb::Node>> DaemonClient::GetNode(daemonpb::NodeRef) {
  co_return NotBuilt("GetNode");
}
asio::awaitable<Result<daemonpb::Node>> DaemonClient::StartNode(daemonpb::NodeRef) {
  co_return NotBuilt("StartNode");
}
asio::awaitable<Result<daemonpb::Node>> DaemonClient::StopNode(daemonpb::NodeRef) {
  co_return NotBuilt("StopNode");
}
asio::awaitable<Result<daemonpb::DeleteNodeResponse>> DaemonClient::DeleteNode(daemonpb::NodeRef) {
  co_return NotBuilt("DeleteNode");
}
asio::awaitable<Result<daemonpb::NodeMetrics>> DaemonClient::GetNodeMetrics(
    daemonpb::GetNodeMetricsRequest) {
  co_return NotBuilt("GetNodeMetrics");
}
asio::awaitable<Result<daemonpb::ExecNodeResponse>> DaemonClient::ExecNode(
    daemonpb::ExecNodeRequest) {
  co_return NotBuilt("ExecNode");
}

std::unique_ptr<DownloadCall> DaemonClient::DownloadFile(daemonpb::DownloadFileRequest) {
  return nullptr;
}
std::unique_ptr<DownloadCall> DaemonClient::DownloadPath(daemonpb::DownloadPathRequest) {
  return nullptr;
}

}  // namespace nexus::gateway
