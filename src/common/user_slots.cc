#include "common/user_slots.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace nexus {

Status ValidateSlotLimits(std::string_view setting, const SlotLimits& limits) {
  if (limits.global <= 0 || limits.per_user <= 0 || limits.per_user > limits.global) {
    return InvalidArgumentError(std::string(setting) + ": need 0 < per-user limit (" +
                                std::to_string(limits.per_user) + ") <= overall limit (" +
                                std::to_string(limits.global) + ")");
  }
  return Status::Ok();
}

UserSlots::Lease::Lease(Lease&& other) noexcept
    : slots_(std::exchange(other.slots_, nullptr)), user_(std::move(other.user_)) {}

UserSlots::Lease& UserSlots::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    slots_ = std::exchange(other.slots_, nullptr);
    user_ = std::move(other.user_);
  }
  return *this;
}

void UserSlots::Lease::Release() {
  if (UserSlots* slots = std::exchange(slots_, nullptr)) slots->Release(user_);
}

UserSlots::UserSlots(std::string what, SlotLimits limits, int retry_after_seconds)
    : what_(std::move(what)),
      limits_(limits),
      retry_after_seconds_(std::max(1, retry_after_seconds)) {
  assert(ValidateSlotLimits(what_, limits_).ok());
}

Result<UserSlots::Lease> UserSlots::TryAcquire(std::string_view user) {
  std::lock_guard lock(mu_);
  auto it = by_user_.find(std::string(user));
  const int64_t mine = it == by_user_.end() ? 0 : it->second;
  // The user's own cap first: a user over their share hears so even when the
  // server is full as well.
  if (mine >= limits_.per_user) {
    return RateLimitedError("too many " + what_ + " at once for this user (at most " +
                                std::to_string(limits_.per_user) + "); retry when one has ended",
                            retry_after_seconds_);
  }
  if (total_ >= limits_.global) {
    return RateLimitedError("the server is running as many " + what_ + " as it allows (" +
                                std::to_string(limits_.global) + "); retry shortly",
                            retry_after_seconds_);
  }
  ++total_;
  if (it == by_user_.end()) {
    by_user_.emplace(std::string(user), 1);
  } else {
    ++it->second;
  }
  return Lease(this, std::string(user));
}

void UserSlots::Release(const std::string& user) {
  std::lock_guard lock(mu_);
  auto it = by_user_.find(user);
  assert(it != by_user_.end() && it->second > 0 && total_ > 0);
  if (it == by_user_.end()) return;
  if (--it->second == 0) by_user_.erase(it);
  --total_;
}

int64_t UserSlots::in_use() const {
  std::lock_guard lock(mu_);
  return total_;
}

int64_t UserSlots::in_use_by(std::string_view user) const {
  std::lock_guard lock(mu_);
  auto it = by_user_.find(std::string(user));
  return it == by_user_.end() ? 0 : it->second;
}

}  // namespace nexus
