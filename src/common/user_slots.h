// UserSlots: admission for one kind of call that holds a scarce resource for
// its whole duration (a server thread, a sandbox, a download's read-ahead):
// at most `global` such calls at once, and at most `per_user` of them for any
// one user, so no user can take every slot and another user always finds
// global - per_user of them.
//
// TryAcquire never waits: a call over either cap is refused at once with
// kRateLimited and a retry-after (the edges answer 429 + Retry-After), so a
// refused call never sits on the thread it arrived on. A granted slot is a
// Lease, released when the Lease is destroyed (RAII; movable, so it can follow
// the work it guards to another thread).
//
// Thread-safe. The UserSlots must outlive every Lease it granted. Memory is
// one map entry per user holding a slot right now (entries go at zero).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace nexus {

struct SlotLimits {
  int64_t global = 1;    // calls of this kind at once, all users together
  int64_t per_user = 1;  // calls of this kind at once for one user, <= global
};

// kInvalidArgument naming `setting` unless 0 < per_user <= global.
Status ValidateSlotLimits(std::string_view setting, const SlotLimits& limits);

class UserSlots {
 public:
  // A held slot; an empty (moved-from) Lease holds nothing.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Release(); }

    bool held() const { return slots_ != nullptr; }
    // Gives the slot back now instead of at destruction.
    void Release();

   private:
    friend class UserSlots;
    Lease(UserSlots* slots, std::string user) : slots_(slots), user_(std::move(user)) {}

    UserSlots* slots_ = nullptr;
    std::string user_;
  };

  // `what` names the calls in refusals, plural ("downloads"); `limits` must
  // satisfy ValidateSlotLimits; refusals carry `retry_after_seconds` (>= 1).
  UserSlots(std::string what, SlotLimits limits, int retry_after_seconds = 1);
  UserSlots(const UserSlots&) = delete;
  UserSlots& operator=(const UserSlots&) = delete;

  // A slot for `user`, or kRateLimited when `user` already holds per_user of
  // them or all users together hold global.
  Result<Lease> TryAcquire(std::string_view user);

  const SlotLimits& limits() const { return limits_; }
  // Slots held right now: by everybody, by `user`.
  int64_t in_use() const;
  int64_t in_use_by(std::string_view user) const;

 private:
  void Release(const std::string& user);

  const std::string what_;
  const SlotLimits limits_;
  const int retry_after_seconds_;

  mutable std::mutex mu_;
  int64_t total_ = 0;                                 // guarded by mu_
  std::unordered_map<std::string, int64_t> by_user_;  // guarded by mu_; no zero entries
};

}  // namespace nexus
