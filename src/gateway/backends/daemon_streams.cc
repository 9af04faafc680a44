#include "gateway/backends/daemon_streams.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <cassert>
#include <optional>
#include <string_view>
#include <vector>

#include "common/proto_wire.h"
#include "gateway/backends/download_frame.h"
#include "gateway/backends/grpc_call.h"

namespace nexus::gateway {
namespace {

// ---- UploadFile: a client stream on the completion queue -------------------
//
// One write (or half-close) and one Finish in flight at most, each completing
// through its own AwaitedTag, which holds the stream until that operation came
// back: the stream outlives the GrpcUploadCall that drives it by as long as
// gRPC still writes into it. A data message's write is left in flight: the
// next Write (or the path, or the half-close) waits for it first, so the
// caller reads and parses the next message from its client while this one
// goes to nexusd. The context is corked, so starting the call sends nothing
// and the initial metadata goes out with the header message.
class UploadStream final : public std::enable_shared_from_this<UploadStream> {
 public:
  // Starts the call with the header message; HeaderSent() tells how it went.
  void Start(daemonpb::Files::Stub& stub, grpc::CompletionQueue* queue,
             daemonpb::UploadHeader header) {
    context_.set_initial_metadata_corked(true);
    AddRequestIdMetadata(context_);
    writer_ = stub.PrepareAsyncUploadFile(&context_, &response_, queue);
    writer_->StartCall(nullptr);  // corked: no operation, no tag
    *message_.mutable_header() = std::move(header);
    writer_->Write(message_, written_.Arm(shared_from_this()));
  }
  asio::awaitable<bool> HeaderSent() { return written_.Wait(); }

  // Starts sending `*data` once the write before it is done; see
  // UploadCall::Write. False when that earlier write failed.
  asio::awaitable<bool> Write(std::string* data) {
    // (A named result: GCC 12 mishandles co_await inside the condition.)
    const bool settled = co_await Settle();
    if (!settled) co_return false;
    message_.mutable_data()->swap(*data);
    // Write serializes the message at once: it may be reused on return.
    writer_->Write(message_, written_.Arm(shared_from_this()));
    write_in_flight_ = true;
    data->swap(*message_.mutable_data());
    data->clear();
    co_return true;
  }

  // Sends the trailing path message; see UploadCall::SendPath.
  asio::awaitable<bool> WritePath(std::string path) {
    const bool settled = co_await Settle();
    if (!settled) co_return false;
    message_.set_vfs_path(std::move(path));
    writer_->Write(message_, written_.Arm(shared_from_this()));
    co_return co_await written_.Wait();
  }

  // Sends the trailing part MD5 message; see UploadCall::SendPartMd5.
  asio::awaitable<bool> WritePartMd5(std::string hex) {
    const bool settled = co_await Settle();
    if (!settled) co_return false;
    message_.set_part_md5(std::move(hex));
    writer_->Write(message_, written_.Arm(shared_from_this()));
    co_return co_await written_.Wait();
  }

  // Half-closes the stream, then waits for nexusd's answer. A last data
  // message that failed is never an answer, even if nexusd's status is OK.
  asio::awaitable<grpc::Status> Close() {
    const bool settled = co_await Settle();
    if (settled) {
      writer_->WritesDone(written_.Arm(shared_from_this()));
      co_await written_.Wait();
    }
    grpc::Status status = co_await Status();
    if (!settled && status.ok()) {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the upload broke before its end");
    }
    co_return status;
  }

  // The final status of a stream that broke (no write in flight).
  asio::awaitable<grpc::Status> Status() {
    writer_->Finish(&status_, finished_.Arm(shared_from_this()));
    co_await finished_.Wait();
    co_return status_;
  }

  // Ends the call; an operation in flight completes with !ok.
  void Cancel() { context_.TryCancel(); }

  daemonpb::FileInfo& response() { return response_; }

 private:
  // Waits for the data message left in flight, if any; false if it failed.
  asio::awaitable<bool> Settle() {
    if (!write_in_flight_) co_return true;
    write_in_flight_ = false;
    const bool ok = co_await written_.Wait();
    co_return ok;
  }

  grpc::ClientContext context_;  // before writer_, which uses it until destroyed
  std::unique_ptr<grpc::ClientAsyncWriter<daemonpb::UploadFileRequest>> writer_;
  daemonpb::UploadFileRequest message_;
  daemonpb::FileInfo response_;
  grpc::Status status_;
  AwaitedTag written_;            // the write or half-close in flight
  AwaitedTag finished_;           // Finish
  bool write_in_flight_ = false;  // a data message's write nobody waited for yet
};

class GrpcUploadCall final : public UploadCall {
 public:
  GrpcUploadCall(std::shared_ptr<UploadStream> stream, BackendCallSeries* series)
      : stream_(std::move(stream)), record_(series) {}
  ~GrpcUploadCall() override { Cancel(); }

  asio::awaitable<Status> Write(std::string* data) override {
    if (over_) co_return InternalError("upload: write after the call ended");
    bool ok = co_await stream_->Write(data);
    if (ok) co_return Status::Ok();
    co_return co_await Failed();
  }

  asio::awaitable<Status> SendPath(std::string path) override {
    if (over_) co_return InternalError("upload: path after the call ended");
    bool ok = co_await stream_->WritePath(std::move(path));
    if (ok) co_return Status::Ok();
    co_return co_await Failed();
  }

  asio::awaitable<Status> SendPartMd5(std::string hex) override {
    if (over_) co_return InternalError("upload: part MD5 after the call ended");
    bool ok = co_await stream_->WritePartMd5(std::move(hex));
    if (ok) co_return Status::Ok();
    co_return co_await Failed();
  }

  asio::awaitable<Result<daemonpb::FileInfo>> Finish() override {
    if (over_) co_return InternalError("upload: finish after the call ended");
    over_ = true;
    grpc::Status status = co_await stream_->Close();
    record_.Finished(status);
    if (!status.ok()) co_return BackendError("daemon", "UploadFile", status);
    co_return std::move(stream_->response());
  }

  void Cancel() override {
    if (over_) return;
    over_ = true;
    stream_->Cancel();
    record_.Cancelled();
  }

  // The call broke while writing: nexusd's status says why.
  asio::awaitable<Status> Failed() {
    over_ = true;
    grpc::Status status = co_await stream_->Status();
    record_.Finished(status);
    if (status.ok()) co_return UnavailableError("daemon service ended the upload early");
    co_return BackendError("daemon", "UploadFile", status);
  }

 private:
  std::shared_ptr<UploadStream> stream_;
  StreamCallRecord record_;
  bool over_ = false;
};

// ---- DownloadFile / DownloadPath: a server stream read as raw bytes ---------
//
// Called through the generic stub (the wire is the same as the generated
// stub's), so messages arrive as gRPC's received slices: a data message's
// payload is copied once, straight into the caller's reused buffer
// (download_frame.h), instead of being parsed into a fresh payload-sized
// protobuf string per message. The stream keeps exactly one read in flight:
// it starts reading the next message as soon as the caller took the last,
// so receiving overlaps the caller's write to its client, and a slow client
// stops the stream after one message (gRPC's flow control then holds nexusd).
// Same lifetime rules as UploadStream.
class DownloadStream final : public std::enable_shared_from_this<DownloadStream> {
 public:
  void Start(grpc::GenericStub& stub, grpc::CompletionQueue* queue, const std::string& method,
             grpc::ByteBuffer request) {
    context_.set_initial_metadata_corked(true);
    AddRequestIdMetadata(context_);
    stream_ = stub.PrepareCall(&context_, method, queue);
    stream_->StartCall(nullptr);  // corked: no operation, no tag
    request_ = std::move(request);
    // The request and the half-close in one operation, as the generated
    // stub sends them; nothing waits for it (the reads tell).
    stream_->Write(request_, grpc::WriteOptions().set_last_message(),
                   sent_.Arm(shared_from_this()));
    stream_->Read(&incoming_, read_.Arm(shared_from_this()));
  }

  // Waits for the message read ahead and moves it to `*out` (its old
  // contents are dropped); then reads the next one ahead.
  asio::awaitable<bool> Read(grpc::ByteBuffer* out) {
    bool ok = co_await read_.Wait();
    if (ok) {
      out->Swap(&incoming_);
      incoming_.Clear();
      stream_->Read(&incoming_, read_.Arm(shared_from_this()));
    }
    co_return ok;
  }

  // The final status, once a Read returned false.
  asio::awaitable<grpc::Status> Finished() {
    stream_->Finish(&status_, finished_.Arm(shared_from_this()));
    co_await finished_.Wait();
    co_return status_;
  }

  // Ends the call; operations in flight complete with !ok.
  void Cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;  // before stream_, which uses it until destroyed
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer incoming_;  // the read in flight
  grpc::Status status_;
  AwaitedTag sent_;
  AwaitedTag read_;
  AwaitedTag finished_;
};

class GrpcDownloadCall final : public DownloadCall {
 public:
  GrpcDownloadCall(std::shared_ptr<DownloadStream> stream, const char* method,
                   BackendCallSeries* series)
      : stream_(std::move(stream)), method_(method), record_(series) {}
  ~GrpcDownloadCall() override {
    if (over_) return;
    stream_->Cancel();
    record_.Cancelled();
  }

  asio::awaitable<Result<bool>> Read(daemonpb::DownloadResponse* msg) override {
    Result<bool> got = co_await Next();
    if (!got.ok() || !*got) co_return got;
    co_return Parse(msg);
  }

  asio::awaitable<Result<bool>> ReadData(std::string* data) override {
    Result<bool> got = co_await Next();
    if (!got.ok() || !*got) co_return got;
    slices_.clear();
    pieces_.clear();
    if (message_.Dump(&slices_).ok()) {
      for (const grpc::Slice& s : slices_) {
        pieces_.emplace_back(reinterpret_cast<const char*>(s.begin()), s.size());
      }
      if (std::optional<DataPayload> payload = DownloadDataPayload(pieces_, message_.Length())) {
        // resize only changes anything for a message of another size (the
        // last one, usually): the buffer is reused, not zeroed again.
        data->resize(payload->length);
        proto_wire::CopyFromPieces(pieces_, payload->offset, payload->length, data->data());
        co_return true;
      }
    }
    // Not the plain data layout: let protobuf decide what it is.
    daemonpb::DownloadResponse msg;
    Result<bool> parsed = Parse(&msg);
    if (!parsed.ok()) co_return parsed;
    if (!msg.has_data()) {
      record_.Finished(grpc::Status(grpc::StatusCode::INTERNAL, "a second header message"));
      co_return InternalError("a second header message");
    }
    data->swap(*msg.mutable_data());
    co_return true;
  }

 private:
  // The next raw message into message_.
  asio::awaitable<Result<bool>> Next() {
    if (over_) co_return false;
    bool ok = co_await stream_->Read(&message_);
    if (ok) co_return true;
    over_ = true;
    grpc::Status status = co_await stream_->Finished();
    record_.Finished(status);
    if (!status.ok()) co_return BackendError("daemon", method_, status);
    co_return false;
  }

  Result<bool> Parse(daemonpb::DownloadResponse* msg) {
    grpc::Status s =
        grpc::SerializationTraits<daemonpb::DownloadResponse>::Deserialize(&message_, msg);
    if (!s.ok()) {
      const grpc::Status malformed(grpc::StatusCode::INTERNAL,
                                   "malformed message: " + s.error_message());
      record_.Finished(malformed);
      return BackendError("daemon", method_, malformed);
    }
    return true;
  }

  std::shared_ptr<DownloadStream> stream_;
  const char* method_;
  StreamCallRecord record_;
  bool over_ = false;
  grpc::ByteBuffer message_;         // the message being looked at
  std::vector<grpc::Slice> slices_;  // its slices (references, not copies)
  std::vector<std::string_view> pieces_;
};

}  // namespace

std::unique_ptr<DownloadCall> BeginRawDownload(grpc::GenericStub& stub,
                                               grpc::CompletionQueue* queue, const char* service,
                                               const char* method, grpc::ByteBuffer request,
                                               BackendCallSeries* series) {
  auto stream = std::make_shared<DownloadStream>();
  stream->Start(stub, queue, std::string("/") + service + "/" + method, std::move(request));
  return std::make_unique<GrpcDownloadCall>(std::move(stream), method, series);
}

// A named coroutine (not a lambda: GCC 12, see STACK.md).
asio::awaitable<Result<std::unique_ptr<UploadCall>>> BeginUpload(
    std::shared_ptr<daemonpb::Files::Stub> stub, grpc::CompletionQueue* queue,
    daemonpb::UploadHeader header, BackendCallSeries* series) {
  auto stream = std::make_shared<UploadStream>();
  stream->Start(*stub, queue, std::move(header));
  auto call = std::make_unique<GrpcUploadCall>(stream, series);
  bool sent = co_await stream->HeaderSent();
  if (!sent) co_return co_await call->Failed();
  co_return std::unique_ptr<UploadCall>(std::move(call));
}

}  // namespace nexus::gateway
