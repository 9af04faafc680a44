// FailureBackoff: slows down repeated failures per key with an exponential
// delay (used for wrong passwords per (account, client address)).
//
// A key may make `free_failures` attempts in a row that fail without delay;
// after its n-th failure (n >= free_failures) the next attempt must wait
// base_seconds * 2^(n - free_failures), at most max_seconds. Success forgets
// the key, and so does a day without attempts.
//
// Begin() is called BEFORE the (expensive, checkable) attempt and counts it
// as a failure straight away; Succeeded() takes that back. Counting up front
// means a burst of parallel attempts cannot all slip through before the
// first of them is recorded: the free_failures+1-th concurrent attempt is
// already refused.
//
// Memory is bounded like RateLimiter's: at most `max_keys` entries. Entries
// not waiting out a delay and still within their burst (or a day old) are
// dropped first, then the least recently used half. Dropping an entry only
// forgives it. Thread-safe (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace nexus::auth {

struct BackoffPolicy {
  int64_t free_failures = 5;
  int64_t base_seconds = 1;
  int64_t max_seconds = 900;
};

class FailureBackoff {
 public:
  static constexpr int64_t kForgetAfterSeconds = 24 * 3600;

  FailureBackoff(const Clock& clock, BackoffPolicy policy, size_t max_keys = 100'000);

  // 0: the attempt may go ahead and is counted as a failure until
  // Succeeded(key). Otherwise the whole seconds (>= 1) to wait; a refused
  // attempt counts nothing.
  int64_t Begin(const std::string& key);
  // The attempt begun for `key` succeeded: its failures are forgotten.
  void Succeeded(const std::string& key);

  size_t size_for_test() const;

 private:
  struct Entry {
    int64_t failures = 0;
    int64_t next_allowed_ms = 0;
    int64_t last_ms = 0;
  };

  int64_t DelayMs(int64_t failures) const;
  void EvictLocked(int64_t now_ms);

  const Clock& clock_;
  const BackoffPolicy policy_;
  const size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace nexus::auth
