#include "auth/failure_backoff.h"

#include <algorithm>
#include <iterator>
#include <vector>

namespace nexus::auth {

FailureBackoff::FailureBackoff(const Clock& clock, BackoffPolicy policy, size_t max_keys)
    : clock_(clock),
      policy_{std::max<int64_t>(policy.free_failures, 0), std::max<int64_t>(policy.base_seconds, 0),
              std::max<int64_t>(policy.max_seconds, policy.base_seconds)},
      max_keys_(std::max<size_t>(max_keys, 2)) {}

int64_t FailureBackoff::DelayMs(int64_t failures) const {
  const int64_t over = failures - policy_.free_failures;
  if (over < 0 || policy_.base_seconds == 0) return 0;
  int64_t seconds = policy_.base_seconds;
  for (int64_t i = 0; i < over && seconds < policy_.max_seconds; ++i) seconds *= 2;
  return std::min(seconds, policy_.max_seconds) * 1000;
}

int64_t FailureBackoff::Begin(const std::string& key) {
  const int64_t now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && now - it->second.last_ms > kForgetAfterSeconds * 1000) {
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) EvictLocked(now);
    it = entries_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  if (now < e.next_allowed_ms) return (e.next_allowed_ms - now + 999) / 1000;
  ++e.failures;
  e.last_ms = now;
  e.next_allowed_ms = now + DelayMs(e.failures);
  return 0;
}

void FailureBackoff::Succeeded(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

void FailureBackoff::EvictLocked(int64_t now_ms) {
  std::erase_if(entries_, [&](const auto& kv) {
    return kv.second.next_allowed_ms <= now_ms &&
           (kv.second.failures < policy_.free_failures ||
            now_ms - kv.second.last_ms > kForgetAfterSeconds * 1000);
  });
  if (entries_.size() < max_keys_) return;
  // Every entry is holding someone back: keep the most recently active half.
  std::vector<int64_t> times;
  times.reserve(entries_.size());
  for (const auto& kv : entries_) times.push_back(kv.second.last_ms);
  auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), mid, times.end());
  const int64_t cutoff = *mid;
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.last_ms < cutoff; });
  const size_t target = max_keys_ / 2;
  for (auto it = entries_.begin(); it != entries_.end() && entries_.size() > target;) {
    it = it->second.last_ms <= cutoff ? entries_.erase(it) : std::next(it);
  }
}

size_t FailureBackoff::size_for_test() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace nexus::auth
