// The daemon client's streaming calls (daemon_client.h): UploadFile as a
// client stream on the completion queue, and DownloadFile / DownloadPath as
// server streams read as raw bytes through the generic stub. Each stream
// outlives the call object that drives it for as long as gRPC still has an
// operation of it in flight (daemon_streams.cc says how). Like the unary
// calls, each carries the request id of the work that started it, and,
// given a series, is counted in it once: from its start to its final status
// (StreamCallRecord, grpc_call.h).
#pragma once

#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <cassert>
#include <memory>

#include "gateway/backends/daemon_client.h"
#include "gateway/metrics/http_metrics.h"
#include "nexus/daemon/v1/files.grpc.pb.h"

namespace nexus::gateway {

// Starts an upload on `stub` and waits for its header to be taken (a
// failure there is the call's Status). `series`, when set, counts the call.
asio::awaitable<Result<std::unique_ptr<UploadCall>>> BeginUpload(
    std::shared_ptr<daemonpb::Files::Stub> stub, grpc::CompletionQueue* queue,
    daemonpb::UploadHeader header, BackendCallSeries* series);

// Starts a download: method `method` of service `service` (a full name)
// with the serialized `request`. `series`, when set, counts the call.
std::unique_ptr<DownloadCall> BeginRawDownload(grpc::GenericStub& stub,
                                               grpc::CompletionQueue* queue, const char* service,
                                               const char* method, grpc::ByteBuffer request,
                                               BackendCallSeries* series);

// BeginRawDownload of `request`.
template <typename Req>
std::unique_ptr<DownloadCall> BeginDownload(grpc::GenericStub& stub, grpc::CompletionQueue* queue,
                                            const char* service, const char* method,
                                            const Req& request, BackendCallSeries* series) {
  grpc::ByteBuffer serialized;
  bool own_buffer = false;
  grpc::Status s = grpc::SerializationTraits<Req>::Serialize(request, &serialized, &own_buffer);
  // Serializing a message we just built fails only on a bug (or a 2 GiB request).
  assert(s.ok());
  return BeginRawDownload(stub, queue, service, method, std::move(serialized), series);
}

}  // namespace nexus::gateway
