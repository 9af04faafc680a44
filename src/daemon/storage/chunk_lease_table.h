// ChunkLeaseTable: the chunk leases and removals of several daemons that
// share one metadata database (PostgreSQL) and one chunk store (a bucket).
//
// Within one process, FileService leases a chunk before an upload stores it
// (and may find it present) and before a reader reads it, and removes an
// unreferenced chunk only when no lease holds it, all under one mutex. That
// mutex does not reach another daemon: daemon B could find chunk h present
// (HEAD) just before daemon A deletes it as unreferenced, then commit a file
// whose chunk is gone. This table makes the same rule hold across daemons,
// in the database's write transactions (sql::TxMode::kWrite, which every
// daemon's writers take in turn):
//
//   chunk_leases(hash, holder, expires_at)   one row per hash a process holds
//   chunk_removals(hash, holder, started_at) a removal under way
//   chunk_orphans(hash)                      a removal a lease held up
//
// - A holder leases before it looks for a chunk. Acquire answers whether a
//   removal of one of the hashes is under way; the holder then waits for
//   it to end (RemovalsUnderWay) before it looks, so it stores the chunk
//   again rather than trusting a HEAD the removal may undo.
// - A remover calls BeginRemoval, which refuses while a committed file
//   references the chunk or another holder's lease is live, and otherwise
//   records the removal; it deletes the chunk, then calls EndRemoval.
// Both run in one serialised transaction each, so either the lease comes
// first (the removal is refused) or the removal does (the holder waits).
// A removal refused for another holder's lease is noted as an orphan; the
// holder that drops the last lease of it learns so from Release and tries
// the removal itself, so the chunk does not wait for a start-up sweep.
//
// Leases expire, so a daemon that dies holds nothing for long: each holder
// renews its own every kRenewEvery (FileService runs that), and a lease not
// renewed for kLeaseTtl no longer counts. A removal not ended within
// kRemovalTtl (its daemon died mid-delete) no longer holds anyone up.
//
// One table per process: it leases, releases and removes as `holder`, the
// process's name in the table (HolderName). Thread-safe: one connection,
// used under a mutex. The connection must outlive the table and have the
// storage migrations applied.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/sql/connection.h"
#include "common/sql/database.h"

namespace nexus::daemon::storage {

std::vector<sql::Migration> ChunkLeaseMigrations();

class ChunkLeaseTable {
 public:
  static constexpr int64_t kLeaseTtlSeconds = 600;
  static constexpr std::chrono::seconds kRenewEvery{60};
  static constexpr int64_t kRemovalTtlSeconds = 300;

  ChunkLeaseTable(sql::Connection& db, const Clock& clock, std::string holder)
      : db_(db), clock_(clock), holder_(std::move(holder)) {}

  // A name for a process of daemon host `host`: the host and pid for whoever
  // reads the table, and random bytes, so a restarted process is someone new.
  static std::string HolderName(const std::string& host);

  // Leases `hashes` (again: extends them). Answers whether a removal of any
  // of them is under way.
  Result<bool> Acquire(const std::vector<std::string>& hashes);
  // Whether a removal of any of `hashes` is under way (a holder waiting to look).
  Result<bool> RemovalsUnderWay(const std::vector<std::string>& hashes);
  // Drops this holder's leases of `hashes`. Answers those of them whose
  // removal a lease held up and that no live lease holds any more: the
  // caller should try to remove them (BeginRemoval decides).
  Result<std::vector<std::string>> Release(const std::vector<std::string>& hashes);
  // Extends every lease of this holder by kLeaseTtlSeconds from now.
  Status Renew();

  // True when this holder may remove chunk `hash` now: nothing references it,
  // no other holder's lease is live and no other removal is under way. Then
  // the removal is recorded until EndRemoval. Refused for a lease, the
  // chunk is noted as an orphan (see Release).
  Result<bool> BeginRemoval(const std::string& hash);
  Status EndRemoval(const std::vector<std::string>& hashes);

 private:
  int64_t Now() const;

  sql::Connection& db_;
  const Clock& clock_;
  const std::string holder_;
  std::mutex mu_;  // guards every use of db_
};

}  // namespace nexus::daemon::storage
