#include "daemon/service.h"

#include <grpcpp/resource_quota.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>
#include <grpcpp/support/slice.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/grpc_status.h"
#include "common/vfs_path.h"
#include "daemon/runtime/node_manager.h"

namespace nexus::daemon {
namespace {

using storage::FileReader;
using storage::FileRecord;
using storage::Upload;

grpc::Status NotYet(const char* rpc) {
  return ToGrpcStatus(UnimplementedError(std::string(rpc) + " is not implemented yet"));
}

// kInternal messages can name host paths, chunk hashes or runc output: the
// client gets a fixed text instead (ARCHITECTURE.md "Errors": a 500 never
// leaks internals). Callers log the real message.
grpc::Status ToClient(const Status& status) {
  if (status.code() == StatusCode::kInternal) return ToGrpcStatus(InternalError("internal error"));
  return ToGrpcStatus(status);
}

// The one exit for domain errors: logs what the client will not see (or
// what an operator should), then converts.
grpc::Status Reply(std::string_view rpc, const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() == StatusCode::kInternal) {
    spdlog::error("{}: {}", rpc, status.message());
  } else if (status.code() == StatusCode::kUnavailable) {
    spdlog::warn("{}: {}", rpc, status.message());
  }
  return ToClient(status);
}

// CANCELLED has no Nexus code: the client that cancelled never reads it.
grpc::Status Cancelled(std::string_view what) {
  return grpc::Status(grpc::StatusCode::CANCELLED, std::string(what) + " cancelled by the client");
}

// The gateway fills `owner` from the validated token; an empty one is a bug
// on its side, never "everybody's files".
Status CheckOwner(std::string_view rpc, const std::string& owner) {
  if (owner.empty()) return InvalidArgumentError(std::string(rpc) + ": owner is empty");
  return Status::Ok();
}

void FillFileInfo(const FileRecord& file, std::string_view vfs_path, v1::FileInfo* out) {
  out->set_id(file.id);
  out->set_name(file.name);
  out->set_size(file.size);
  out->set_chunks_count(file.chunks_count);
  out->set_status(file.status);
  out->set_sha256(file.sha256);
  out->set_created_at(file.created_at);
  out->set_vfs_path(std::string(vfs_path));
}

std::optional<storage::ByteRange> RangeOf(bool has_range, const v1::ByteRange& range) {
  if (!has_range) return std::nullopt;
  return storage::ByteRange{range.offset(), range.length()};
}

// Where the payload of an UploadFileRequest that is exactly one `data` field
// (tag 2, wire type LEN, its length covering the rest of the message) starts
// in `slices` (the serialized message, `total` bytes); nullopt for any other
// message (the header, a path, unknown or repeated fields, a bad varint),
// which the caller then parses the ordinary way.
std::optional<size_t> DataPayloadOffset(const std::vector<grpc::Slice>& slices, size_t total) {
  uint8_t head[11];  // the tag and at most a 10-byte varint
  size_t have = 0;
  for (const grpc::Slice& s : slices) {
    const size_t take = std::min(s.size(), sizeof head - have);
    std::copy_n(s.begin(), take, head + have);
    have += take;
    if (have == sizeof head) break;
  }
  if (have < 2 || head[0] != ((2 << 3) | 2)) return std::nullopt;
  uint64_t length = 0;
  for (size_t i = 1; i < have && i <= 10; ++i) {
    length |= static_cast<uint64_t>(head[i] & 0x7f) << (7 * (i - 1));
    if ((head[i] & 0x80) == 0) {
      if (i + 1 + length != total) return std::nullopt;
      return i + 1;
    }
  }
  return std::nullopt;
}

// Feeds the data messages after the header into `upload` and commits. The
// stream ending (Read false) is either the client's WritesDone or a broken
// call; only the first may commit, so a cancelled call and a stream whose
// size differs from the declared one are refused. `late_path` (set for a
// path_follows upload, else null) receives the trailing vfs_path message,
// which must come after the data and before the commit. On any error the
// Upload, when destroyed by the caller, removes what it stored.
//
// A data message's payload is handed to the upload as the received slices
// themselves (they live until the chunk holding them is stored): no parse
// into a protobuf string, no copy into a chunk buffer. Other messages are
// parsed.
Result<FileRecord> ReceiveUpload(grpc::ServerContext* ctx, grpc::ServerReader<grpc::ByteBuffer>* in,
                                 Upload& upload, int64_t declared_size,
                                 storage::LatePath* late_path) {
  grpc::ByteBuffer raw;
  while (in->Read(&raw)) {
    auto slices = std::make_shared<std::vector<grpc::Slice>>();
    if (!raw.Dump(slices.get()).ok()) {
      return InvalidArgumentError("upload '" + upload.name() + "': an unreadable message");
    }
    if (std::optional<size_t> skip = DataPayloadOffset(*slices, raw.Length())) {
      if (late_path && late_path->has_value()) {
        return InvalidArgumentError("upload '" + upload.name() + "': data after the path");
      }
      for (const grpc::Slice& slice : *slices) {
        std::string_view bytes(reinterpret_cast<const char*>(slice.begin()), slice.size());
        const size_t drop = std::min(*skip, bytes.size());
        bytes.remove_prefix(drop);
        *skip -= drop;
        if (!bytes.empty()) NEXUS_RETURN_IF_ERROR(upload.WriteShared(bytes, slices));
      }
      continue;
    }
    slices.reset();
    v1::UploadFileRequest msg;
    if (!grpc::SerializationTraits<v1::UploadFileRequest>::Deserialize(&raw, &msg).ok()) {
      return InvalidArgumentError("upload '" + upload.name() + "': a malformed message");
    }
    switch (msg.part_case()) {
      case v1::UploadFileRequest::kData:
        if (late_path && late_path->has_value()) {
          return InvalidArgumentError("upload '" + upload.name() + "': data after the path");
        }
        NEXUS_RETURN_IF_ERROR(upload.Write(msg.data()));
        break;
      case v1::UploadFileRequest::kVfsPath:
        if (!late_path) {
          return InvalidArgumentError("upload '" + upload.name() +
                                      "': a path message, but the header did not say "
                                      "path_follows");
        }
        NEXUS_RETURN_IF_ERROR(late_path->Set(msg.vfs_path()));
        break;
      case v1::UploadFileRequest::kHeader:
        return InvalidArgumentError("upload '" + upload.name() + "': a second header message");
      case v1::UploadFileRequest::PART_NOT_SET:
        return InvalidArgumentError("upload '" + upload.name() + "': an empty message");
    }
  }
  // The caller answers CANCELLED; this status is never sent.
  if (ctx->IsCancelled()) return UnavailableError("upload: the call was cancelled");
  if (declared_size >= 0 && upload.bytes_written() != declared_size) {
    return InvalidArgumentError("upload '" + upload.name() + "': received " +
                                std::to_string(upload.bytes_written()) +
                                " bytes, the header declared " + std::to_string(declared_size));
  }
  if (late_path && !late_path->has_value()) {
    return InvalidArgumentError("upload '" + upload.name() + "': the path never arrived");
  }
  return upload.Commit();
}

// Serves one download on raw messages. A producer thread opens nothing and
// decides nothing: it pulls verified pieces from the FileReader and cuts them
// into data messages of kDownloadMessageBytes (the last may be shorter;
// chunks are split, small chunks merged) whose payload slices point into the
// chunk buffers themselves — gRPC writes them to the socket from there, with
// no copy in between. The reactor writes the queued messages one at a time.
//
// The producer reads the next chunk (disk read + SHA-256) while the messages
// of the last one are still being sent, and waits whenever more than
// kReadAheadBytes are queued: a download holds at most that plus one chunk,
// and a slow client stops the reading (gRPC's flow control stops the
// writes). An error after the header (data loss) is sent after the messages
// queued before it, as the stream's status. A cancelled call stops the
// producer at its next step; OnDone joins it, so the FileReader (and its
// chunk leases) is released before the reactor goes away.
class DownloadWriter final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // Takes one of the `slots` counted by the caller; gives it back in OnDone.
  DownloadWriter(std::string_view rpc, std::unique_ptr<FileReader> reader, bool partial,
                 std::string_view vfs_path, std::atomic<int>* slots)
      : rpc_(rpc), reader_(std::move(reader)), slots_(slots) {
    v1::DownloadResponse msg;
    v1::DownloadHeader* header = msg.mutable_header();
    FillFileInfo(reader_->file(), vfs_path, header->mutable_file());
    header->set_offset(reader_->offset());
    header->set_length(reader_->length());
    header->set_partial(partial);
    grpc::ByteBuffer serialized;
    bool own = false;
    // A header we just built serializes unless it is over 2 GiB.
    grpc::SerializationTraits<v1::DownloadResponse>::Serialize(msg, &serialized, &own);
    try {
      // The producer queues the header first: if no thread can be made,
      // nothing was written and the call can still fail cleanly.
      producer_ = std::thread([this, header = std::move(serialized)]() mutable {
        Enqueue(std::move(header), 0);
        Produce();
      });
    } catch (const std::system_error& e) {
      spdlog::error("{}: no thread to serve file {}: {}", rpc_, reader_->file().id, e.what());
      finished_ = true;
      Finish(Reply(rpc_, UnavailableError("download: the server is out of threads; retry")));
    }
  }

 private:
  // Makes room before reading another chunk at this many queued bytes: two
  // messages, so the next chunk is read while the last ones are sent.
  static constexpr size_t kReadAheadBytes = 2 * kDownloadMessageBytes;

  struct Queued {
    grpc::ByteBuffer message;
    size_t bytes;
  };

  void OnWriteDone(bool ok) override {
    const grpc::ByteBuffer* next = nullptr;
    std::optional<grpc::Status> finish;
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      queued_bytes_ -= queue_.front().bytes;
      queue_.pop_front();
      if (!ok) stopped_ = true;  // the call is broken (client gone)
      if (!stopped_ && !queue_.empty()) {
        writing_ = true;
        next = &queue_.front().message;
      } else {
        finish = TakeFinishLocked();
      }
    }
    room_.notify_one();
    if (next) StartWrite(next);
    if (finish) Finish(*finish);
  }

  void OnCancel() override {
    std::optional<grpc::Status> finish;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      finish = TakeFinishLocked();
    }
    room_.notify_one();
    if (finish) Finish(*finish);
  }

  void OnDone() override {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    room_.notify_one();
    // gRPC runs reactions on its own threads, never inline on the producer,
    // which stops at its next step (at most one chunk read).
    if (producer_.joinable()) producer_.join();
    slots_->fetch_sub(1);
    delete this;
  }

  // The status to Finish with, once, when nothing is being written and the
  // stream is over: the producer's outcome, or CANCELLED when stopped.
  std::optional<grpc::Status> TakeFinishLocked() {
    if (finished_ || writing_) return std::nullopt;
    if (stopped_) {
      finished_ = true;
      return Cancelled(rpc_);
    }
    if (!outcome_ || !queue_.empty()) return std::nullopt;
    finished_ = true;
    return *outcome_;
  }

  // Queues a message and starts writing it if nothing is being written.
  void Enqueue(grpc::ByteBuffer message, size_t bytes) {
    const grpc::ByteBuffer* start = nullptr;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      queue_.push_back(Queued{std::move(message), bytes});
      queued_bytes_ += bytes;
      if (!writing_ && !finished_) {
        writing_ = true;
        start = &queue_.front().message;  // deque elements stay put on push_back
      }
    }
    if (start) StartWrite(start);
  }

  // The producer's last word: finish after the queued messages went out.
  void End(grpc::Status status) {
    std::optional<grpc::Status> finish;
    {
      std::lock_guard lock(mu_);
      outcome_ = std::move(status);
      finish = TakeFinishLocked();
    }
    if (finish) Finish(*finish);
  }

  // Waits for room in the queue; false when the call stopped.
  bool WaitForRoom() {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return stopped_ || queued_bytes_ <= kReadAheadBytes; });
    return !stopped_;
  }

  // Sends `pieces` (slices of chunks, kDownloadMessageBytes in all, or less
  // for the last message) as one data message.
  void SendMessage(std::vector<grpc::Slice>& pieces, size_t bytes) {
    // The `data` field's tag and length: the only bytes copied per message.
    char head[16];
    size_t n = 0;
    head[n++] = static_cast<char>((2 << 3) | 2);
    for (uint64_t v = bytes;; v >>= 7) {
      head[n] = static_cast<char>(v & 0x7f);
      if (v < 0x80) {
        ++n;
        break;
      }
      head[n++] |= static_cast<char>(0x80);
    }
    pieces.insert(pieces.begin(), grpc::Slice(head, n));
    Enqueue(grpc::ByteBuffer(pieces.data(), pieces.size()), bytes);
    pieces.clear();
  }

  void Produce() {
    std::vector<grpc::Slice> pieces;  // of the message being assembled
    size_t pending = 0;               // its payload bytes
    int64_t sent = 0;
    for (;;) {
      if (!WaitForRoom()) return;
      Result<FileReader::Piece> piece = reader_->NextPiece();
      if (!piece.ok()) {
        // The header promised bytes we cannot deliver: the client must see the
        // response fail, not end short.
        spdlog::error("{}: file {} of '{}' failed after {} of {} bytes: {}", rpc_,
                      reader_->file().id, reader_->file().owner,
                      sent + static_cast<int64_t>(pending), reader_->length(),
                      piece.status().ToString());
        End(ToClient(piece.status()));
        return;
      }
      if (piece->bytes.empty()) break;
      // One reference-counted slice per chunk; the messages take sub-slices of
      // it, and the chunk is freed when gRPC released the last of them.
      auto* owner = new std::shared_ptr<const void>(std::move(piece->chunk));
      grpc::Slice chunk(
          const_cast<char*>(piece->bytes.data()), piece->bytes.size(),
          [](void* p) { delete static_cast<std::shared_ptr<const void>*>(p); }, owner);
      size_t at = 0;
      while (at < chunk.size()) {
        const size_t take = std::min(chunk.size() - at, kDownloadMessageBytes - pending);
        pieces.push_back(chunk.sub(at, at + take));
        at += take;
        pending += take;
        if (pending == kDownloadMessageBytes) {
          SendMessage(pieces, pending);
          sent += static_cast<int64_t>(pending);
          pending = 0;
        }
      }
    }
    if (pending > 0) {
      SendMessage(pieces, pending);
      sent += static_cast<int64_t>(pending);
    }
    if (sent != reader_->length()) {
      End(Reply(rpc_,
                InternalError("file " + reader_->file().id + ": sent " + std::to_string(sent) +
                              " bytes of a range of " + std::to_string(reader_->length()))));
      return;
    }
    End(grpc::Status::OK);
  }

  const std::string rpc_;
  std::unique_ptr<FileReader> reader_;  // the producer's alone once it started
  std::atomic<int>* const slots_;
  std::thread producer_;

  std::mutex mu_;
  std::condition_variable room_;         // the producer waits here for queue room
  std::deque<Queued> queue_;             // guarded by mu_; front() is being written when writing_
  size_t queued_bytes_ = 0;              // guarded by mu_
  bool writing_ = false;                 // guarded by mu_
  bool stopped_ = false;                 // guarded by mu_: cancelled or a write failed
  bool finished_ = false;                // guarded by mu_: Finish was called
  std::optional<grpc::Status> outcome_;  // guarded by mu_: the producer's end
};

// A download that fails before it starts (bad request, not found, 416).
class FailedDownload final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit FailedDownload(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// The request of a raw download call.
template <typename Req>
Result<Req> ParseRequest(const grpc::ByteBuffer* raw) {
  grpc::ByteBuffer copy(*raw);  // Deserialize consumes its buffer; this copies references only
  Req req;
  if (!grpc::SerializationTraits<Req>::Deserialize(&copy, &req).ok()) {
    return InvalidArgumentError("download: malformed request");
  }
  return req;
}

}  // namespace

void ConfigureServer(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  grpc::ResourceQuota quota("nexusd");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);  // takes its own reference
}

DaemonService::DaemonService(Deps deps) : deps_(deps) {
  assert(deps_.health != nullptr);
  // UploadFile on raw messages (see UploadFileRaw). A method's index is its
  // place in the proto's service (as the generated WithRawMethod_ classes
  // number it), looked up rather than written down so that adding a method
  // cannot move the raw handler onto another one.
  const int upload_index = v1::FileInfo::descriptor()
                               ->file()
                               ->FindServiceByName("Daemon")
                               ->FindMethodByName("UploadFile")
                               ->index();
  MarkMethodStreamed(
      upload_index,
      new grpc::internal::ClientStreamingHandler<DaemonService, grpc::ByteBuffer, v1::FileInfo>(
          [](DaemonService* service, grpc::ServerContext* ctx,
             grpc::ServerReader<grpc::ByteBuffer>* in,
             v1::FileInfo* resp) { return service->UploadFileRaw(ctx, in, resp); },
          this));
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* DaemonService::ServeDownload(
    std::string_view rpc, std::unique_ptr<FileReader> reader, bool partial,
    std::string_view vfs_path) {
  if (downloads_.fetch_add(1) >= kMaxConcurrentDownloads) {
    downloads_.fetch_sub(1);
    return new FailedDownload(
        Reply(rpc, UnavailableError("download: " + std::to_string(kMaxConcurrentDownloads) +
                                    " downloads are running; retry shortly")));
  }
  return new DownloadWriter(rpc, std::move(reader), partial, vfs_path, &downloads_);
}

grpc::Status DaemonService::Health(grpc::ServerContext*, const v1::HealthRequest*,
                                   v1::HealthResponse* resp) {
  Status s = deps_.health->Check();
  if (!s.ok()) return Reply("health", s);
  resp->set_status("ok");
  return grpc::Status::OK;
}

// ---- Files -----------------------------------------------------------------

grpc::Status DaemonService::UploadFileRaw(grpc::ServerContext* ctx,
                                          grpc::ServerReader<grpc::ByteBuffer>* in,
                                          v1::FileInfo* resp) {
  constexpr std::string_view kRpc = "upload";
  if (!deps_.files) return NotYet("UploadFile");
  grpc::ByteBuffer raw;
  if (!in->Read(&raw)) {
    if (ctx->IsCancelled()) return Cancelled(kRpc);
    return Reply(kRpc, InvalidArgumentError("upload: the stream is empty (expected a header)"));
  }
  v1::UploadFileRequest first;
  if (!grpc::SerializationTraits<v1::UploadFileRequest>::Deserialize(&raw, &first).ok() ||
      !first.has_header()) {
    return Reply(kRpc, InvalidArgumentError("upload: the first message must be the header"));
  }
  const v1::UploadHeader& h = first.header();
  if (Status s = CheckOwner(kRpc, h.owner()); !s.ok()) return Reply(kRpc, s);
  if (h.declared_size() < -1) {
    return Reply(kRpc, InvalidArgumentError("upload: declared_size must be -1 or a size"));
  }

  std::string vfs_path;  // normalised; empty for a raw Files API upload
  if (!h.vfs_path().empty()) {
    if (h.path_follows()) {
      return Reply(kRpc, InvalidArgumentError("upload: a vfs_path and path_follows together"));
    }
    if (!deps_.tree) return NotYet("UploadFile to a path");
    Result<std::string> normalized = NormalizeVfsPath(h.vfs_path());
    if (!normalized.ok()) return Reply(kRpc, normalized.status().WithContext("upload"));
    vfs_path = std::move(normalized).value();
  }
  std::shared_ptr<storage::LatePath> late_path;
  if (h.path_follows()) {
    if (!deps_.tree) return NotYet("UploadFile to a path");
    late_path = std::make_shared<storage::LatePath>();
  }
  Result<std::unique_ptr<Upload>> upload = [&]() -> Result<std::unique_ptr<Upload>> {
    if (late_path) {
      return deps_.tree->BeginUploadPathLater(h.owner(), h.file_name(), h.declared_size(),
                                              late_path);
    }
    if (vfs_path.empty()) return deps_.files->Begin(h.owner(), h.file_name(), h.declared_size());
    return deps_.tree->BeginUpload(h.owner(), vfs_path, h.declared_size());
  }();
  if (!upload.ok()) return Reply(kRpc, upload.status());

  Result<FileRecord> file = ReceiveUpload(ctx, in, **upload, h.declared_size(), late_path.get());
  if (!file.ok()) {
    (*upload)->Abort();
    if (ctx->IsCancelled()) {
      spdlog::info("upload of '{}' by '{}' cancelled after {} bytes; nothing kept",
                   (*upload)->name(), h.owner(), (*upload)->bytes_written());
      return Cancelled(kRpc);
    }
    return Reply(kRpc, file.status());
  }
  if (late_path) vfs_path = late_path->path();
  FillFileInfo(*file, vfs_path, resp);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ListFiles(grpc::ServerContext*, const v1::ListFilesRequest* req,
                                      v1::ListFilesResponse* resp) {
  constexpr std::string_view kRpc = "list files";
  if (!deps_.files) return NotYet("ListFiles");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::vector<FileRecord>> files = deps_.files->List(req->owner());
  if (!files.ok()) return Reply(kRpc, files.status());
  for (const FileRecord& f : *files) FillFileInfo(f, "", resp->add_files());
  return grpc::Status::OK;
}

grpc::Status DaemonService::GetFile(grpc::ServerContext*, const v1::GetFileRequest* req,
                                    v1::FileInfo* resp) {
  constexpr std::string_view kRpc = "get file";
  if (!deps_.files) return NotYet("GetFile");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<FileRecord> file = deps_.files->Get(req->owner(), req->id());
  if (!file.ok()) return Reply(kRpc, file.status());
  FillFileInfo(*file, "", resp);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* DaemonService::DownloadFile(
    grpc::CallbackServerContext*, const grpc::ByteBuffer* raw) {
  constexpr std::string_view kRpc = "download file";
  if (!deps_.files) return new FailedDownload(NotYet("DownloadFile"));
  Result<v1::DownloadFileRequest> req = ParseRequest<v1::DownloadFileRequest>(raw);
  if (!req.ok()) return new FailedDownload(Reply(kRpc, req.status()));
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) {
    return new FailedDownload(Reply(kRpc, s));
  }
  // A metadata lookup, on gRPC's callback thread: as short as the unary calls'.
  Result<std::unique_ptr<FileReader>> reader =
      deps_.files->Open(req->owner(), req->id(), RangeOf(req->has_range(), req->range()));
  if (!reader.ok()) return new FailedDownload(Reply(kRpc, reader.status()));
  return ServeDownload(kRpc, std::move(*reader), req->has_range(), "");
}

grpc::Status DaemonService::DeleteFile(grpc::ServerContext*, const v1::DeleteFileRequest* req,
                                       v1::DeleteFileResponse*) {
  constexpr std::string_view kRpc = "delete file";
  if (!deps_.files) return NotYet("DeleteFile");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  return Reply(kRpc, deps_.files->Delete(req->owner(), req->id()));
}

// ---- Virtual file system -----------------------------------------------------

grpc::Status DaemonService::MakeDirectory(grpc::ServerContext*, const v1::MakeDirectoryRequest* req,
                                          v1::MakeDirectoryResponse* resp) {
  constexpr std::string_view kRpc = "make directory";
  if (!deps_.tree) return NotYet("MakeDirectory");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::string> path = deps_.tree->MakeDirectory(req->owner(), req->path());
  if (!path.ok()) return Reply(kRpc, path.status());
  resp->set_path(*path);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ListDirectory(grpc::ServerContext*, const v1::ListDirectoryRequest* req,
                                          v1::ListDirectoryResponse* resp) {
  constexpr std::string_view kRpc = "list directory";
  if (!deps_.tree) return NotYet("ListDirectory");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::vector<storage::TreeEntry>> entries = deps_.tree->List(req->owner(), req->path());
  if (!entries.ok()) return Reply(kRpc, entries.status());
  for (const storage::TreeEntry& e : *entries) {
    v1::DirEntry* out = resp->add_entries();
    out->set_name(e.name);
    out->set_type(std::string(storage::EntryKindName(e.kind)));
    out->set_size(e.size);
    out->set_modified(e.modified);
    out->set_id(e.file_id);
  }
  return grpc::Status::OK;
}

grpc::Status DaemonService::DeletePath(grpc::ServerContext*, const v1::DeletePathRequest* req,
                                       v1::DeletePathResponse* resp) {
  constexpr std::string_view kRpc = "delete path";
  if (!deps_.tree) return NotYet("DeletePath");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<storage::TreeDeleteCounts> counts = deps_.tree->Delete(req->owner(), req->path());
  if (!counts.ok()) return Reply(kRpc, counts.status());
  resp->set_files_deleted(counts->files);
  resp->set_folders_deleted(counts->folders);
  return grpc::Status::OK;
}

grpc::Status DaemonService::MovePath(grpc::ServerContext*, const v1::MovePathRequest* req,
                                     v1::MovePathResponse* resp) {
  constexpr std::string_view kRpc = "move path";
  if (!deps_.tree) return NotYet("MovePath");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::string> to = deps_.tree->Move(req->owner(), req->old_path(), req->new_path());
  if (!to.ok()) return Reply(kRpc, to.status());
  // Move succeeded, so the old path normalises.
  Result<std::string> from = NormalizeVfsPath(req->old_path());
  resp->set_old_path(from.ok() ? *from : req->old_path());
  resp->set_new_path(*to);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* DaemonService::DownloadPath(
    grpc::CallbackServerContext*, const grpc::ByteBuffer* raw) {
  constexpr std::string_view kRpc = "download path";
  if (!deps_.tree) return new FailedDownload(NotYet("DownloadPath"));
  Result<v1::DownloadPathRequest> req = ParseRequest<v1::DownloadPathRequest>(raw);
  if (!req.ok()) return new FailedDownload(Reply(kRpc, req.status()));
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) {
    return new FailedDownload(Reply(kRpc, s));
  }
  Result<std::string> path = NormalizeVfsPath(req->path());
  if (!path.ok()) return new FailedDownload(Reply(kRpc, path.status().WithContext("download")));
  Result<std::unique_ptr<FileReader>> reader =
      deps_.tree->Open(req->owner(), *path, RangeOf(req->has_range(), req->range()));
  if (!reader.ok()) return new FailedDownload(Reply(kRpc, reader.status()));
  return ServeDownload(kRpc, std::move(*reader), req->has_range(), *path);
}

grpc::Status DaemonService::GetUsage(grpc::ServerContext*, const v1::GetUsageRequest* req,
                                     v1::Usage* resp) {
  constexpr std::string_view kRpc = "usage";
  if (!deps_.tree) return NotYet("GetUsage");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<storage::TreeUsage> usage = deps_.tree->Usage(req->owner());
  if (!usage.ok()) return Reply(kRpc, usage.status());
  resp->set_used_bytes(usage->used_bytes);
  resp->set_quota_bytes(usage->quota_bytes);
  resp->set_files(usage->files);
  resp->set_folders(usage->folders);
  return grpc::Status::OK;
}

// ---- Nodes -------------------------------------------------------------------

namespace {

void FillNode(const runtime::NodeInfo& node, v1::Node* out) {
  out->set_id(node.id);
  out->set_ip(node.ip);
  out->set_status(node.status);
  out->set_memory_mb(node.memory_mb);
  out->set_cpu_shares(node.cpu_shares);
  out->set_storage_size(node.storage_size);
  out->set_created_at(node.created_at);
}

// One shape for the NodeRef RPCs that answer a Node (Get, Start, Stop).
template <typename Fn>
grpc::Status NodeCall(std::string_view rpc, runtime::NodeManager* nodes, const v1::NodeRef* req,
                      v1::Node* resp, Fn fn) {
  if (Status s = CheckOwner(rpc, req->owner()); !s.ok()) return Reply(rpc, s);
  Result<runtime::NodeInfo> node = fn(*nodes, req->owner(), req->id());
  if (!node.ok()) return Reply(rpc, node.status());
  FillNode(*node, resp);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status DaemonService::CreateNode(grpc::ServerContext*, const v1::CreateNodeRequest* req,
                                       v1::Node* resp) {
  constexpr std::string_view kRpc = "create node";
  if (!deps_.nodes) return NotYet("CreateNode");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<runtime::NodeInfo> node = deps_.nodes->Create(
      {req->owner(), req->name(), req->memory_mb(), req->cpu_shares(), req->storage_size()});
  if (!node.ok()) return Reply(kRpc, node.status());
  FillNode(*node, resp);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* req,
                                      v1::ListNodesResponse* resp) {
  constexpr std::string_view kRpc = "list nodes";
  if (!deps_.nodes) return NotYet("ListNodes");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::vector<runtime::NodeInfo>> nodes = deps_.nodes->List(req->owner());
  if (!nodes.ok()) return Reply(kRpc, nodes.status());
  for (const runtime::NodeInfo& n : *nodes) FillNode(n, resp->add_nodes());
  return grpc::Status::OK;
}

grpc::Status DaemonService::GetNode(grpc::ServerContext*, const v1::NodeRef* req, v1::Node* resp) {
  if (!deps_.nodes) return NotYet("GetNode");
  return NodeCall("get node", deps_.nodes, req, resp,
                  [](runtime::NodeManager& m, const std::string& owner, const std::string& id) {
                    return m.Get(owner, id);
                  });
}

grpc::Status DaemonService::StartNode(grpc::ServerContext*, const v1::NodeRef* req,
                                      v1::Node* resp) {
  if (!deps_.nodes) return NotYet("StartNode");
  return NodeCall("start node", deps_.nodes, req, resp,
                  [](runtime::NodeManager& m, const std::string& owner, const std::string& id) {
                    return m.Start(owner, id);
                  });
}

grpc::Status DaemonService::StopNode(grpc::ServerContext*, const v1::NodeRef* req, v1::Node* resp) {
  if (!deps_.nodes) return NotYet("StopNode");
  return NodeCall("stop node", deps_.nodes, req, resp,
                  [](runtime::NodeManager& m, const std::string& owner, const std::string& id) {
                    return m.Stop(owner, id);
                  });
}

grpc::Status DaemonService::DeleteNode(grpc::ServerContext*, const v1::NodeRef* req,
                                       v1::DeleteNodeResponse*) {
  constexpr std::string_view kRpc = "delete node";
  if (!deps_.nodes) return NotYet("DeleteNode");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  return Reply(kRpc, deps_.nodes->Delete(req->owner(), req->id()));
}

grpc::Status DaemonService::ExecNode(grpc::ServerContext*, const v1::ExecNodeRequest* req,
                                     v1::ExecNodeResponse* resp) {
  constexpr std::string_view kRpc = "exec in node";
  if (!deps_.nodes) return NotYet("ExecNode");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  runtime::ExecNodeRequest exec;
  exec.owner = req->owner();
  exec.id = req->id();
  exec.command.assign(req->command().begin(), req->command().end());
  exec.timeout_ms = req->timeout_ms();
  Result<runtime::ExecNodeResult> result = deps_.nodes->Exec(exec);
  if (!result.ok()) return Reply(kRpc, result.status());
  resp->set_stdout(std::move(result->stdout_data));
  resp->set_stderr(std::move(result->stderr_data));
  resp->set_exit_code(result->exit_code);
  resp->set_stdout_truncated(result->stdout_truncated);
  resp->set_stderr_truncated(result->stderr_truncated);
  resp->set_timed_out(result->timed_out);
  return grpc::Status::OK;
}

grpc::Status DaemonService::GetNodeMetrics(grpc::ServerContext*,
                                           const v1::GetNodeMetricsRequest* req,
                                           v1::NodeMetrics* resp) {
  constexpr std::string_view kRpc = "node metrics";
  if (!deps_.nodes) return NotYet("GetNodeMetrics");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<runtime::NodeMetrics> m = deps_.nodes->GetMetrics(req->owner(), req->id(), req->history());
  if (!m.ok()) return Reply(kRpc, m.status());
  resp->set_node_id(m->node_id);
  resp->set_memory_usage(m->memory_usage);
  resp->set_memory_limit(m->memory_limit);
  resp->set_cpu_percent(m->cpu_percent);
  for (const runtime::MetricsPoint& p : m->history) {
    v1::MetricsSample* out = resp->add_history();
    out->set_timestamp_ms(p.timestamp_ms);
    out->set_memory_usage(p.memory_usage);
    out->set_cpu_percent(p.cpu_percent);
  }
  return grpc::Status::OK;
}

// ---- Lambda ------------------------------------------------------------------

grpc::Status DaemonService::RunLambda(grpc::ServerContext*, const v1::RunLambdaRequest* req,
                                      v1::RunLambdaResponse* resp) {
  constexpr std::string_view kRpc = "lambda";
  if (!deps_.lambda) return NotYet("RunLambda");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  runtime::LambdaRequest run;
  run.code = req->code();
  run.runtime = req->runtime();
  run.stdin_data = req->stdin();
  run.timeout_ms = req->timeout_ms();
  run.memory_mb = req->memory_mb();
  run.owner = req->owner();
  Result<runtime::LambdaResult> result = deps_.lambda->Run(run);
  if (!result.ok()) return Reply(kRpc, result.status());
  resp->set_stdout(std::move(result->stdout_data));
  resp->set_stderr(std::move(result->stderr_data));
  resp->set_exit_code(result->exit_code);
  resp->set_execution_time_ms(result->execution_time_ms);
  resp->set_signal(result->signal);
  resp->set_timed_out(result->timed_out);
  resp->set_oom_killed(result->oom_killed);
  resp->set_stdout_truncated(result->stdout_truncated);
  resp->set_stderr_truncated(result->stderr_truncated);
  return grpc::Status::OK;
}

}  // namespace nexus::daemon
