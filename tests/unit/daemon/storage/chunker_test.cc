#include "daemon/storage/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::PseudoRandomBytes;

constexpr ChunkerParams kSmall{256, 1024, 4096};

// A chunker sink for `fn`, which takes each chunk in one piece.
Chunker::Sink Joined(std::function<Status(std::string_view chunk)> fn) {
  return [fn = std::move(fn)](std::span<const std::string_view> pieces,
                              const std::shared_ptr<const void>& owner) {
    EXPECT_NE(owner, nullptr) << "every chunk comes with an owner";
    std::string chunk;
    for (std::string_view p : pieces) {
      EXPECT_FALSE(p.empty()) << "the sink never gets an empty piece";
      chunk.append(p);
    }
    return fn(chunk);
  };
}

Status Ignore(std::string_view) { return Status::Ok(); }

// Chunks `data` fed in pieces of the given sizes (cycled); returns the chunks.
std::vector<std::string> ChunkIn(const ChunkerParams& params, std::string_view data,
                                 const std::vector<size_t>& piece_sizes) {
  Chunker chunker(params);
  std::vector<std::string> chunks;
  auto sink = Joined([&](std::string_view c) {
    chunks.emplace_back(c);
    return Status::Ok();
  });
  size_t k = 0;
  while (!data.empty()) {
    size_t n = std::min(data.size(), piece_sizes[k++ % piece_sizes.size()]);
    EXPECT_TRUE(chunker.Write(data.substr(0, n), sink).ok());
    data.remove_prefix(n);
  }
  EXPECT_TRUE(chunker.Finish(sink).ok());
  return chunks;
}

std::vector<size_t> Lengths(const std::vector<std::string>& chunks) {
  std::vector<size_t> out;
  for (const auto& c : chunks) out.push_back(c.size());
  return out;
}

std::string Join(const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += c;
  return out;
}

TEST(ChunkerTest, BoundariesDoNotDependOnHowTheInputIsSplit) {
  const std::string data = PseudoRandomBytes(200 * 1024, 1);
  const auto whole = ChunkIn(kSmall, data, {data.size()});
  ASSERT_GT(whole.size(), 20u);
  EXPECT_EQ(Join(whole), data);
  const std::vector<size_t> splits[] = {{1}, {7}, {255, 256, 257}, {4096}, {4097}, {65536, 3}};
  for (const auto& pieces : splits) {
    EXPECT_EQ(Lengths(ChunkIn(kSmall, data, pieces)), Lengths(whole))
        << "pieces of " << pieces.front() << " bytes";
  }
}

TEST(ChunkerTest, SameInputGivesSameBoundariesEveryTime) {
  const std::string data = PseudoRandomBytes(64 * 1024, 2);
  EXPECT_EQ(Lengths(ChunkIn(kSmall, data, {1000})), Lengths(ChunkIn(kSmall, data, {1000})));
  // Pinned so an accidental change of the gear table or masks (which would
  // defeat dedup against chunks already stored) fails loudly.
  auto lengths = Lengths(ChunkIn(kSmall, data, {data.size()}));
  lengths.resize(8);
  EXPECT_EQ(lengths, (std::vector<size_t>{1098, 1358, 1316, 563, 387, 1155, 1655, 1175}));
}

TEST(ChunkerTest, EveryChunkRespectsMinAndMaxSizes) {
  struct Case {
    const char* name;
    std::string data;
  };
  const Case cases[] = {
      {"random", PseudoRandomBytes(300 * 1024, 3)},
      {"zeros", std::string(300 * 1024, '\0')},
      {"repeating text",
       [] {
         std::string s;
         while (s.size() < 300 * 1024) s += "all work and no play makes jack a dull boy. ";
         return s;
       }()},
  };
  for (const auto& c : cases) {
    const auto chunks = ChunkIn(kSmall, c.data, {5000});
    ASSERT_FALSE(chunks.empty()) << c.name;
    EXPECT_EQ(Join(chunks), c.data) << c.name;
    for (size_t i = 0; i < chunks.size(); ++i) {
      EXPECT_LE(chunks[i].size(), kSmall.max_size) << c.name << " chunk " << i;
      if (i + 1 < chunks.size()) {
        EXPECT_GE(chunks[i].size(), kSmall.min_size) << c.name << " chunk " << i;
      }
    }
  }
}

TEST(ChunkerTest, AverageChunkSizeIsNearTheConfiguredAverage) {
  const std::string data = PseudoRandomBytes(4 << 20, 4);
  const auto chunks = ChunkIn(kSmall, data, {1 << 20});
  const double mean = static_cast<double>(data.size()) / static_cast<double>(chunks.size());
  EXPECT_GT(mean, kSmall.avg_size * 0.6);
  EXPECT_LT(mean, kSmall.avg_size * 1.6);
}

TEST(ChunkerTest, EmptyInputYieldsNoChunk) { EXPECT_TRUE(ChunkIn(kSmall, "", {1}).empty()); }

TEST(ChunkerTest, InputShorterThanMinimumIsOneChunk) {
  for (size_t n : {size_t{1}, size_t{63}, kSmall.min_size - 1, kSmall.min_size}) {
    const std::string data = PseudoRandomBytes(n, 5);
    const auto chunks = ChunkIn(kSmall, data, {1});
    ASSERT_EQ(chunks.size(), 1u) << n;
    EXPECT_EQ(chunks[0], data);
  }
}

TEST(ChunkerTest, ChunkerIsReusableAfterFinish) {
  const std::string data = PseudoRandomBytes(20000, 6);
  Chunker chunker(kSmall);
  std::vector<size_t> first, second;
  ASSERT_TRUE(chunker.Write(data.substr(0, 777), Joined(Ignore)).ok());
  ASSERT_TRUE(chunker.Finish(Joined(Ignore)).ok());
  auto collect = [](std::vector<size_t>* out) {
    return Joined([out](std::string_view c) {
      out->push_back(c.size());
      return Status::Ok();
    });
  };
  ASSERT_TRUE(chunker.Write(data, collect(&second)).ok());
  ASSERT_TRUE(chunker.Finish(collect(&second)).ok());
  EXPECT_EQ(second, Lengths(ChunkIn(kSmall, data, {data.size()})));
}

TEST(ChunkerTest, SinkErrorStopsTheChunkerAndIsReturned) {
  const std::string data = PseudoRandomBytes(50000, 7);
  Chunker chunker(kSmall);
  int calls = 0;
  Status s = chunker.Write(data, Joined([&](std::string_view) {
                             ++calls;
                             return UnavailableError("disk full");
                           }));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);
}

TEST(ChunkerTest, BuffersAtMostOneMaxChunk) {
  const std::string data(100000, 'x');  // no natural boundary: every chunk is max-sized
  Chunker chunker(kSmall);
  for (size_t i = 0; i < data.size(); i += 1000) {
    ASSERT_TRUE(chunker.Write(data.substr(i, 1000), Joined(Ignore)).ok());
    EXPECT_LT(chunker.buffered(), kSmall.max_size);
  }
}

// Feeds `data` with WriteShared in pieces of `piece` bytes, each its own
// owner (like received messages), and returns the chunks.
std::vector<std::string> ChunkShared(std::string_view data, size_t piece) {
  Chunker chunker(kSmall);
  std::vector<std::string> chunks;
  auto sink = Joined([&](std::string_view c) {
    chunks.emplace_back(c);
    return Status::Ok();
  });
  for (size_t at = 0; at < data.size(); at += piece) {
    auto owned = std::make_shared<const std::string>(data.substr(at, piece));
    EXPECT_TRUE(chunker.WriteShared(*owned, owned, sink).ok());
  }
  EXPECT_TRUE(chunker.Finish(sink).ok());
  return chunks;
}

TEST(ChunkerTest, SharedWritesGiveTheSameChunksAsCopiedOnes) {
  const std::string data = PseudoRandomBytes(100 * 1024, 10);
  const auto copied = ChunkIn(kSmall, data, {data.size()});
  for (size_t piece : {size_t{1}, size_t{100}, size_t{4096}, size_t{5000}, data.size()}) {
    EXPECT_EQ(ChunkShared(data, piece), copied) << "pieces of " << piece << " bytes";
  }
}

TEST(ChunkerTest, AChunkSpanningManySharedWritesArrivesAsThoseBytesUncopied) {
  // No natural boundary: every chunk is max-sized, 4096 bytes = 64 writes.
  const std::string data(3 * kSmall.max_size, 'x');
  std::vector<std::shared_ptr<const std::string>> owners;
  for (size_t at = 0; at < data.size(); at += 64) {
    owners.push_back(std::make_shared<const std::string>(data.substr(at, 64)));
  }
  Chunker chunker(kSmall);
  std::vector<size_t> piece_counts;
  auto sink = [&](std::span<const std::string_view> pieces, const std::shared_ptr<const void>&) {
    piece_counts.push_back(pieces.size());
    for (std::string_view p : pieces) {
      // Every piece is one of the owners' own buffers, not a copy of it.
      const bool owned = std::any_of(owners.begin(), owners.end(), [&](const auto& o) {
        return p.data() >= o->data() && p.data() + p.size() <= o->data() + o->size();
      });
      EXPECT_TRUE(owned);
    }
    return Status::Ok();
  };
  for (const auto& owner : owners) ASSERT_TRUE(chunker.WriteShared(*owner, owner, sink).ok());
  ASSERT_TRUE(chunker.Finish(sink).ok());
  EXPECT_EQ(piece_counts, (std::vector<size_t>{64, 64, 64}));
}

TEST(ChunkerTest, SharedBytesAreReleasedOnceTheirChunkIsEmitted) {
  Chunker chunker(kSmall);
  auto owner = std::make_shared<const std::string>(kSmall.min_size / 2, 'a');
  std::weak_ptr<const std::string> watch = owner;
  int chunks = 0;
  auto sink = Joined([&](std::string_view) {
    ++chunks;
    return Status::Ok();
  });
  ASSERT_TRUE(chunker.WriteShared(*owner, owner, sink).ok());
  owner.reset();
  EXPECT_FALSE(watch.expired()) << "held back: the chunker must keep the bytes alive";
  EXPECT_EQ(chunker.buffered(), kSmall.min_size / 2);
  ASSERT_TRUE(chunker.Finish(sink).ok());
  EXPECT_EQ(chunks, 1);
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(chunker.buffered(), 0u);
}

TEST(ChunkerTest, ResetDropsHeldBytesAndStartsAfresh) {
  const std::string data = PseudoRandomBytes(20000, 11);
  Chunker chunker(kSmall);
  auto owner = std::make_shared<const std::string>(100, 'z');
  std::weak_ptr<const std::string> watch = owner;
  ASSERT_TRUE(chunker.WriteShared(*owner, owner, Joined(Ignore)).ok());
  owner.reset();
  chunker.Reset();
  EXPECT_TRUE(watch.expired());
  std::vector<size_t> lengths;
  auto sink = Joined([&](std::string_view c) {
    lengths.push_back(c.size());
    return Status::Ok();
  });
  ASSERT_TRUE(chunker.Write(data, sink).ok());
  ASSERT_TRUE(chunker.Finish(sink).ok());
  EXPECT_EQ(lengths, Lengths(ChunkIn(kSmall, data, {data.size()})));
}

TEST(ChunkerTest, CopiedAndSharedWritesMayAlternate) {
  const std::string data = PseudoRandomBytes(60000, 12);
  Chunker chunker(kSmall);
  std::vector<std::string> chunks;
  auto sink = Joined([&](std::string_view c) {
    chunks.emplace_back(c);
    return Status::Ok();
  });
  bool shared = false;
  for (size_t at = 0; at < data.size(); at += 300, shared = !shared) {
    std::string piece = data.substr(at, 300);
    if (shared) {
      auto owned = std::make_shared<const std::string>(std::move(piece));
      ASSERT_TRUE(chunker.WriteShared(*owned, owned, sink).ok());
    } else {
      ASSERT_TRUE(chunker.Write(piece, sink).ok());  // `piece` dies right after
    }
  }
  ASSERT_TRUE(chunker.Finish(sink).ok());
  EXPECT_EQ(chunks, ChunkIn(kSmall, data, {data.size()}));
}

// A sink may keep a chunk past the call (nexusd writes it on another
// thread): the pieces stay valid as long as the owner, whatever the caller
// does with its own bytes afterwards, copied or shared.
TEST(ChunkerTest, AChunkKeptBySinkStaysValidWhileItsOwnerLives) {
  const std::string data = PseudoRandomBytes(60000, 13);
  struct Kept {
    std::vector<std::string_view> pieces;
    std::shared_ptr<const void> owner;
  };
  std::vector<Kept> kept;
  Chunker chunker(kSmall);
  auto sink = [&](std::span<const std::string_view> pieces,
                  const std::shared_ptr<const void>& owner) {
    kept.push_back(Kept{{pieces.begin(), pieces.end()}, owner});
    return Status::Ok();
  };
  std::string scratch;  // the caller's buffer, overwritten after every Write
  bool shared = false;
  for (size_t at = 0; at < data.size(); at += 700, shared = !shared) {
    if (shared) {
      auto piece = std::make_shared<std::string>(data.substr(at, 700));
      ASSERT_TRUE(chunker.WriteShared(*piece, piece, sink).ok());
    } else {
      scratch = data.substr(at, 700);
      ASSERT_TRUE(chunker.Write(scratch, sink).ok());
      scratch.assign(scratch.size(), '#');
    }
  }
  ASSERT_TRUE(chunker.Finish(sink).ok());
  std::vector<std::string> chunks;
  for (const Kept& k : kept) {
    std::string c;
    for (std::string_view p : k.pieces) c.append(p);
    chunks.push_back(std::move(c));
  }
  EXPECT_EQ(chunks, ChunkIn(kSmall, data, {data.size()}));
}

TEST(ChunkerTest, CopiedChunksReuseOneBufferWhenTheSinkLetsGo) {
  const std::string data = PseudoRandomBytes(60000, 14);
  std::vector<const char*> starts;
  Chunker chunker(kSmall);
  auto sink = [&](std::span<const std::string_view> pieces, const std::shared_ptr<const void>&) {
    starts.push_back(pieces.front().data());
    return Status::Ok();
  };
  for (size_t at = 0; at < data.size(); at += 500) {
    ASSERT_TRUE(chunker.Write(data.substr(at, 500), sink).ok());
  }
  ASSERT_TRUE(chunker.Finish(sink).ok());
  ASSERT_GT(starts.size(), 3u);
  EXPECT_EQ(std::count(starts.begin(), starts.end(), starts.front()),
            static_cast<std::ptrdiff_t>(starts.size()));
}

// The property that makes dedup work across edits: with the production sizes
// (512 KiB / 1 MiB / 8 MiB), inserting 1 KiB near the start of a 100 MiB stream changes
// only the chunks around the insertion.
TEST(ChunkerTest, InsertNearStartChangesOnlyNearbyChunks) {
  const ChunkerParams params;  // defaults: 512 KiB / 1 MiB / 8 MiB
  const std::string original = PseudoRandomBytes(100 << 20, 8);
  std::string edited = original;
  edited.insert(100 * 1024, PseudoRandomBytes(1024, 9));

  auto hashes = [&](const std::string& data) {
    std::vector<std::string> out;
    Chunker chunker(params);
    auto sink = Joined([&](std::string_view c) {
      out.push_back(Sha256::HexDigest(c));
      return Status::Ok();
    });
    std::string_view rest = data;
    while (!rest.empty()) {
      size_t n = std::min<size_t>(rest.size(), 1 << 20);  // gRPC-sized messages
      EXPECT_TRUE(chunker.Write(rest.substr(0, n), sink).ok());
      rest.remove_prefix(n);
    }
    EXPECT_TRUE(chunker.Finish(sink).ok());
    return out;
  };
  const auto a = hashes(original);
  const auto b = hashes(edited);
  ASSERT_GT(a.size(), 10u);
  // Same tail: everything after the chunk(s) holding the insertion is shared.
  size_t common_tail = 0;
  while (common_tail < std::min(a.size(), b.size()) &&
         a[a.size() - 1 - common_tail] == b[b.size() - 1 - common_tail]) {
    ++common_tail;
  }
  EXPECT_GE(common_tail + 2, a.size()) << "only the first chunks may differ";
  EXPECT_LT(common_tail, a.size()) << "the chunk with the insertion must differ";
}

TEST(ChunkerTest, ValidatesSizeParameters) {
  struct Case {
    ChunkerParams params;
    bool ok;
  };
  const Case cases[] = {
      {{256, 1024, 4096}, true},        {{1 << 20, 4 << 20, 16 << 20}, true},
      {{32, 1024, 4096}, false},         // min too small
      {{1024, 1024, 4096}, false},       // min == avg
      {{256, 4096, 4096}, false},        // avg == max
      {{256, 1024, 512u << 20}, false},  // max too large
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ValidateChunkerParams(c.params).ok(), c.ok)
        << c.params.min_size << "/" << c.params.avg_size << "/" << c.params.max_size;
  }
}

TEST(ChunkerTest, ReadsSizesFromConfig) {
  StorageConfig config;
  config.chunk_min_bytes = 4096;
  config.chunk_avg_bytes = 16384;
  config.chunk_max_bytes = 65536;
  auto p = ChunkerParamsFromConfig(config);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->min_size, 4096u);
  EXPECT_EQ(p->avg_size, 16384u);
  EXPECT_EQ(p->max_size, 65536u);
  config.chunk_min_bytes = -1;
  EXPECT_EQ(ChunkerParamsFromConfig(config).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::storage
