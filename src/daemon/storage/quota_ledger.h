// QuotaLedger: the bytes each owner's uploads in flight hold against the
// quota, reserved as the bytes arrive, so that however many uploads one owner
// runs at once, what they put in the chunk store stays within the quota.
//
// The rule, per owner: committed + reserved <= quota + credit, where
// committed is the sum of the owner's file sizes (read through the UsedBytes
// function), reserved what all the owner's open reservations hold, and credit
// the sizes of the distinct files they will replace (counted as freed, as the
// commit counts them), at most one quota. Without replacements the owner's
// data in the chunk store (committed and in flight) is thus at most the
// quota; with them, at most one quota more (the old contents stay until the
// commit that replaces them).
//
// Fairness among an owner's uploads: a Grow that does not fit fails
// (kQuotaExceeded) and its reservation becomes "failing": from then on,
// another upload's Grow that does not fit waits until every failing
// reservation is released (its upload removes what it stored first) and
// looks again. So a failure frees its room before anyone else fails, and of
// N uploads that cannot all fit, as many finish as fit. Commit runs the
// metadata commit under the owner's lock and releases the reservation in the
// same step, so no check ever counts a file both as committed and reserved.
//
// The committed bytes are cached per owner while it has reservations: a
// commit drops the cache; a delete (which does not pass here) only leaves it
// too high, so a Grow that does not fit reads it again before failing. All in
// memory: a restart starts with nothing reserved, so nothing can leak.
//
// Lock order: an owner's lock, then whatever UsedBytes and the commit take
// (the MetadataStore's). Thread-safe; a Reservation is used by one thread at
// a time and must not outlive its ledger.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/result.h"

namespace nexus::daemon::storage {

class QuotaLedger {
 public:
  // The owner's committed bytes (MetadataStore::UsedBytes).
  using UsedBytesFn = std::function<Result<int64_t>(const std::string& owner)>;

  // A file an upload will replace: while the upload runs, its bytes count as
  // freed (once, however many uploads replace it).
  struct Replaced {
    std::string file_id;  // "" for none
    int64_t bytes = 0;
  };

  class Reservation;

  explicit QuotaLedger(UsedBytesFn used_bytes);
  ~QuotaLedger();
  QuotaLedger(const QuotaLedger&) = delete;
  QuotaLedger& operator=(const QuotaLedger&) = delete;

  // An empty reservation for one upload of `owner` under `quota` bytes
  // (kUnlimitedQuota: a reservation that counts nothing).
  std::unique_ptr<Reservation> Open(const std::string& owner, int64_t quota, Replaced replaced);

  // Bytes reserved by `owner`'s open reservations; for tests and logs.
  int64_t reserved(const std::string& owner);

 private:
  struct Owner {
    std::mutex mu;
    std::condition_variable released;  // a failing reservation was released
    int64_t reserved = 0;              // guarded by mu
    std::optional<int64_t> used;       // guarded by mu: committed bytes; unset: read again
    // Guarded by mu: file id -> (bytes, reservations replacing it).
    std::map<std::string, std::pair<int64_t, int>> credits;
    int failing = 0;  // guarded by mu: failed reservations not yet released
    int open = 0;     // guarded by the ledger's mu_
  };

  // Drops the owner's entry when its last reservation goes.
  void Close(const std::string& owner);

  const UsedBytesFn used_bytes_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Owner>> owners_;  // guarded by mu_
};

class QuotaLedger::Reservation {
 public:
  ~Reservation();
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;

  // Reserves `bytes` more. kQuotaExceeded when they do not fit; the
  // reservation is then failing, and holds what it held until Release: the
  // caller removes what it stored, then releases.
  Status Grow(int64_t bytes);

  // Runs `commit` (the metadata transaction recording the upload) under the
  // owner's lock. When it succeeds, the reservation is released in the same
  // step (the file counts as committed now); when it fails, the reservation
  // is left for the caller to release after cleaning up.
  Status Commit(const std::function<Status()>& commit);

  // Gives the reserved bytes and the credit back. Idempotent.
  void Release();

  int64_t bytes() const { return bytes_; }

 private:
  friend class QuotaLedger;
  Reservation(QuotaLedger* ledger, std::string owner, std::shared_ptr<Owner> entry, int64_t quota,
              std::string credit_id)
      : ledger_(ledger),
        owner_(std::move(owner)),
        entry_(std::move(entry)),
        quota_(quota),
        credit_id_(std::move(credit_id)) {}
  // With entry_->mu held: returns the bytes and the credit.
  void ReleaseLocked();

  QuotaLedger* const ledger_;
  const std::string owner_;
  std::shared_ptr<Owner> entry_;  // null: unlimited, or closed
  const int64_t quota_;
  const std::string credit_id_;  // "" when no credit
  int64_t bytes_ = 0;            // guarded by entry_->mu
  bool failing_ = false;         // guarded by entry_->mu
  bool released_ = false;        // guarded by entry_->mu
};

}  // namespace nexus::daemon::storage
