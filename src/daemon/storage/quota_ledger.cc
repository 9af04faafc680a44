#include "daemon/storage/quota_ledger.h"

#include <algorithm>
#include <cassert>

namespace nexus::daemon::storage {
namespace {

Status DoesNotFit(int64_t used, int64_t reserved, int64_t quota) {
  return QuotaExceededError("storage quota exceeded: " + std::to_string(used) + " of " +
                            std::to_string(quota) + " bytes used and " + std::to_string(reserved) +
                            " held by uploads in progress");
}

}  // namespace

QuotaLedger::QuotaLedger(UsedBytesFn used_bytes) : used_bytes_(std::move(used_bytes)) {}

QuotaLedger::~QuotaLedger() {
  std::lock_guard lock(mu_);
  assert(owners_.empty() && "a reservation outlived its ledger");
}

std::unique_ptr<QuotaLedger::Reservation> QuotaLedger::Open(const std::string& owner, int64_t quota,
                                                            Replaced replaced) {
  if (quota < 0) {
    return std::unique_ptr<Reservation>(new Reservation(this, owner, nullptr, quota, ""));
  }
  std::shared_ptr<Owner> entry;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<Owner>& slot = owners_[owner];
    if (!slot) slot = std::make_shared<Owner>();
    ++slot->open;
    entry = slot;
  }
  std::string credit_id;
  if (!replaced.file_id.empty() && replaced.bytes > 0) {
    std::lock_guard lock(entry->mu);
    auto& credit = entry->credits[replaced.file_id];
    credit.first = replaced.bytes;
    ++credit.second;
    credit_id = replaced.file_id;
  }
  return std::unique_ptr<Reservation>(
      new Reservation(this, owner, std::move(entry), quota, std::move(credit_id)));
}

int64_t QuotaLedger::reserved(const std::string& owner) {
  std::shared_ptr<Owner> entry;
  {
    std::lock_guard lock(mu_);
    auto it = owners_.find(owner);
    if (it == owners_.end()) return 0;
    entry = it->second;
  }
  std::lock_guard lock(entry->mu);
  return entry->reserved;
}

void QuotaLedger::Close(const std::string& owner) {
  std::lock_guard lock(mu_);
  auto it = owners_.find(owner);
  if (it != owners_.end() && --it->second->open == 0) owners_.erase(it);
}

// ---- Reservation -------------------------------------------------------------

QuotaLedger::Reservation::~Reservation() { Release(); }

Status QuotaLedger::Reservation::Grow(int64_t bytes) {
  if (!entry_ || bytes <= 0) return Status::Ok();
  Owner& o = *entry_;
  std::unique_lock lock(o.mu);
  if (released_) return InternalError("upload of '" + owner_ + "': its reservation was released");
  if (failing_) return DoesNotFit(o.used.value_or(0), o.reserved, quota_);
  bool fresh = false;  // o.used was read during this call
  for (;;) {
    if (!o.used) {
      Result<int64_t> used = ledger_->used_bytes_(owner_);
      if (!used.ok()) return used.status();
      o.used = *used;
      fresh = true;
    }
    // In 128 bits: no sum can overflow, whatever the quota.
    __int128 credit = 0;
    for (const auto& [id, c] : o.credits) credit += c.first;
    credit = std::min<__int128>(credit, quota_);
    if (*o.used + static_cast<__int128>(o.reserved) + bytes <= quota_ + credit) {
      o.reserved += bytes;
      bytes_ += bytes;
      return Status::Ok();
    }
    if (!fresh) {
      // Deletes since the last read leave the cache too high: look again.
      o.used.reset();
      continue;
    }
    if (o.failing > 0) {
      // Room is about to come back: wait for it rather than fail beside.
      o.released.wait(lock);
      fresh = false;
      continue;
    }
    failing_ = true;
    ++o.failing;
    return DoesNotFit(*o.used, o.reserved, quota_);
  }
}

Status QuotaLedger::Reservation::Commit(const std::function<Status()>& commit) {
  if (!entry_) return commit();
  std::lock_guard lock(entry_->mu);
  if (released_) return InternalError("upload of '" + owner_ + "': its reservation was released");
  Status s = commit();
  if (!s.ok()) return s;
  // The file is committed: its bytes count there now, not here.
  entry_->used.reset();
  ReleaseLocked();
  return s;
}

void QuotaLedger::Reservation::ReleaseLocked() {
  if (released_) return;
  released_ = true;
  Owner& o = *entry_;
  o.reserved -= bytes_;
  bytes_ = 0;
  if (!credit_id_.empty()) {
    auto it = o.credits.find(credit_id_);
    if (it != o.credits.end() && --it->second.second == 0) o.credits.erase(it);
  }
  if (failing_) --o.failing;
  o.released.notify_all();
}

void QuotaLedger::Reservation::Release() {
  if (!entry_) return;
  {
    std::lock_guard lock(entry_->mu);
    ReleaseLocked();
  }
  entry_.reset();
  ledger_->Close(owner_);
}

}  // namespace nexus::daemon::storage
