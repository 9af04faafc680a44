#include "auth/rate_limiter.h"

#include <algorithm>
#include <iterator>
#include <vector>

namespace nexus::auth {

RateLimiter::RateLimiter(const Clock& clock, BucketPolicy policy, size_t max_keys)
    : clock_(clock),
      cost_ms_(std::max<int64_t>(policy.refill_seconds, 0) * 1000),
      capacity_ms_(std::max<int64_t>(policy.burst, 1) * cost_ms_),
      max_keys_(std::max<size_t>(max_keys, 2)) {}

int64_t RateLimiter::Refilled(const Bucket& b, int64_t now_ms) const {
  // A clock stepping backwards must not drain a bucket.
  const int64_t elapsed = std::max<int64_t>(now_ms - b.updated_ms, 0);
  return std::min(capacity_ms_, b.credit_ms + elapsed);
}

int64_t RateLimiter::Acquire(const std::string& key) {
  if (cost_ms_ == 0) return 0;  // refill_seconds 0: limiting disabled
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) EvictLocked(now);
    it = buckets_.emplace(key, Bucket{capacity_ms_, now}).first;
  }
  Bucket& b = it->second;
  b.credit_ms = Refilled(b, now);
  b.updated_ms = now;
  if (b.credit_ms >= cost_ms_) {
    b.credit_ms -= cost_ms_;
    return 0;
  }
  const int64_t wait_ms = cost_ms_ - b.credit_ms;
  return (wait_ms + 999) / 1000;
}

int64_t RateLimiter::SecondsUntilAvailable(const std::string& key) const {
  if (cost_ms_ == 0) return 0;
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  const int64_t credit = Refilled(it->second, now);
  if (credit >= cost_ms_) return 0;
  return (cost_ms_ - credit + 999) / 1000;
}

void RateLimiter::EvictLocked(int64_t now_ms) {
  std::erase_if(buckets_,
                [&](const auto& kv) { return Refilled(kv.second, now_ms) >= capacity_ms_; });
  if (buckets_.size() < max_keys_) return;
  // Every bucket is in use: keep the most recently touched half. Evicting a
  // bucket only forgives its key, so this degrades to "less strict", never
  // to refusing honest clients.
  std::vector<int64_t> times;
  times.reserve(buckets_.size());
  for (const auto& kv : buckets_) times.push_back(kv.second.updated_ms);
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  const int64_t cutoff = *mid;
  std::erase_if(buckets_, [&](const auto& kv) { return kv.second.updated_ms < cutoff; });
  // Many equal timestamps (one burst of distinct keys) can leave more than
  // half; thin those too so the next eviction is max_keys/2 inserts away.
  const size_t target = max_keys_ / 2;
  for (auto it = buckets_.begin(); it != buckets_.end() && buckets_.size() > target;) {
    it = it->second.updated_ms <= cutoff ? buckets_.erase(it) : std::next(it);
  }
}

size_t RateLimiter::size_for_test() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace nexus::auth
