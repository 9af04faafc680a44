#include "daemon/rpc/read_ahead.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

#include "common/named_thread.h"
#include "common/proto_wire.h"
#include "daemon/rpc/reply.h"

namespace nexus::daemon {
namespace {

// DownloadResponse.data.
constexpr uint32_t kDownloadDataField = 2;

}  // namespace

using storage::FileReader;

Status ReadAhead::Start() {
  try {
    thread_ = StartNamedThread("download", [this] { Run(); });
  } catch (const std::exception& e) {
    return UnavailableError("download of file " + reader_.file().id +
                            ": no thread to read it: " + e.what());
  }
  return Status::Ok();
}

std::optional<ReadAhead::Message> ReadAhead::Next(grpc::Status* end) {
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

void ReadAhead::Written(size_t bytes) {
  {
    std::lock_guard lock(mu_);
    queued_bytes_ -= bytes;
  }
  room_.notify_one();
}

void ReadAhead::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  room_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool ReadAhead::WaitForRoom() {
  std::unique_lock lock(mu_);
  room_.wait(lock, [&] { return stopped_ || queued_bytes_ <= kReadAheadBytes; });
  return !stopped_;
}

void ReadAhead::Enqueue(grpc::ByteBuffer buffer, size_t bytes) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Message{std::move(buffer), bytes});
    queued_bytes_ += bytes;
  }
  ready_.notify_one();
}

void ReadAhead::End(grpc::Status status) {
  {
    std::lock_guard lock(mu_);
    outcome_ = std::move(status);
  }
  ready_.notify_one();
}

void ReadAhead::Run() {
  try {
    Produce();
  } catch (const std::exception& e) {
    spdlog::error("{}: reading file {} of '{}' failed: {}", rpc_, reader_.file().id,
                  reader_.file().owner, e.what());
    End(ToClient(InternalError(std::string("download: ") + e.what())));
  }
}

void ReadAhead::QueueMessage(std::vector<grpc::Slice>& pieces, size_t bytes) {
  // The `data` field's tag and length: the only bytes copied per message.
  char head[proto_wire::kMaxLenFieldHeadBytes];
  const size_t n = proto_wire::PutLenFieldHead(kDownloadDataField, bytes, head);
  pieces.insert(pieces.begin(), grpc::Slice(head, n));
  Enqueue(grpc::ByteBuffer(pieces.data(), pieces.size()), bytes);
  pieces.clear();
}

void ReadAhead::Produce() {
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
      spdlog::error("{}: file {} of '{}' failed after {} of {} bytes: {}", rpc_, reader_.file().id,
                    reader_.file().owner, sent + static_cast<int64_t>(pending), reader_.length(),
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
}  // namespace nexus::daemon
