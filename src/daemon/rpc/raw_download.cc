#include "daemon/rpc/raw_download.h"

#include <google/protobuf/descriptor.h>
#include <spdlog/spdlog.h>

#include <cassert>
#include <chrono>
#include <string>
#include <utility>

#include "daemon/rpc/read_ahead.h"

namespace nexus::daemon {

int MethodIndex(const char* service_full_name, const char* method) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_full_name);
  assert(service != nullptr);
  const google::protobuf::MethodDescriptor* m = service->FindMethodByName(method);
  assert(m != nullptr);
  return m->index();
}

grpc::internal::MethodHandler* RawDownloadHandler(
    std::function<grpc::Status(grpc::ServerContext*, RawDownloadStream*)> serve) {
  using Split = grpc::internal::SplitServerStreamingHandler<grpc::ByteBuffer, grpc::ByteBuffer>;
  return new Split([serve = std::move(serve)](
                       grpc::ServerContext* ctx,
                       grpc::ServerSplitStreamer<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
    return serve(ctx, stream);
  });
}

void FillFileInfo(const storage::FileRecord& file, std::string_view vfs_path, v1::FileInfo* out) {
  out->set_id(file.id);
  out->set_name(file.name);
  out->set_size(file.size);
  out->set_chunks_count(file.chunks_count);
  out->set_status(file.status);
  out->set_sha256(file.sha256);
  out->set_created_at(file.created_at);
  out->set_vfs_path(std::string(vfs_path));
  out->set_s3_etag(file.s3_etag);
}

std::optional<storage::ByteRange> RangeOf(bool has_range, const v1::ByteRange& range) {
  if (!has_range) return std::nullopt;
  return storage::ByteRange{range.offset(), range.length()};
}

// The handler's thread writes while a ReadAhead reads; see there why.
grpc::Status ServeDownload(grpc::ServerContext* ctx, RawDownloadStream* stream,
                           StreamWatchdog::Watch& watch, CallControl& calls, std::string_view rpc,
                           std::unique_ptr<storage::FileReader> reader, bool partial,
                           std::string_view vfs_path) {
  Result<UserSlots::Lease> slot = Admit(rpc, calls.admission.downloads, reader->file().owner);
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
          std::chrono::duration_cast<std::chrono::seconds>(calls.watchdog.idle_timeout()).count());
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

}  // namespace nexus::daemon
