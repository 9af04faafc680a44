// FsChunkStore: the local-filesystem ChunkStore.
//
// Layout: <root>/ab/cd/<hash> where "ab" and "cd" are the first two bytes of
// the hex hash, so no directory grows beyond 65536 entries per level. A chunk
// is written to "<root>/ab/cd/.tmp-<hash>-<unique>", fsync'd, renamed into
// place without replacing an existing chunk, and the directory is fsync'd:
// after Put returns the chunk survives a crash, and a reader never sees a
// partial chunk. Temp files left by a crash are removed by Sweep.
//
// Thread-safe: operations on different hashes are independent, and two Puts
// of the same hash both succeed with identical content (one reports created).
// Sweep must not run while Puts are in flight (it would take their temp files).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "daemon/storage/chunk_store.h"

namespace nexus::daemon::storage {

class FsChunkStore final : public ChunkStore {
 public:
  // Creates `root` (mode 0700) if it does not exist.
  static Result<std::unique_ptr<FsChunkStore>> Open(const std::string& root);

  Result<bool> Put(const std::string& hash, std::string_view bytes) override;
  Result<bool> Has(const std::string& hash) override;
  Result<std::string> Get(const std::string& hash) override;
  Status Remove(const std::string& hash) override;
  Status List(const std::function<void(const std::string& hash)>& fn) override;
  Result<SweepStats> Sweep(const std::function<bool(const std::string& hash)>& keep) override;

  // Where the chunk lives (whether or not it exists); for tests and tools.
  std::string PathOf(const std::string& hash) const;

 private:
  explicit FsChunkStore(std::string root) : root_(std::move(root)) {}

  // Creates <root>/ab/cd, fsyncing each parent that gained an entry.
  Status EnsureDirs(const std::string& hash);
  // Visits every regular file two levels down: fn(dir, name).
  Status Walk(const std::function<Status(const std::string& dir, const std::string& name)>& fn);

  const std::string root_;
  std::atomic<uint64_t> temp_counter_{0};
};

}  // namespace nexus::daemon::storage
