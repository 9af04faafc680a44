// ReadAhead: the download pump of nexusd's raw download calls
// (files_rpc.h, tree_rpc.h).
//
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
//
// Thread-safety: Next and Written are called by the handler's thread, the
// rest of the work runs on the ReadAhead's own thread; the queue between
// them is guarded by a mutex.
#pragma once

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <grpcpp/support/status.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "daemon/storage/file_service.h"

namespace nexus::daemon {

// Payload bytes per `data` message of a download (a chunk is split or small
// chunks merged to this size).
inline constexpr size_t kDownloadMessageBytes = 1 << 20;

class ReadAhead {
 public:
  struct Message {
    grpc::ByteBuffer buffer;
    size_t bytes = 0;  // its payload: what Written gives back
  };

  // `rpc` names the call in logs; `reader` must outlive this object.
  ReadAhead(std::string_view rpc, storage::FileReader& reader) : rpc_(rpc), reader_(reader) {}
  ~ReadAhead() { Stop(); }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Starts the reading thread (named "download", to be found in
  // /proc/<pid>/task); kUnavailable when no thread can be made.
  Status Start();

  // Waits for the next message to write. nullopt when none is left, with
  // `*end` set to the stream's final status.
  std::optional<Message> Next(grpc::Status* end);

  // A message from Next was written: its bytes make room for more.
  void Written(size_t bytes);

  // Ends the reading (at its next step) and waits for the thread.
  void Stop();

 private:
  // Makes room before reading another chunk at this many queued bytes: two
  // messages, so the next chunk is read while the last ones are sent.
  static constexpr size_t kReadAheadBytes = 2 * kDownloadMessageBytes;

  // Waits for room in the queue; false when stopped.
  bool WaitForRoom();
  void Enqueue(grpc::ByteBuffer buffer, size_t bytes);
  // The last word: Next answers `status` once the queue is empty.
  void End(grpc::Status status);
  // Produce, with an exception (an allocation that failed) ending this call
  // with an error instead of ending the daemon, as it would on this thread.
  void Run();
  // Queues `pieces` (slices of chunks, kDownloadMessageBytes in all, or less
  // for the last message) as one data message.
  void QueueMessage(std::vector<grpc::Slice>& pieces, size_t bytes);
  void Produce();

  const std::string rpc_;
  storage::FileReader& reader_;  // used by the thread alone once it started
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable room_;         // the thread waits here for queue room
  std::condition_variable ready_;        // Next waits here for a message or the end
  std::deque<Message> queue_;            // guarded by mu_
  size_t queued_bytes_ = 0;              // guarded by mu_: queued or being written
  bool stopped_ = false;                 // guarded by mu_
  std::optional<grpc::Status> outcome_;  // guarded by mu_: how the stream ends
};

}  // namespace nexus::daemon
