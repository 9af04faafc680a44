// The raw download calls (Files.DownloadFile, Tree.DownloadPath): the
// request read from the stream, and the response — a `header` message (the
// resolved range), then `data` messages of at most kDownloadMessageBytes —
// written from a ReadAhead (read_ahead.h) without copying the payload.
//
// The header goes once the first data message is read and verified, so data
// loss there fails the call with no header; after the header, it ends the
// stream with that status, and the client must treat the bytes it got as
// incomplete.
//
// Installed in place of the generated handlers (RawDownloadHandler), so a
// download's payload goes from the verified chunk buffers to the socket; the
// wire is the same. Thread-safe: one call per stream.
#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/sync_stream.h>

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "daemon/rpc/call_control.h"
#include "daemon/rpc/reply.h"
#include "daemon/storage/file_service.h"
#include "nexus/daemon/v1/common.pb.h"

namespace nexus::daemon {

namespace v1 = ::nexus::daemon::v1;

// The stream of a raw download: the request is read from it (once), the
// response messages written to it.
using RawDownloadStream = grpc::ServerReaderWriterInterface<grpc::ByteBuffer, grpc::ByteBuffer>;

// The index of `method` in service `service_full_name` (as the generated
// WithRawMethod_ classes number it), looked up rather than written down so
// that adding a method cannot move a raw handler onto another one.
int MethodIndex(const char* service_full_name, const char* method);

// A handler serving a method as a raw server-streaming call through
// `serve`, for the service's MarkMethodStreamed (which takes it). Not
// grpc::internal::ServerStreamingHandler: MarkMethodStreamed makes the
// method BIDI_STREAMING, for which gRPC does not read the request before the
// handler, so that handler would get none. The split-streaming handler (what
// the generated WithSplitStreamedMethod_ uses) reads it from the stream
// instead; the wire is the same.
grpc::internal::MethodHandler* RawDownloadHandler(
    std::function<grpc::Status(grpc::ServerContext*, RawDownloadStream*)> serve);

// The request of a raw download call: its only message.
template <typename Req>
Result<Req> ReadDownloadRequest(RawDownloadStream* stream, StreamWatchdog::Watch& watch) {
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

void FillFileInfo(const storage::FileRecord& file, std::string_view vfs_path, v1::FileInfo* out);

std::optional<storage::ByteRange> RangeOf(bool has_range, const v1::ByteRange& range);

// Serves `reader` as a download on `stream` if its owner may start one
// (calls.admission.downloads); returns once the download is over and the
// reader released. `watch` times the stream's writes; `rpc` names the call
// in logs; `partial` and `vfs_path` go into the header.
grpc::Status ServeDownload(grpc::ServerContext* ctx, RawDownloadStream* stream,
                           StreamWatchdog::Watch& watch, CallControl& calls, std::string_view rpc,
                           std::unique_ptr<storage::FileReader> reader, bool partial,
                           std::string_view vfs_path);

}  // namespace nexus::daemon
