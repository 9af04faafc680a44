#include "daemon/rpc/stream_watchdog.h"

#include <algorithm>
#include <utility>

#include "common/named_thread.h"

namespace nexus::daemon {

StreamWatchdog::Watch::Watch(StreamWatchdog& dog, std::function<void()> cancel)
    : dog_(dog), cancel_(std::move(cancel)) {
  std::lock_guard lock(dog_.mu_);
  dog_.watches_.insert(this);
}

StreamWatchdog::Watch::~Watch() {
  // Waits for a check in progress: once this returns, cancel_ is never called.
  std::lock_guard lock(dog_.mu_);
  dog_.watches_.erase(this);
}

StreamWatchdog::StreamWatchdog(std::chrono::milliseconds idle_timeout, bool start_thread)
    : idle_timeout_(idle_timeout) {
  if (start_thread) {
    thread_ = StartNamedThread("stream-watch", [this] { Loop(); });
  }
}

StreamWatchdog::~StreamWatchdog() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StreamWatchdog::CheckAt(SteadyClock::time_point now) {
  const int64_t now_ns = now.time_since_epoch().count();
  const int64_t limit_ns = std::chrono::nanoseconds(idle_timeout_).count();
  std::lock_guard lock(mu_);
  for (Watch* w : watches_) {
    const int64_t since = w->since_ns_.load(std::memory_order_relaxed);
    if (since == Watch::kNotWaiting || now_ns - since < limit_ns) continue;
    if (w->fired_.exchange(true, std::memory_order_acq_rel)) continue;
    w->cancel_();
  }
}

size_t StreamWatchdog::watched() {
  std::lock_guard lock(mu_);
  return watches_.size();
}

void StreamWatchdog::Loop() {
  // A few looks per timeout: a stalled call ends within 1.25 timeouts (at
  // most a second late), and an idle daemon wakes once a second at most.
  const auto tick = std::clamp<std::chrono::milliseconds>(
      idle_timeout_ / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, tick, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    CheckAt(SteadyClock::now());
    lock.lock();
  }
}

}  // namespace nexus::daemon
