#include "gateway/http/transfer_floor.h"

#include <algorithm>

namespace nexus::gateway {

TransferFloor::TransferFloor(int64_t bytes_per_second, std::chrono::milliseconds window)
    : bytes_per_second_(std::max<int64_t>(0, bytes_per_second)),
      window_(std::max(window, std::chrono::milliseconds(1))) {}

void TransferFloor::Reset() {
  busy_ = Clock::duration::zero();
  bytes_ = 0;
  pending_ = false;
  op_bytes_ = 0;
  op_counted_ = 0;
}

void TransferFloor::OpStarted(Clock::time_point now) {
  pending_ = true;
  counted_to_ = now;
  op_bytes_ = 0;
  op_counted_ = 0;
}

void TransferFloor::OpProgress(uint64_t bytes_so_far) {
  if (pending_) op_bytes_ = std::max(op_bytes_, bytes_so_far);
}

void TransferFloor::OpEnded(Clock::time_point now, uint64_t bytes) {
  if (!pending_) return;
  OpProgress(bytes);
  Account(now);
  pending_ = false;
}

void TransferFloor::Account(Clock::time_point now) {
  if (!pending_) return;
  if (now > counted_to_) {
    busy_ += now - counted_to_;
    counted_to_ = now;
  }
  bytes_ += op_bytes_ - op_counted_;
  op_counted_ = op_bytes_;
}

bool TransferFloor::TooSlow(Clock::time_point now) {
  if (!enabled()) return false;
  Account(now);
  if (busy_ < window_) return false;
  // The rate over the window's actual length (a check may come a little
  // after the window's end): bytes / seconds < floor, without a division.
  const auto busy_ms = std::chrono::duration_cast<std::chrono::milliseconds>(busy_).count();
  const bool slow = static_cast<long double>(bytes_) * 1000 <
                    static_cast<long double>(bytes_per_second_) * busy_ms;
  busy_ = Clock::duration::zero();
  bytes_ = 0;
  return slow;
}

}  // namespace nexus::gateway
