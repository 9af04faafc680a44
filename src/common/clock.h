// Clock: the one source of "now" for code whose behaviour depends on time
// (OTP expiry, rate limits, JWT lifetimes, metrics). Injected through
// constructors so tests use FakeClock (tests/support) and never sleep.
// Implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace nexus {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
  int64_t NowSeconds() const { return NowMillis() / 1000; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace nexus
