// RecordingDaemonClient: the one in-memory DaemonClient of gateway tests.
// Every RPC records its request and answers with a programmed result: one
// RecordedRpc slot per unary RPC (`answer`, `calls`), `rpcs` lists the names
// of the calls in order. Uploads are recorded message by message (`uploads`)
// and answered with `upload_answer`; downloads replay `download_script`.
// Not thread-safe: drive it from one test thread.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/backends/daemon_client.h"

namespace nexus::gateway::testing {

// One unary RPC of the fake: what it was asked, what it answers.
template <typename Req, typename Resp>
struct RecordedRpc {
  Result<Resp> answer = Resp();
  std::vector<Req> calls;
};

// What one StartUpload call received.
struct UploadRecord {
  daemonpb::UploadHeader header;
  std::vector<size_t> message_sizes;
  std::string data;
  std::optional<std::string> sent_path;     // SendPath's argument
  std::optional<std::string> sent_s3_etag;  // SendS3Etag's argument
  bool finished = false;
  bool cancelled = false;
};

class RecordingDaemonClient final : public DaemonClient {
 public:
  RecordedRpc<daemonpb::HealthRequest, daemonpb::HealthResponse> health;
  RecordedRpc<daemonpb::ListFilesRequest, daemonpb::ListFilesResponse> list_files;
  RecordedRpc<daemonpb::GetFileRequest, daemonpb::FileInfo> get_file;
  RecordedRpc<daemonpb::DeleteFileRequest, daemonpb::DeleteFileResponse> delete_file;
  RecordedRpc<daemonpb::MakeDirectoryRequest, daemonpb::MakeDirectoryResponse> make_directory;
  RecordedRpc<daemonpb::ListDirectoryRequest, daemonpb::ListDirectoryResponse> list_directory;
  RecordedRpc<daemonpb::DeletePathRequest, daemonpb::DeletePathResponse> delete_path;
  RecordedRpc<daemonpb::MovePathRequest, daemonpb::MovePathResponse> move_path;
  RecordedRpc<daemonpb::GetUsageRequest, daemonpb::Usage> get_usage;
  RecordedRpc<daemonpb::StatPathRequest, daemonpb::DirEntry> stat_path;
  RecordedRpc<daemonpb::CopyPathRequest, daemonpb::CopyPathResponse> copy_path;
  RecordedRpc<daemonpb::SetModifiedRequest, daemonpb::SetModifiedResponse> set_modified;
  RecordedRpc<daemonpb::PatchPropsRequest, daemonpb::PatchPropsResponse> patch_props;
  RecordedRpc<daemonpb::ListPropsRequest, daemonpb::ListPropsResponse> list_props;
  RecordedRpc<daemonpb::LockPathRequest, daemonpb::ActiveLock> lock_path;
  RecordedRpc<daemonpb::RefreshLockRequest, daemonpb::ActiveLock> refresh_lock;
  RecordedRpc<daemonpb::UnlockPathRequest, daemonpb::UnlockPathResponse> unlock_path;
  RecordedRpc<daemonpb::ListLocksRequest, daemonpb::ListLocksResponse> list_locks;
  RecordedRpc<daemonpb::RunLambdaRequest, daemonpb::RunLambdaResponse> run_lambda;
  RecordedRpc<daemonpb::CreateNodeRequest, daemonpb::Node> create_node;
  RecordedRpc<daemonpb::ListNodesRequest, daemonpb::ListNodesResponse> list_nodes;
  RecordedRpc<daemonpb::NodeRef, daemonpb::Node> get_node;
  RecordedRpc<daemonpb::NodeRef, daemonpb::Node> start_node;
  RecordedRpc<daemonpb::NodeRef, daemonpb::Node> stop_node;
  RecordedRpc<daemonpb::NodeRef, daemonpb::DeleteNodeResponse> delete_node;
  RecordedRpc<daemonpb::ExecNodeRequest, daemonpb::ExecNodeResponse> exec_node;
  RecordedRpc<daemonpb::GetNodeMetricsRequest, daemonpb::NodeMetrics> get_node_metrics;
  RecordedRpc<daemonpb::GetHostRequest, daemonpb::HostInfo> get_host;

  // The RPCs called, by name ("GetNode", "StartUpload", ...), in order.
  std::vector<std::string> rpcs;

  // Uploads: StartUpload fails with upload_start_error, every Write with
  // upload_write_error (when not ok); Finish answers upload_answer.
  Result<daemonpb::FileInfo> upload_answer = daemonpb::FileInfo();
  Status upload_start_error;
  Status upload_write_error;
  std::vector<UploadRecord> uploads;

  // Downloads replay these messages; a Status ends the stream with it.
  std::vector<Result<daemonpb::DownloadResponse>> download_script;
  std::vector<daemonpb::DownloadFileRequest> download_file_calls;
  std::vector<daemonpb::DownloadPathRequest> download_path_calls;
  int downloads_abandoned = 0;  // destroyed before their script ended

  asio::awaitable<Result<daemonpb::HealthResponse>> Health(daemonpb::HealthRequest r) override {
    return Answer("Health", health, std::move(r));
  }

  asio::awaitable<Result<std::unique_ptr<UploadCall>>> StartUpload(
      daemonpb::UploadHeader header) override {
    rpcs.push_back("StartUpload");
    if (!upload_start_error.ok()) co_return upload_start_error;
    UploadRecord record;
    record.header = std::move(header);
    uploads.push_back(std::move(record));
    co_return std::unique_ptr<UploadCall>(std::make_unique<FakeUpload>(this, uploads.size() - 1));
  }
  asio::awaitable<Result<daemonpb::ListFilesResponse>> ListFiles(
      daemonpb::ListFilesRequest r) override {
    return Answer("ListFiles", list_files, std::move(r));
  }
  asio::awaitable<Result<daemonpb::FileInfo>> GetFile(daemonpb::GetFileRequest r) override {
    return Answer("GetFile", get_file, std::move(r));
  }
  std::unique_ptr<DownloadCall> DownloadFile(daemonpb::DownloadFileRequest r) override {
    rpcs.push_back("DownloadFile");
    download_file_calls.push_back(std::move(r));
    return std::make_unique<FakeDownload>(this);
  }
  asio::awaitable<Result<daemonpb::DeleteFileResponse>> DeleteFile(
      daemonpb::DeleteFileRequest r) override {
    return Answer("DeleteFile", delete_file, std::move(r));
  }

  asio::awaitable<Result<daemonpb::MakeDirectoryResponse>> MakeDirectory(
      daemonpb::MakeDirectoryRequest r) override {
    return Answer("MakeDirectory", make_directory, std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListDirectoryResponse>> ListDirectory(
      daemonpb::ListDirectoryRequest r) override {
    return Answer("ListDirectory", list_directory, std::move(r));
  }
  asio::awaitable<Result<daemonpb::DeletePathResponse>> DeletePath(
      daemonpb::DeletePathRequest r) override {
    return Answer("DeletePath", delete_path, std::move(r));
  }
  asio::awaitable<Result<daemonpb::MovePathResponse>> MovePath(
      daemonpb::MovePathRequest r) override {
    return Answer("MovePath", move_path, std::move(r));
  }
  std::unique_ptr<DownloadCall> DownloadPath(daemonpb::DownloadPathRequest r) override {
    rpcs.push_back("DownloadPath");
    download_path_calls.push_back(std::move(r));
    return std::make_unique<FakeDownload>(this);
  }
  asio::awaitable<Result<daemonpb::Usage>> GetUsage(daemonpb::GetUsageRequest r) override {
    return Answer("GetUsage", get_usage, std::move(r));
  }
  asio::awaitable<Result<daemonpb::DirEntry>> StatPath(daemonpb::StatPathRequest r) override {
    return Answer("StatPath", stat_path, std::move(r));
  }
  asio::awaitable<Result<daemonpb::CopyPathResponse>> CopyPath(
      daemonpb::CopyPathRequest r) override {
    return Answer("CopyPath", copy_path, std::move(r));
  }
  asio::awaitable<Result<daemonpb::SetModifiedResponse>> SetModified(
      daemonpb::SetModifiedRequest r) override {
    return Answer("SetModified", set_modified, std::move(r));
  }
  asio::awaitable<Result<daemonpb::PatchPropsResponse>> PatchProps(
      daemonpb::PatchPropsRequest r) override {
    return Answer("PatchProps", patch_props, std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListPropsResponse>> ListProps(
      daemonpb::ListPropsRequest r) override {
    return Answer("ListProps", list_props, std::move(r));
  }
  asio::awaitable<Result<daemonpb::ActiveLock>> LockPath(daemonpb::LockPathRequest r) override {
    return Answer("LockPath", lock_path, std::move(r));
  }
  asio::awaitable<Result<daemonpb::ActiveLock>> RefreshLock(
      daemonpb::RefreshLockRequest r) override {
    return Answer("RefreshLock", refresh_lock, std::move(r));
  }
  asio::awaitable<Result<daemonpb::UnlockPathResponse>> UnlockPath(
      daemonpb::UnlockPathRequest r) override {
    return Answer("UnlockPath", unlock_path, std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListLocksResponse>> ListLocks(
      daemonpb::ListLocksRequest r) override {
    return Answer("ListLocks", list_locks, std::move(r));
  }

  asio::awaitable<Result<daemonpb::RunLambdaResponse>> RunLambda(
      daemonpb::RunLambdaRequest r) override {
    return Answer("RunLambda", run_lambda, std::move(r));
  }

  asio::awaitable<Result<daemonpb::Node>> CreateNode(daemonpb::CreateNodeRequest r) override {
    return Answer("CreateNode", create_node, std::move(r));
  }
  asio::awaitable<Result<daemonpb::ListNodesResponse>> ListNodes(
      daemonpb::ListNodesRequest r) override {
    return Answer("ListNodes", list_nodes, std::move(r));
  }
  asio::awaitable<Result<daemonpb::Node>> GetNode(daemonpb::NodeRef r) override {
    return Answer("GetNode", get_node, std::move(r));
  }
  asio::awaitable<Result<daemonpb::Node>> StartNode(daemonpb::NodeRef r) override {
    return Answer("StartNode", start_node, std::move(r));
  }
  asio::awaitable<Result<daemonpb::Node>> StopNode(daemonpb::NodeRef r) override {
    return Answer("StopNode", stop_node, std::move(r));
  }
  asio::awaitable<Result<daemonpb::DeleteNodeResponse>> DeleteNode(daemonpb::NodeRef r) override {
    return Answer("DeleteNode", delete_node, std::move(r));
  }
  asio::awaitable<Result<daemonpb::ExecNodeResponse>> ExecNode(
      daemonpb::ExecNodeRequest r) override {
    return Answer("ExecNode", exec_node, std::move(r));
  }
  asio::awaitable<Result<daemonpb::NodeMetrics>> GetNodeMetrics(
      daemonpb::GetNodeMetricsRequest r) override {
    return Answer("GetNodeMetrics", get_node_metrics, std::move(r));
  }
  asio::awaitable<Result<daemonpb::HostInfo>> GetHost() override {
    return Answer("GetHost", get_host, daemonpb::GetHostRequest());
  }

 private:
  // Records the call now (not when awaited: a test may inspect `rpcs`
  // before running the coroutine), answers when awaited.
  template <typename Req, typename Resp>
  asio::awaitable<Result<Resp>> Answer(const char* rpc, RecordedRpc<Req, Resp>& slot, Req r) {
    rpcs.push_back(rpc);
    slot.calls.push_back(std::move(r));
    return Reply(&slot);
  }
  template <typename Req, typename Resp>
  static asio::awaitable<Result<Resp>> Reply(RecordedRpc<Req, Resp>* slot) {
    co_return slot->answer;
  }

  class FakeUpload final : public UploadCall {
   public:
    FakeUpload(RecordingDaemonClient* d, size_t i) : d_(d), i_(i) {}
    ~FakeUpload() override {
      if (!over_) Cancel();
    }
    asio::awaitable<Status> Write(std::string* data) override {
      if (!d_->upload_write_error.ok()) {
        over_ = true;
        co_return d_->upload_write_error;
      }
      rec().message_sizes.push_back(data->size());
      rec().data += *data;
      data->clear();
      co_return Status::Ok();
    }
    asio::awaitable<Status> SendPath(std::string path) override {
      rec().sent_path = std::move(path);
      co_return Status::Ok();
    }
    asio::awaitable<Status> SendS3Etag(std::string etag) override {
      rec().sent_s3_etag = std::move(etag);
      co_return Status::Ok();
    }
    asio::awaitable<Result<daemonpb::FileInfo>> Finish() override {
      over_ = true;
      rec().finished = true;
      co_return d_->upload_answer;
    }
    void Cancel() override {
      over_ = true;
      rec().cancelled = true;
    }

   private:
    UploadRecord& rec() { return d_->uploads[i_]; }
    RecordingDaemonClient* d_;
    size_t i_;
    bool over_ = false;
  };

  class FakeDownload final : public DownloadCall {
   public:
    explicit FakeDownload(RecordingDaemonClient* d)
        : d_(d), script_(d->download_script.begin(), d->download_script.end()) {}
    ~FakeDownload() override {
      if (!script_.empty()) ++d_->downloads_abandoned;
    }
    asio::awaitable<Result<bool>> Read(daemonpb::DownloadResponse* msg) override {
      if (script_.empty()) co_return false;
      Result<daemonpb::DownloadResponse> next = std::move(script_.front());
      script_.pop_front();
      if (!next.ok()) {
        script_.clear();
        co_return next.status();
      }
      *msg = *next;
      co_return true;
    }

   private:
    RecordingDaemonClient* d_;
    std::deque<Result<daemonpb::DownloadResponse>> script_;
  };
};

}  // namespace nexus::gateway::testing
