#include "daemon/rpc/files_rpc.h"

#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/slice.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/proto_wire.h"
#include "daemon/rpc/reply.h"

namespace nexus::daemon {
namespace {

using storage::FileReader;
using storage::FileRecord;
using storage::UploadSession;

// UploadFileRequest.data.
constexpr uint32_t kUploadDataField = 2;

// The views of `slices`, in order.
std::vector<std::string_view> Views(const std::vector<grpc::Slice>& slices) {
  std::vector<std::string_view> views;
  views.reserve(slices.size());
  for (const grpc::Slice& s : slices) {
    views.emplace_back(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return views;
}

// Feeds the messages after the header into `session` and commits. The
// stream ending (Read false) is either the client's WritesDone or a broken
// call; only the first may commit. On any error the caller aborts the
// session, which removes what it stored.
//
// A data message's payload is handed to the session as the received slices
// themselves (they live until the chunk holding them is stored): no parse
// into a protobuf string, no copy into a chunk buffer. Other messages (the
// late path, and anything proto_wire does not recognise as exactly one
// `data` field) are parsed.
Result<FileRecord> ReceiveUpload(grpc::ServerContext* ctx, grpc::ServerReader<grpc::ByteBuffer>* in,
                                 StreamWatchdog::Watch& watch, UploadSession& session) {
  grpc::ByteBuffer raw;
  while (WatchedRead(watch, in, &raw)) {
    auto slices = std::make_shared<std::vector<grpc::Slice>>();
    if (!raw.Dump(slices.get()).ok()) {
      return InvalidArgumentError("upload '" + session.name() + "': an unreadable message");
    }
    std::vector<std::string_view> pieces = Views(*slices);
    if (std::optional<size_t> skip =
            proto_wire::SoleLenFieldPayload(pieces, raw.Length(), kUploadDataField)) {
      for (std::string_view& piece : pieces) {
        const size_t drop = std::min(*skip, piece.size());
        piece.remove_prefix(drop);
        *skip -= drop;
      }
      NEXUS_RETURN_IF_ERROR(session.WriteShared(pieces, slices));
      continue;
    }
    slices.reset();
    v1::UploadFileRequest msg;
    if (!grpc::SerializationTraits<v1::UploadFileRequest>::Deserialize(&raw, &msg).ok()) {
      return InvalidArgumentError("upload '" + session.name() + "': a malformed message");
    }
    switch (msg.part_case()) {
      case v1::UploadFileRequest::kData:
        NEXUS_RETURN_IF_ERROR(session.Write(msg.data()));
        break;
      case v1::UploadFileRequest::kVfsPath:
        NEXUS_RETURN_IF_ERROR(session.SetPath(msg.vfs_path()));
        break;
      case v1::UploadFileRequest::kS3Etag:
        NEXUS_RETURN_IF_ERROR(session.SetS3Etag(msg.s3_etag()));
        break;
      case v1::UploadFileRequest::kHeader:
        return InvalidArgumentError("upload '" + session.name() + "': a second header message");
      case v1::UploadFileRequest::PART_NOT_SET:
        return InvalidArgumentError("upload '" + session.name() + "': an empty message");
    }
  }
  // The caller answers CANCELLED; this status is never sent.
  if (ctx->IsCancelled()) return UnavailableError("upload: the call was cancelled");
  return session.Commit();
}

storage::UploadHeader FromProto(const v1::UploadHeader& h) {
  return storage::UploadHeader{.owner = h.owner(),
                               .file_name = h.file_name(),
                               .vfs_path = h.vfs_path(),
                               .declared_size = h.declared_size(),
                               .path_follows = h.path_follows(),
                               .multipart_upload_id = h.multipart_upload_id(),
                               .part_number = h.part_number()};
}

}  // namespace

FilesRpc::FilesRpc(storage::FileService& files, storage::UploadPlacement* placement,
                   CallControl& calls)
    : files_(files), placement_(placement), calls_(calls) {
  const char* service = v1::Files::service_full_name();
  // UploadFile on raw messages (see UploadFileRaw).
  MarkMethodStreamed(
      MethodIndex(service, "UploadFile"),
      new grpc::internal::ClientStreamingHandler<FilesRpc, grpc::ByteBuffer, v1::FileInfo>(
          [](FilesRpc* rpc, grpc::ServerContext* ctx, grpc::ServerReader<grpc::ByteBuffer>* in,
             v1::FileInfo* resp) { return rpc->UploadFileRaw(ctx, in, resp); },
          this));
  MarkMethodStreamed(
      MethodIndex(service, "DownloadFile"),
      RawDownloadHandler([this](grpc::ServerContext* ctx, RawDownloadStream* stream) {
        return DownloadFileRaw(ctx, stream);
      }));
}

grpc::Status FilesRpc::UploadFileRaw(grpc::ServerContext* ctx,
                                     grpc::ServerReader<grpc::ByteBuffer>* in, v1::FileInfo* resp) {
  constexpr std::string_view kRpc = "upload";
  StreamWatchdog::Watch watch = calls_.watchdog.Register([ctx] { ctx->TryCancel(); });
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
  Result<UserSlots::Lease> slot = Admit(kRpc, calls_.admission.uploads, h.owner());
  if (!slot.ok()) return Reply(kRpc, slot.status());
  Result<std::unique_ptr<UploadSession>> session =
      UploadSession::Begin(files_, placement_, FromProto(h));
  if (!session.ok()) return Reply(kRpc, session.status());

  Result<FileRecord> file = ReceiveUpload(ctx, in, watch, **session);
  if (!file.ok()) {
    (*session)->Abort();
    if (watch.fired()) {
      spdlog::warn(
          "upload of '{}' by '{}': nothing arrived for {} s; cancelled after {} bytes",
          (*session)->name(), h.owner(),
          std::chrono::duration_cast<std::chrono::seconds>(calls_.watchdog.idle_timeout()).count(),
          (*session)->bytes_written());
      return Cancelled(kRpc);
    }
    if (ctx->IsCancelled()) {
      spdlog::info("upload of '{}' by '{}' cancelled after {} bytes; nothing kept",
                   (*session)->name(), h.owner(), (*session)->bytes_written());
      return Cancelled(kRpc);
    }
    return Reply(kRpc, file.status());
  }
  FillFileInfo(*file, (*session)->vfs_path(), resp);
  return grpc::Status::OK;
}

grpc::Status FilesRpc::ListFiles(grpc::ServerContext*, const v1::ListFilesRequest* req,
                                 v1::ListFilesResponse* resp) {
  constexpr std::string_view kRpc = "list files";
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::vector<FileRecord>> files = files_.List(req->owner());
  if (!files.ok()) return Reply(kRpc, files.status());
  for (const FileRecord& f : *files) FillFileInfo(f, "", resp->add_files());
  return grpc::Status::OK;
}

grpc::Status FilesRpc::GetFile(grpc::ServerContext*, const v1::GetFileRequest* req,
                               v1::FileInfo* resp) {
  constexpr std::string_view kRpc = "get file";
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<FileRecord> file = files_.Get(req->owner(), req->id());
  if (!file.ok()) return Reply(kRpc, file.status());
  FillFileInfo(*file, "", resp);
  return grpc::Status::OK;
}

grpc::Status FilesRpc::DownloadFileRaw(grpc::ServerContext* ctx, RawDownloadStream* stream) {
  constexpr std::string_view kRpc = "download file";
  StreamWatchdog::Watch watch = calls_.watchdog.Register([ctx] { ctx->TryCancel(); });
  Result<v1::DownloadFileRequest> req = ReadDownloadRequest<v1::DownloadFileRequest>(stream, watch);
  if (!req.ok()) return ctx->IsCancelled() ? Cancelled(kRpc) : Reply(kRpc, req.status());
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::unique_ptr<FileReader>> reader =
      files_.Open(req->owner(), req->id(), RangeOf(req->has_range(), req->range()));
  if (!reader.ok()) return Reply(kRpc, reader.status());
  return ServeDownload(ctx, stream, watch, calls_, kRpc, std::move(*reader), req->has_range(), "");
}

grpc::Status FilesRpc::DeleteFile(grpc::ServerContext*, const v1::DeleteFileRequest* req,
                                  v1::DeleteFileResponse*) {
  constexpr std::string_view kRpc = "delete file";
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  return Reply(kRpc, files_.Delete(req->owner(), req->id()));
}

}  // namespace nexus::daemon
