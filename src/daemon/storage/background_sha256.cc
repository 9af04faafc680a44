#include "daemon/storage/background_sha256.h"

#include <system_error>
#include <utility>

namespace nexus::daemon::storage {

BackgroundSha256::~BackgroundSha256() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void BackgroundSha256::Update(std::string_view bytes, std::shared_ptr<const void> owner) {
  if (bytes.empty()) return;
  if (!owner || no_thread_) {
    Drain();
    hash_.Update(bytes);
    return;
  }
  if (!thread_.joinable()) {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error&) {
      no_thread_ = true;  // hashed inline from now on: slower, same digest
      hash_.Update(bytes);
      return;
    }
  }
  bool wake = false;
  {
    std::unique_lock lock(mu_);
    if (queued_bytes_ > 0 && queued_bytes_ + bytes.size() > kMaxQueuedBytes) {
      caller_waiting_ = true;
      room_.wait(lock, [&] {
        return queued_bytes_ == 0 || queued_bytes_ + bytes.size() <= kMaxQueuedBytes;
      });
      caller_waiting_ = false;
    }
    queue_.push_back(Piece{bytes, std::move(owner)});
    queued_bytes_ += bytes.size();
    wake = thread_idle_;
  }
  if (wake) work_.notify_one();
}

void BackgroundSha256::Drain() {
  if (!thread_.joinable()) return;
  std::unique_lock lock(mu_);
  if (queued_bytes_ == 0) return;
  caller_waiting_ = true;
  room_.wait(lock, [&] { return queued_bytes_ == 0; });
  caller_waiting_ = false;
}

Sha256Digest BackgroundSha256::Finish() {
  Drain();
  return hash_.Finish();
}

void BackgroundSha256::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    thread_idle_ = true;
    work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    thread_idle_ = false;
    if (stopping_) return;
    std::deque<Piece> batch;
    batch.swap(queue_);
    lock.unlock();
    size_t hashed = 0;
    for (const Piece& p : batch) {
      hash_.Update(p.bytes);
      hashed += p.bytes.size();
    }
    batch.clear();  // releases the owners before the caller hears of it
    lock.lock();
    queued_bytes_ -= hashed;
    if (caller_waiting_) room_.notify_one();
  }
}

}  // namespace nexus::daemon::storage
