// ChunkStore: where chunk bytes live, addressed by the lowercase hex SHA-256
// of their content. Small on purpose so that more backends (an S3-compatible
// one) can follow the local filesystem one (fs_chunk_store.h).
//
// Durability is batched: Put may return before its chunk would survive a
// crash, and Sync makes a batch durable (one upload's chunks, before the
// metadata commit that references them). A chunk lost in a crash before its
// Sync is referenced by nothing, so the start-up Sweep takes what is left of
// it.
//
// A full disk (ENOSPC, EDQUOT) is InsufficientStorageError(): HTTP 507 with
// exactly that message, for a client must not learn the host's paths; the
// store logs what failed where.
//
// A store knows nothing about files or refcounts; the metadata store decides
// which chunks are referenced and FileService decides when one may go. Every
// hash argument must satisfy IsSha256Hex (else kInvalidArgument), which also
// keeps hashes safe to use in paths and object keys. Implementations are
// thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/insufficient_storage.h"
#include "common/metrics/metrics.h"
#include "common/result.h"
#include "common/status.h"

namespace nexus::daemon::storage {

struct SweepStats {
  int64_t temp_files_removed = 0;
  int64_t chunks_removed = 0;
  int64_t chunks_kept = 0;
};

// The error of a chunk whose stored size is not the one recorded for it.
inline Status ChunkSizeMismatch(const std::string& hash, uint64_t got, uint64_t want) {
  return InternalError("chunk " + hash + " has " + std::to_string(got) + " bytes, expected " +
                       std::to_string(want));
}

class ChunkStore {
 public:
  virtual ~ChunkStore() = default;

  // Stores `bytes` under `hash` (the caller has hashed them); readers see the
  // whole chunk or none of it. Durable only after a Sync that names it. An
  // existing chunk is never rewritten. Returns true when this call created
  // the chunk, false when it was already present (perhaps not yet durable:
  // another writer's Put).
  virtual Result<bool> Put(const std::string& hash, std::string_view bytes) = 0;

  // Put of the concatenation of `pieces` (a chunk as the chunker hands it
  // over, spread over the received messages). The default joins them into
  // one buffer; a store that can write scattered bytes overrides it.
  virtual Result<bool> PutPieces(const std::string& hash,
                                 std::span<const std::string_view> pieces) {
    if (pieces.size() == 1) return Put(hash, pieces.front());
    std::string joined;
    size_t size = 0;
    for (std::string_view p : pieces) size += p.size();
    joined.reserve(size);
    for (std::string_view p : pieces) joined.append(p);
    return Put(hash, joined);
  }

  // Makes every named chunk that the store holds durable (its bytes and its
  // name), whoever Put it; chunks already durable cost next to nothing. Call
  // it with every hash a metadata commit will reference, before that commit.
  // The default suits stores whose Put is durable on return (an S3 PUT).
  virtual Status Sync(const std::vector<std::string>& hashes) {
    (void)hashes;
    return Status::Ok();
  }

  virtual Result<bool> Has(const std::string& hash) = 0;

  // The chunk's bytes, verified against `hash`. A missing chunk is kNotFound;
  // content that does not match its hash is kInternal with a message naming
  // the chunk (data loss: callers log it loudly).
  virtual Result<std::string> Get(const std::string& hash) = 0;

  // Get into the caller's buffer, for a reader that knows the chunk's size
  // (the metadata records it): `out` receives exactly out.size() bytes,
  // verified. A chunk of another size is kInternal like a corrupt one; a
  // missing chunk kNotFound. The default goes through Get; a store that can
  // read in place overrides it (no zero-filled buffer, no second copy).
  virtual Status ReadInto(const std::string& hash, std::span<char> out) {
    NEXUS_ASSIGN_OR_RETURN(std::string bytes, Get(hash));
    if (bytes.size() != out.size()) return ChunkSizeMismatch(hash, bytes.size(), out.size());
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return Status::Ok();
  }

  // Deletes the chunk; a missing chunk is not an error.
  virtual Status Remove(const std::string& hash) = 0;

  // Whether Remove costs about a local unlink (true) or a network round
  // trip (an S3 DELETE): FileService removes a deleted file's chunks before
  // answering, and holds its lease lock over each batch, only when cheap.
  virtual bool RemoveIsCheap() const { return true; }

  // How many chunk reads of one download pay to have in flight at once: 1
  // for a local disk (the kernel reads ahead), more for a store a round trip
  // away, whose reads would otherwise wait for each other (FileReader).
  virtual int ReadsInFlight() const { return 1; }
  // The same for the chunk writes of one upload (BackgroundChunkWriter): 1
  // for a local disk, whose writes land in the page cache at once.
  virtual int WritesInFlight() const { return 1; }

  // Calls `fn` with the hash of every stored chunk (order unspecified).
  virtual Status List(const std::function<void(const std::string& hash)>& fn) = 0;

  // Crash cleanup: removes unfinished writes and every chunk for which
  // `keep(hash)` is false. A false answer may be a claim on the chunk
  // (FileService with shared leases): a store asks only about chunks it
  // would remove, and removes every one it was told not to keep.
  virtual Result<SweepStats> Sweep(const std::function<bool(const std::string& hash)>& keep) = 0;

  // From now on, the time each Sync spends making chunks durable (its
  // fsyncs) goes into `latency`, which must outlive the store. Call before
  // serving. Stores with nothing to sync ignore it.
  virtual void ObserveSyncs(metrics::Histogram* /*latency*/) {}
};

}  // namespace nexus::daemon::storage
