// BackgroundSha256: a streaming SHA-256 computed on a thread of its own, so
// an upload hashes its whole content (the file's sha256 / ETag) while its
// own thread chunks, hashes and writes the chunks: on two cores the two
// passes over every byte run side by side instead of one after the other.
//
// Update hands over bytes with an owner that keeps them alive until hashed
// (no copy); at most kMaxQueuedBytes wait at once, beyond that Update blocks
// until the thread catches up, so memory stays bounded and the owners are
// released soon after. Finish waits for the queue and returns the digest.
// If no thread can be made, everything is hashed inline (same result).
// Destroying it stops the thread and drops what is still queued.
//
// One producer: Update and Finish are called from one thread at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/sha256.h"

namespace nexus::daemon::storage {

class BackgroundSha256 {
 public:
  static constexpr size_t kMaxQueuedBytes = 4 << 20;

  BackgroundSha256() = default;
  ~BackgroundSha256();
  BackgroundSha256(const BackgroundSha256&) = delete;
  BackgroundSha256& operator=(const BackgroundSha256&) = delete;

  // Hashes `bytes` (after everything handed over before); `bytes` must stay
  // valid as long as `owner` lives. A null owner hashes inline, at once.
  void Update(std::string_view bytes, std::shared_ptr<const void> owner);
  // The digest of everything handed over since construction or the last
  // Finish; then ready for a new message.
  Sha256Digest Finish();

 private:
  struct Piece {
    std::string_view bytes;
    std::shared_ptr<const void> owner;
  };

  // Waits until the thread has hashed everything queued.
  void Drain();
  void Run();

  Sha256 hash_;  // the thread's while it hashes a batch; else the caller's
  std::mutex mu_;
  // Signalled only when the other side sleeps: a futex per slice would cost
  // more than the hashing it hands over.
  std::condition_variable work_;  // the thread waits here for pieces
  std::condition_variable room_;  // Update and Drain wait here
  std::deque<Piece> queue_;       // guarded by mu_
  size_t queued_bytes_ = 0;       // guarded by mu_: queued or being hashed
  bool thread_idle_ = false;      // guarded by mu_
  bool caller_waiting_ = false;   // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  bool no_thread_ = false;        // a thread could not be made: hash inline
  std::thread thread_;            // started with the first owned Update
};

}  // namespace nexus::daemon::storage
