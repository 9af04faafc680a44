// TransferFloor: decides when a request or response body moves too slowly.
//
// A per-operation timeout bounds how long a client may send or take nothing,
// but a client that trickles a byte now and then passes it forever, holding
// its connection, its backend call and that call's slot in nexusd. The floor
// bounds the average rate instead.
//
// The session reports every socket read of a streamed request body and every
// socket write of a streamed response body (an "operation": time spent
// waiting on the client, and the bytes it moved). Only that time counts: time
// spent waiting on nexusd or parsing is not the client's. The client's time
// is cut into windows of `window`; when a window is complete, fewer than
// floor x window bytes in it fail the transfer. Progress within a pending
// operation counts as it happens (a large write the client drains at a fair
// pace is not a stall), so a check may run at any time, not only when an
// operation ends. Bodies that take less than a window of the client's time
// are never judged.
//
// Time comes in as arguments, so tests need no clock. A value used on one
// connection's thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace nexus::gateway {

class TransferFloor {
 public:
  using Clock = std::chrono::steady_clock;

  // `bytes_per_second` 0: no floor (TooSlow is never true).
  TransferFloor(int64_t bytes_per_second, std::chrono::milliseconds window);

  bool enabled() const { return bytes_per_second_ > 0; }
  std::chrono::milliseconds window() const { return window_; }
  int64_t bytes_per_second() const { return bytes_per_second_; }

  // A new body starts: forgets the last one.
  void Reset();
  // An operation starts waiting on the client.
  void OpStarted(Clock::time_point now);
  // The pending operation has moved `bytes_so_far` bytes in all.
  void OpProgress(uint64_t bytes_so_far);
  // The pending operation ended, having moved `bytes` in all.
  void OpEnded(Clock::time_point now, uint64_t bytes);
  // Counts the client's time and bytes up to `now`; true when that completed
  // a window holding too few bytes. A completed window starts the next one.
  bool TooSlow(Clock::time_point now);

 private:
  // Moves the pending operation's time and bytes up to `now` into the window.
  void Account(Clock::time_point now);

  const int64_t bytes_per_second_;
  const std::chrono::milliseconds window_;

  Clock::duration busy_{0};  // the client's time in the current window
  uint64_t bytes_ = 0;       // bytes moved in the current window
  bool pending_ = false;
  Clock::time_point counted_to_;  // the pending operation's time counted up to here
  uint64_t op_bytes_ = 0;         // the pending operation's bytes so far
  uint64_t op_counted_ = 0;       // of which counted in a window
};

}  // namespace nexus::gateway
