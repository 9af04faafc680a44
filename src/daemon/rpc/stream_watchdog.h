// StreamWatchdog: cancels streaming calls that sit idle.
//
// gRPC's sync API has no deadline per Read or Write: an upload whose client
// (the gateway) stops sending blocks in Read, and a download whose client
// stops reading blocks in Write, for as long as the connection lives — and
// holds its server thread and its slot (call_admission.h) all that time. The
// gateway bounds its own clients (timeouts, a minimum transfer rate); this
// bounds the gateway, should it stall.
//
// A streaming handler registers a Watch for the call's duration and brackets
// every blocking Read or Write with Waiting() and Done(). One thread looks at
// every watch a few times per timeout; a watch that has been waiting longer
// than the timeout has its cancel function called, once (the handler passes
// one that calls ServerContext::TryCancel, which makes the blocked Read or
// Write return false). Time spent between messages in the handler itself
// (chunking, hashing, disk) never counts.
//
// Thread-safe. The watchdog must outlive its watches. A cancel function runs
// on the watchdog's thread with the registry locked: it must be quick and must
// not touch the watchdog. A Watch unregisters when destroyed, after which its
// cancel function is never called.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace nexus::daemon {

class StreamWatchdog {
 public:
  using SteadyClock = std::chrono::steady_clock;

  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    // A blocking Read or Write starts / has returned.
    void Waiting() { since_ns_.store(NowNs(), std::memory_order_relaxed); }
    void Done() { since_ns_.store(kNotWaiting, std::memory_order_relaxed); }
    // The watchdog cancelled the call.
    bool fired() const { return fired_.load(std::memory_order_acquire); }

   private:
    friend class StreamWatchdog;
    static constexpr int64_t kNotWaiting = INT64_MAX;
    static int64_t NowNs() { return SteadyClock::now().time_since_epoch().count(); }

    Watch(StreamWatchdog& dog, std::function<void()> cancel);

    StreamWatchdog& dog_;
    const std::function<void()> cancel_;
    std::atomic<int64_t> since_ns_{kNotWaiting};  // steady clock, ns
    std::atomic<bool> fired_{false};
  };

  // `start_thread` false: no thread; CheckAt runs the checks (tests).
  explicit StreamWatchdog(std::chrono::milliseconds idle_timeout, bool start_thread = true);
  ~StreamWatchdog();
  StreamWatchdog(const StreamWatchdog&) = delete;
  StreamWatchdog& operator=(const StreamWatchdog&) = delete;

  // A watch for one call; `cancel` ends the call.
  Watch Register(std::function<void()> cancel) { return Watch(*this, std::move(cancel)); }

  // Cancels every watch that has been waiting for longer than the timeout at
  // `now`. The thread calls it with the current time.
  void CheckAt(SteadyClock::time_point now);

  std::chrono::milliseconds idle_timeout() const { return idle_timeout_; }
  // Watches registered right now.
  size_t watched();

 private:
  void Loop();

  const std::chrono::milliseconds idle_timeout_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_set<Watch*> watches_;  // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  std::thread thread_;                  // last: started once the rest exists
};

}  // namespace nexus::daemon
