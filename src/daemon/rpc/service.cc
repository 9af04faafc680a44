#include "daemon/rpc/service.h"

#include <grpcpp/resource_quota.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>
#include <grpcpp/support/slice.h>
#include <grpcpp/support/sync_stream.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "common/grpc_status.h"
#include "common/vfs_path.h"
#include "daemon/nodes/node_manager.h"
#include "daemon/storage/chunk_store.h"

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
// A full disk likewise: the client gets "insufficient storage" alone,
// whatever context (file names, chunk hashes) was added on the way up.
grpc::Status ToClient(const Status& status) {
  if (status.code() == StatusCode::kInternal) return ToGrpcStatus(InternalError("internal error"));
  if (storage::IsInsufficientStorage(status)) {
    return ToGrpcStatus(storage::InsufficientStorageError());
  }
  return ToGrpcStatus(status);
}

// The one exit for domain errors: logs what the client will not see (or
// what an operator should), then converts.
grpc::Status Reply(std::string_view rpc, const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() == StatusCode::kInternal) {
    spdlog::error("{}: {}", rpc, status.message());
  } else if (status.code() == StatusCode::kUnavailable || storage::IsInsufficientStorage(status)) {
    spdlog::warn("{}: {}", rpc, status.message());
  }
  return ToClient(status);
}

// CANCELLED has no Nexus code: the client that cancelled never reads it.
grpc::Status Cancelled(std::string_view what) {
  return grpc::Status(grpc::StatusCode::CANCELLED, std::string(what) + " cancelled by the client");
}

// A slot of `slots` for `owner`: the refusal (kRateLimited) when the owner
// holds their share or the server its cap of that kind of call.
Result<UserSlots::Lease> Admit(std::string_view rpc, UserSlots& slots, const std::string& owner) {
  Result<UserSlots::Lease> lease = slots.TryAcquire(owner);
  if (!lease.ok()) spdlog::debug("{} for '{}' refused: {}", rpc, owner, lease.status().message());
  return lease;
}

// A stream's Read and Write, timed by the call's idle watch.
template <typename Stream, typename Message>
bool WatchedRead(StreamWatchdog::Watch& watch, Stream* stream, Message* msg) {
  watch.Waiting();
  const bool ok = stream->Read(msg);
  watch.Done();
  return ok;
}
template <typename Stream>
bool WatchedWrite(StreamWatchdog::Watch& watch, Stream* stream, const grpc::ByteBuffer& msg) {
  watch.Waiting();
  const bool ok = stream->Write(msg);
  watch.Done();
  return ok;
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
                                 StreamWatchdog::Watch& watch, Upload& upload,
                                 int64_t declared_size, storage::LatePath* late_path) {
  grpc::ByteBuffer raw;
  while (WatchedRead(watch, in, &raw)) {
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

// Reads a download ahead of its writer. A thread of its own pulls verified
// pieces from the FileReader (disk read + SHA-256) and cuts them into data
// messages of kDownloadMessageBytes (the last may be shorter; chunks are
// split, small chunks merged) whose payload slices point into the chunk
// buffers themselves: gRPC writes them to the socket from there, with no
// copy in between.
//
// Why this split: a sync handler's Write blocks until gRPC took the message
// (flow control), so reading the next chunk must happen on another thread to
// overlap with it. The handler's thread keeps what touches the call (the
// writes, the cancellation checks, the final status), so a call lives and
// ends in one function; this thread touches only the FileReader and the
// queue, and nothing of it outlives the ReadAhead.
//
// The thread waits whenever more than kReadAheadBytes are queued (a message
// counts until Written): a download holds at most that plus one chunk, and a
// slow client, whose Writes block, stops the reading. An error after the
// header (data loss) comes out of Next after the messages queued before it.
// Stop, and so the destructor, makes the thread end at its next step (at
// most one chunk read) and joins it; the FileReader may go only after that.
class ReadAhead {
 public:
  struct Message {
    grpc::ByteBuffer buffer;
    size_t bytes = 0;  // its payload: what Written gives back
  };

  // `rpc` names the call in logs; `reader` must outlive this object.
  ReadAhead(std::string_view rpc, FileReader& reader) : rpc_(rpc), reader_(reader) {}
  ~ReadAhead() { Stop(); }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Starts the reading thread (named "download", to be found in
  // /proc/<pid>/task); kUnavailable when no thread can be made.
  Status Start() {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::exception& e) {
      return UnavailableError("download of file " + reader_.file().id +
                              ": no thread to read it: " + e.what());
    }
    pthread_setname_np(thread_.native_handle(), "download");
    return Status::Ok();
  }

  // Waits for the next message to write. nullopt when none is left, with
  // `*end` set to the stream's final status.
  std::optional<Message> Next(grpc::Status* end) {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty() || outcome_.has_value(); });
    if (queue_.empty()) {
      *end = *outcome_;
      return std::nullopt;
    }
    Message next = std::move(queue_.front());
    queue_.pop_front();
    return next;
  }

  // A message from Next was written: its bytes make room for more.
  void Written(size_t bytes) {
    {
      std::lock_guard lock(mu_);
      queued_bytes_ -= bytes;
    }
    room_.notify_one();
  }

  // Ends the reading (at its next step) and waits for the thread.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    room_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  // Makes room before reading another chunk at this many queued bytes: two
  // messages, so the next chunk is read while the last ones are sent.
  static constexpr size_t kReadAheadBytes = 2 * kDownloadMessageBytes;

  // Waits for room in the queue; false when stopped.
  bool WaitForRoom() {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return stopped_ || queued_bytes_ <= kReadAheadBytes; });
    return !stopped_;
  }

  void Enqueue(grpc::ByteBuffer buffer, size_t bytes) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(Message{std::move(buffer), bytes});
      queued_bytes_ += bytes;
    }
    ready_.notify_one();
  }

  // The last word: Next answers `status` once the queue is empty.
  void End(grpc::Status status) {
    {
      std::lock_guard lock(mu_);
      outcome_ = std::move(status);
    }
    ready_.notify_one();
  }

  // Produce, with an exception (an allocation that failed) ending this call
  // with an error instead of ending the daemon, as it would on this thread.
  void Run() {
    try {
      Produce();
    } catch (const std::exception& e) {
      spdlog::error("{}: reading file {} of '{}' failed: {}", rpc_, reader_.file().id,
                    reader_.file().owner, e.what());
      End(ToClient(InternalError(std::string("download: ") + e.what())));
    }
  }

  // Queues `pieces` (slices of chunks, kDownloadMessageBytes in all, or less
  // for the last message) as one data message.
  void QueueMessage(std::vector<grpc::Slice>& pieces, size_t bytes) {
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
      // A stopped download ends here without an outcome: nobody reads it.
      if (!WaitForRoom()) return;
      Result<FileReader::Piece> piece = reader_.NextPiece();
      if (!piece.ok()) {
        // Bytes the file promises that we cannot deliver: the call fails
        // (before the header if this is the first message), never ends short.
        spdlog::error("{}: file {} of '{}' failed after {} of {} bytes: {}", rpc_,
                      reader_.file().id, reader_.file().owner, sent + static_cast<int64_t>(pending),
                      reader_.length(), piece.status().ToString());
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
          QueueMessage(pieces, pending);
          sent += static_cast<int64_t>(pending);
          pending = 0;
        }
      }
    }
    if (pending > 0) {
      QueueMessage(pieces, pending);
      sent += static_cast<int64_t>(pending);
    }
    if (sent != reader_.length()) {
      End(Reply(rpc_, InternalError("file " + reader_.file().id + ": sent " + std::to_string(sent) +
                                    " bytes of a range of " + std::to_string(reader_.length()))));
      return;
    }
    End(grpc::Status::OK);
  }

  const std::string rpc_;
  FileReader& reader_;  // used by the thread alone once it started
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable room_;         // the thread waits here for queue room
  std::condition_variable ready_;        // Next waits here for a message or the end
  std::deque<Message> queue_;            // guarded by mu_
  size_t queued_bytes_ = 0;              // guarded by mu_: queued or being written
  bool stopped_ = false;                 // guarded by mu_
  std::optional<grpc::Status> outcome_;  // guarded by mu_: how the stream ends
};

// The request of a raw download call: its only message.
template <typename Req>
Result<Req> ReadRequest(RawDownloadStream* stream, StreamWatchdog::Watch& watch) {
  grpc::ByteBuffer raw;
  if (!WatchedRead(watch, stream, &raw)) {
    return InvalidArgumentError("download: no request message");
  }
  Req req;
  if (!grpc::SerializationTraits<Req>::Deserialize(&raw, &req).ok()) {
    return InvalidArgumentError("download: malformed request");
  }
  return req;
}

}  // namespace

void ConfigureServer(grpc::ServerBuilder& builder, const CallLimits& limits) {
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  grpc::ResourceQuota quota("nexusd");
  quota.SetMaxThreads(ServerThreadsFor(limits));
  builder.SetResourceQuota(quota);  // takes its own reference
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              kMaxIdleServerThreads);
}

DaemonService::DaemonService(Deps deps, const CallLimits& limits)
    : deps_(deps), admission_(limits), watchdog_(limits.stream_idle_timeout) {
  assert(deps_.health != nullptr);
  // A method's index is its place in the proto's service (as the generated
  // WithRawMethod_ classes number it), looked up rather than written down so
  // that adding a method cannot move a raw handler onto another one.
  const auto index = [](const char* method) {
    return v1::FileInfo::descriptor()
        ->file()
        ->FindServiceByName("Daemon")
        ->FindMethodByName(method)
        ->index();
  };
  // UploadFile on raw messages (see UploadFileRaw).
  MarkMethodStreamed(
      index("UploadFile"),
      new grpc::internal::ClientStreamingHandler<DaemonService, grpc::ByteBuffer, v1::FileInfo>(
          [](DaemonService* service, grpc::ServerContext* ctx,
             grpc::ServerReader<grpc::ByteBuffer>* in,
             v1::FileInfo* resp) { return service->UploadFileRaw(ctx, in, resp); },
          this));
  // The downloads on raw messages, as sync server-streaming calls. Not with
  // grpc::internal::ServerStreamingHandler: MarkMethodStreamed makes the
  // method BIDI_STREAMING, for which gRPC does not read the request before
  // the handler, so that handler would get none. The split-streaming handler
  // (what the generated WithSplitStreamedMethod_ uses) reads it from the
  // stream instead; the wire is the same.
  using Split = grpc::internal::SplitServerStreamingHandler<grpc::ByteBuffer, grpc::ByteBuffer>;
  MarkMethodStreamed(
      index("DownloadFile"),
      new Split([this](grpc::ServerContext* ctx,
                       grpc::ServerSplitStreamer<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
        return DownloadFileRaw(ctx, stream);
      }));
  MarkMethodStreamed(
      index("DownloadPath"),
      new Split([this](grpc::ServerContext* ctx,
                       grpc::ServerSplitStreamer<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
        return DownloadPathRaw(ctx, stream);
      }));
}

// The handler's thread writes while a ReadAhead reads; see there why.
grpc::Status DaemonService::ServeDownload(grpc::ServerContext* ctx, RawDownloadStream* stream,
                                          StreamWatchdog::Watch& watch, std::string_view rpc,
                                          std::unique_ptr<FileReader> reader, bool partial,
                                          std::string_view vfs_path) {
  Result<UserSlots::Lease> slot = Admit(rpc, admission_.downloads, reader->file().owner);
  if (!slot.ok()) return Reply(rpc, slot.status());
  v1::DownloadResponse msg;
  v1::DownloadHeader* header = msg.mutable_header();
  FillFileInfo(reader->file(), vfs_path, header->mutable_file());
  header->set_offset(reader->offset());
  header->set_length(reader->length());
  header->set_partial(partial);
  grpc::ByteBuffer serialized;
  bool own = false;
  // A header we just built serializes unless it is over 2 GiB.
  grpc::SerializationTraits<v1::DownloadResponse>::Serialize(msg, &serialized, &own);

  // A local, so on every path out of here it is stopped and joined before
  // the parameter `reader` (and with it the chunk leases) goes.
  ReadAhead ahead(rpc, *reader);
  // Started before the header goes out: if no thread can be made, nothing
  // was written and the call still fails cleanly.
  if (Status s = ahead.Start(); !s.ok()) {
    spdlog::error("{}: {}", rpc, s.message());
    return ToClient(UnavailableError("download: the server is out of threads; retry"));
  }
  // The header waits for the first message, whose chunks are then read and
  // verified: a first chunk that is missing or corrupt fails the call before
  // anything was sent, so the client gets an error status (a 500) instead of
  // a 200 that breaks off. A later one can only break the stream off.
  grpc::Status end;
  std::optional<ReadAhead::Message> first = ahead.Next(&end);
  if (!first && !end.ok()) return end;
  // A failed Write is a broken call (client gone, or stalled past the idle
  // timeout); IsCancelled spares the write of a call already known to be over.
  auto broken = [&] {
    if (watch.fired()) {
      spdlog::warn(
          "{}: file {} of '{}': the client took nothing for {} s; cancelled", rpc,
          reader->file().id, reader->file().owner,
          std::chrono::duration_cast<std::chrono::seconds>(watchdog_.idle_timeout()).count());
    }
    return Cancelled(rpc);
  };
  if (!WatchedWrite(watch, stream, serialized)) return broken();
  for (std::optional<ReadAhead::Message> next = std::move(first); next; next = ahead.Next(&end)) {
    if (ctx->IsCancelled() || !WatchedWrite(watch, stream, next->buffer)) return broken();
    ahead.Written(next->bytes);
  }
  return end;
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
  StreamWatchdog::Watch watch = watchdog_.Register([ctx] { ctx->TryCancel(); });
  grpc::ByteBuffer raw;
  if (!WatchedRead(watch, in, &raw)) {
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
  Result<UserSlots::Lease> slot = Admit(kRpc, admission_.uploads, h.owner());
  if (!slot.ok()) return Reply(kRpc, slot.status());

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

  Result<FileRecord> file =
      ReceiveUpload(ctx, in, watch, **upload, h.declared_size(), late_path.get());
  if (!file.ok()) {
    (*upload)->Abort();
    if (watch.fired()) {
      spdlog::warn(
          "upload of '{}' by '{}': nothing arrived for {} s; cancelled after {} bytes",
          (*upload)->name(), h.owner(),
          std::chrono::duration_cast<std::chrono::seconds>(watchdog_.idle_timeout()).count(),
          (*upload)->bytes_written());
      return Cancelled(kRpc);
    }
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

grpc::Status DaemonService::DownloadFileRaw(grpc::ServerContext* ctx, RawDownloadStream* stream) {
  constexpr std::string_view kRpc = "download file";
  if (!deps_.files) return NotYet("DownloadFile");
  StreamWatchdog::Watch watch = watchdog_.Register([ctx] { ctx->TryCancel(); });
  Result<v1::DownloadFileRequest> req = ReadRequest<v1::DownloadFileRequest>(stream, watch);
  if (!req.ok()) return ctx->IsCancelled() ? Cancelled(kRpc) : Reply(kRpc, req.status());
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::unique_ptr<FileReader>> reader =
      deps_.files->Open(req->owner(), req->id(), RangeOf(req->has_range(), req->range()));
  if (!reader.ok()) return Reply(kRpc, reader.status());
  return ServeDownload(ctx, stream, watch, kRpc, std::move(*reader), req->has_range(), "");
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

grpc::Status DaemonService::DownloadPathRaw(grpc::ServerContext* ctx, RawDownloadStream* stream) {
  constexpr std::string_view kRpc = "download path";
  if (!deps_.tree) return NotYet("DownloadPath");
  StreamWatchdog::Watch watch = watchdog_.Register([ctx] { ctx->TryCancel(); });
  Result<v1::DownloadPathRequest> req = ReadRequest<v1::DownloadPathRequest>(stream, watch);
  if (!req.ok()) return ctx->IsCancelled() ? Cancelled(kRpc) : Reply(kRpc, req.status());
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::string> path = NormalizeVfsPath(req->path());
  if (!path.ok()) return Reply(kRpc, path.status().WithContext("download"));
  Result<std::unique_ptr<FileReader>> reader =
      deps_.tree->Open(req->owner(), *path, RangeOf(req->has_range(), req->range()));
  if (!reader.ok()) return Reply(kRpc, reader.status());
  return ServeDownload(ctx, stream, watch, kRpc, std::move(*reader), req->has_range(), *path);
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
  Result<UserSlots::Lease> slot = Admit(kRpc, admission_.node_changes, req->owner());
  if (!slot.ok()) return Reply(kRpc, slot.status());
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
  if (Status s = CheckOwner("start node", req->owner()); !s.ok()) return Reply("start node", s);
  Result<UserSlots::Lease> slot = Admit("start node", admission_.node_changes, req->owner());
  if (!slot.ok()) return Reply("start node", slot.status());
  return NodeCall("start node", deps_.nodes, req, resp,
                  [](runtime::NodeManager& m, const std::string& owner, const std::string& id) {
                    return m.Start(owner, id);
                  });
}

grpc::Status DaemonService::StopNode(grpc::ServerContext*, const v1::NodeRef* req, v1::Node* resp) {
  if (!deps_.nodes) return NotYet("StopNode");
  if (Status s = CheckOwner("stop node", req->owner()); !s.ok()) return Reply("stop node", s);
  Result<UserSlots::Lease> slot = Admit("stop node", admission_.node_changes, req->owner());
  if (!slot.ok()) return Reply("stop node", slot.status());
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
  Result<UserSlots::Lease> slot = Admit(kRpc, admission_.node_changes, req->owner());
  if (!slot.ok()) return Reply(kRpc, slot.status());
  return Reply(kRpc, deps_.nodes->Delete(req->owner(), req->id()));
}

grpc::Status DaemonService::ExecNode(grpc::ServerContext*, const v1::ExecNodeRequest* req,
                                     v1::ExecNodeResponse* resp) {
  constexpr std::string_view kRpc = "exec in node";
  if (!deps_.nodes) return NotYet("ExecNode");
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<UserSlots::Lease> slot = Admit(kRpc, admission_.execs, req->owner());
  if (!slot.ok()) return Reply(kRpc, slot.status());
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
  Result<UserSlots::Lease> slot = Admit(kRpc, admission_.lambda_runs, req->owner());
  if (!slot.ok()) return Reply(kRpc, slot.status());
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
