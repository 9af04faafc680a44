// RateLimiter: token buckets keyed by string (a client IP, an account).
//
// Each key may make `burst` requests at once; one more becomes available
// every `refill_seconds`. Acquire() takes one token or says how long until
// one will be there (the Retry-After a client should see).
//
// Memory is bounded: at most `max_keys` buckets are kept. A bucket that has
// refilled completely carries no information and is dropped first; if that is
// not enough (a flood of distinct keys), the least recently used half goes.
// Thread-safe (one mutex; every operation is O(1) amortised).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace nexus::auth {

struct BucketPolicy {
  int64_t burst = 1;
  int64_t refill_seconds = 1;
};

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, BucketPolicy policy, size_t max_keys = 100'000);

  // 0 when a token was taken; otherwise the whole seconds (>= 1) until one
  // will be available. A refused request takes nothing.
  int64_t Acquire(const std::string& key);
  // What Acquire would answer, taking nothing: for limits that charge only
  // some requests (failures) yet must refuse every request once spent.
  int64_t SecondsUntilAvailable(const std::string& key) const;

  size_t size_for_test() const;

 private:
  // Credit is kept in milliseconds of refill time: a token costs
  // refill_seconds*1000 and the bucket holds at most burst tokens' worth.
  struct Bucket {
    int64_t credit_ms;
    int64_t updated_ms;
  };

  int64_t Refilled(const Bucket& b, int64_t now_ms) const;
  void EvictLocked(int64_t now_ms);

  const Clock& clock_;
  const int64_t cost_ms_;
  const int64_t capacity_ms_;
  const size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mu_
};

}  // namespace nexus::auth
