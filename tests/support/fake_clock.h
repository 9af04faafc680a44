// FakeClock: a Clock whose time moves only when a test says so.
// Thread-safe (atomic), so it can drive code under test on other threads.
#pragma once

#include <atomic>

#include "common/clock.h"

namespace nexus::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_millis = 1'700'000'000'000) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  void AdvanceMillis(int64_t ms) { now_ += ms; }
  void AdvanceSeconds(int64_t s) { now_ += s * 1000; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace nexus::testing
