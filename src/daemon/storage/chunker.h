// Chunker: streaming content-defined chunking with FastCDC (Xia et al.,
// USENIX ATC '16): a 64-bit gear rolling hash, normalised chunking with a
// stricter mask before the average size and a looser one after it, and no
// hashing at all below the minimum size.
//
// Bytes are fed with Write as they arrive; every complete chunk is passed to
// the sink, Finish flushes the tail. Boundaries depend only on the content,
// never on how the input was split into Write calls, so an insertion changes
// only the chunks around it. A chunk reaches the sink as its pieces, in
// order: the bytes of the current Write plus what was held back from earlier
// ones, with an owner that keeps them alive for as long as the sink keeps it
// (so a chunk can be written on another thread while chunking goes on).
// Write copies the bytes of the chunks it emits into a buffer per chunk
// (reused once the sink let go of it); WriteShared holds a reference to the
// caller's bytes instead, so a chunk spread over many received messages is
// hashed and written from those messages without ever being copied. The gear
// table is part of the on-disk format: changing it changes every boundary and
// so defeats deduplication with existing chunks.
//
// Not thread-safe; one Chunker per stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/result.h"
#include "common/status.h"

namespace nexus::daemon::storage {

struct ChunkerParams {
  size_t min_size = 512 << 10;
  size_t avg_size = 1 << 20;
  size_t max_size = 8 << 20;
};

// Checks 64 <= min < avg < max <= 256 MiB.
Status ValidateChunkerParams(const ChunkerParams& params);
// storage.chunk_{min,avg,max}_bytes, validated.
Result<ChunkerParams> ChunkerParamsFromConfig(const StorageConfig& config);

class Chunker {
 public:
  // Receives each chunk in order as its non-empty pieces (concatenated, they
  // are the chunk) and `owner`, which keeps every piece valid as long as it
  // lives: the sink may keep both past the call. A non-ok Status stops the
  // chunker and is returned from Write/Finish.
  using Sink = std::function<Status(std::span<const std::string_view> pieces,
                                    const std::shared_ptr<const void>& owner)>;

  // `params` must pass ValidateChunkerParams.
  explicit Chunker(const ChunkerParams& params);

  // `data` is needed only during the call: what goes into chunks is copied.
  Status Write(std::string_view data, const Sink& sink);
  // The same, but what is held back is `data` itself: it must stay valid as
  // long as `owner` lives, and the chunker keeps a reference to `owner` until
  // the chunk holding those bytes went to the sink (or Reset).
  Status WriteShared(std::string_view data, const std::shared_ptr<const void>& owner,
                     const Sink& sink);
  // Emits the final (possibly short) chunk, if any bytes are pending, and
  // resets the chunker for a new stream. Empty input yields no chunk.
  Status Finish(const Sink& sink);
  // Drops what is held back (and the references to shared bytes) and starts
  // a new stream.
  void Reset();

  // Bytes held back waiting for a boundary.
  size_t buffered() const { return (buffer_ ? buffer_->size() : 0) + held_bytes_; }

 private:
  // Bytes of an earlier WriteShared (or a copy), kept alive by `owner`.
  struct Held {
    std::string_view bytes;
    std::shared_ptr<const void> owner;
  };

  // Write and WriteShared: `owner` null means copy what is held back.
  Status Feed(std::string_view data, const std::shared_ptr<const void>* owner, const Sink& sink);
  // Holds `data` back as the continuation of the current chunk.
  void Hold(std::string_view data, const std::shared_ptr<const void>* owner);
  // Hands the chunk made of what is held back plus `tail` (owned by `owner`;
  // null: copied first) to `sink`, and lets go of what was held.
  Status Emit(std::string_view tail, const std::shared_ptr<const void>* owner, const Sink& sink);
  // The copy buffer, empty, with room for a max-size chunk: the last one
  // unless the sink still keeps it.
  std::string& CopyBuffer();
  // Empties the copy buffer, or drops it if the sink still keeps it.
  void LetGoOfBuffer();
  // Scans data[0, n) as the continuation of the current chunk. Returns how
  // many bytes belong to it; sets *cut when the chunk ends there.
  size_t Scan(const uint8_t* data, size_t n, bool* cut);

  size_t min_size_;
  size_t normal_size_;
  size_t max_size_;
  uint64_t mask_small_;  // more bits: cuts are rarer before normal_size_
  uint64_t mask_large_;  // fewer bits: cuts are likelier after it
  size_t pos_ = 0;       // length of the current chunk so far
  uint64_t fp_ = 0;      // gear fingerprint
  // The current chunk's bytes so far: buffer_ (copies), then held_.
  std::shared_ptr<std::string> buffer_;
  std::vector<Held> held_;
  size_t held_bytes_ = 0;
  std::vector<std::string_view> pieces_;             // scratch: the chunk being emitted
  std::vector<std::shared_ptr<const void>> owners_;  // scratch: its owners
};

}  // namespace nexus::daemon::storage
