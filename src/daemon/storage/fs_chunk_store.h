// FsChunkStore: the local-filesystem ChunkStore.
//
// Layout: <root>/ab/cd/<hash> where "ab" and "cd" are the first two bytes of
// the hex hash, so no directory grows beyond 65536 entries per level. Put
// writes "<root>/ab/cd/.tmp-<hash>-<unique>", asks the kernel to start
// writing it back, and renames it into place without replacing an existing
// chunk: a reader never sees a partial chunk. Put does not wait for the disk;
// the store remembers the chunks it created that are not yet durable, and
// Sync fsyncs those it is given, and their directories (and, for a directory
// Put may have created, its parents: Put creates directories without waiting
// for the disk either; a fresh store makes a new directory for almost every
// chunk, and a thousand inline fsyncs of them cost seconds), all at once from a
// few threads (the journal then commits them together: serial fsyncs of a
// thousand 1 MiB chunks cost ~2 s here, a parallel batch ~0.3 s). A crash
// can leave a renamed chunk with missing bytes, but only one that no commit
// references; Sweep removes it with the temp files.
//
// Thread-safe: operations on different hashes are independent, and two Puts
// of the same hash both succeed with identical content (one reports created).
// A Sync that names a chunk another Sync is fsyncing waits for that one and
// takes its outcome.
// Sweep must not run while Puts are in flight (it would take their temp files).
#pragma once

#include <atomic>
#include <bitset>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "daemon/storage/chunk_store.h"

namespace nexus::daemon::storage {

class FsChunkStore final : public ChunkStore {
 public:
  // Creates `root` mode 0700, or takes group and other permissions away from
  // an existing one (MakePrivateDirectory).
  static Result<std::unique_ptr<FsChunkStore>> Open(const std::string& root);

  Result<bool> Put(const std::string& hash, std::string_view bytes) override;
  // Writes the pieces with writev: no joined copy.
  Result<bool> PutPieces(const std::string& hash,
                         std::span<const std::string_view> pieces) override;
  Status Sync(const std::vector<std::string>& hashes) override;
  void ObserveSyncs(metrics::Histogram* latency) override { sync_latency_ = latency; }
  Result<bool> Has(const std::string& hash) override;
  Result<std::string> Get(const std::string& hash) override;
  // Reads straight into `out` and verifies it there.
  Status ReadInto(const std::string& hash, std::span<char> out) override;
  Status Remove(const std::string& hash) override;
  Status List(const std::function<void(const std::string& hash)>& fn) override;
  Result<SweepStats> Sweep(const std::function<bool(const std::string& hash)>& keep) override;

  // Where the chunk lives (whether or not it exists); for tests and tools.
  std::string PathOf(const std::string& hash) const;
  // Chunks created by Put and not yet made durable by Sync; for tests.
  size_t unsynced_count();
  // What the last Sync that had work fsynced (chunk files and directories,
  // sorted); for tests.
  std::vector<std::string> last_synced_paths();

 private:
  explicit FsChunkStore(std::string root) : root_(std::move(root)) {}

  metrics::Histogram* sync_latency_ = nullptr;  // set before serving

  // Creates <root>/ab/cd; Sync makes the new entries durable.
  Status EnsureDirs(const std::string& hash);
  // The chunk's leaf ("abcd") and top ("ab") directory as numbers.
  static size_t LeafIndex(const std::string& hash);
  static size_t TopIndex(const std::string& hash);
  // Visits every regular file two levels down: fn(dir, name).
  Status Walk(const std::function<Status(const std::string& dir, const std::string& name)>& fn);

  const std::string root_;
  std::atomic<uint64_t> temp_counter_{0};
  std::mutex unsynced_mu_;
  std::unordered_set<std::string> unsynced_;  // guarded by unsynced_mu_
  // Chunks whose fsync failed: never trusted as durable until removed or
  // written afresh (see Sync). Guarded by unsynced_mu_.
  std::unordered_set<std::string> failed_;
  // Directories whose own entry is known durable (a Sync fsynced their
  // parent after they existed). Guarded by unsynced_mu_.
  std::bitset<65536> durable_leaves_;
  std::bitset<256> durable_tops_;
  std::vector<std::string> last_synced_paths_;  // guarded by unsynced_mu_
  // Chunks a Sync is fsyncing now; another Sync of one waits on sync_done_.
  // Guarded by unsynced_mu_.
  std::unordered_set<std::string> in_flight_;
  std::condition_variable sync_done_;
};

}  // namespace nexus::daemon::storage
