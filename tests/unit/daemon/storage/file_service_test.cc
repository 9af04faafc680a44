#include "daemon/storage/file_service.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/storage/background_chunk_writer.h"
#include "daemon/storage/fs_chunk_store.h"
#include "daemon/storage/sha256.h"
#include "support/fake_clock.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::CountFiles;
using testing::Eventually;
using testing::PseudoRandomBytes;
using testing::TempDir;

constexpr ChunkerParams kSmall{256, 1024, 4096};

class FileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = FsChunkStore::Open(chunks_dir());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    chunks_ = std::move(*store);
    auto db = OpenDatabase(":memory:", StorageMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    metadata_ = std::make_unique<MetadataStore>(*db_, clock_);
    FileServiceOptions options;
    options.chunker = kSmall;
    options.quota_for = [this](const std::string& owner) {
      auto it = quotas_.find(owner);
      return it == quotas_.end() ? kUnlimitedQuota : it->second;
    };
    service_ = std::make_unique<FileService>(*chunks_, *metadata_, options);
  }

  std::string chunks_dir() const { return dir_.path() + "/chunks"; }
  int ChunkFiles() const { return CountFiles(chunks_dir()); }
  // Chunks stored under their hash (temp files of puts in progress not counted).
  int StoredChunks() const {
    int n = 0;
    EXPECT_TRUE(chunks_->List([&](const std::string&) { ++n; }).ok());
    return n;
  }
  // The hashes of the chunks one Write of `data` completes, in order; the
  // rest waits for Commit.
  static std::vector<std::string> CompleteChunkHashes(const std::string& data) {
    Chunker chunker(kSmall);
    std::vector<std::string> hashes;
    auto hash_of = [&](std::span<const std::string_view> pieces,
                       const std::shared_ptr<const void>&) {
      Sha256 h;
      for (std::string_view p : pieces) h.Update(p);
      hashes.push_back(ToHex(h.Finish()));
      return Status::Ok();
    };
    EXPECT_TRUE(chunker.Write(data, hash_of).ok());
    return hashes;
  }
  static int CompleteChunks(const std::string& data) {
    return static_cast<int>(CompleteChunkHashes(data).size());
  }

  // Uploads `data` in pieces of `piece` bytes.
  Result<FileRecord> UploadAs(const std::string& owner, const std::string& name,
                              const std::string& data, size_t piece = 1000) {
    auto upload = service_->Begin(owner, name);
    if (!upload.ok()) return upload.status();
    for (size_t i = 0; i < data.size(); i += piece) {
      NEXUS_RETURN_IF_ERROR((*upload)->Write(std::string_view(data).substr(i, piece)));
    }
    return (*upload)->Commit();
  }

  Result<std::string> Download(const std::string& owner, const std::string& id,
                               std::optional<ByteRange> range = std::nullopt) {
    NEXUS_ASSIGN_OR_RETURN(auto reader, service_->Open(owner, id, range));
    std::string out;
    while (true) {
      NEXUS_ASSIGN_OR_RETURN(std::string_view piece, reader->Next());
      if (piece.empty()) break;
      out += piece;
    }
    if (static_cast<int64_t>(out.size()) != reader->length()) {
      return InternalError("reader yielded " + std::to_string(out.size()) + " bytes, announced " +
                           std::to_string(reader->length()));
    }
    return out;
  }

  TempDir dir_;
  nexus::testing::FakeClock clock_;
  std::unique_ptr<FsChunkStore> chunks_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<MetadataStore> metadata_;
  std::map<std::string, int64_t> quotas_;
  std::unique_ptr<FileService> service_;
};

TEST_F(FileServiceTest, UploadedFileDownloadsByteIdentical) {
  const std::string data = PseudoRandomBytes(40 * 1024 + 17, 1);
  auto file = UploadAs("alice", "data.bin", data, 777);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->name, "data.bin");
  EXPECT_EQ(file->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(file->sha256, Sha256::HexDigest(data));
  EXPECT_EQ(file->status, "Uploaded");
  EXPECT_GT(file->chunks_count, 10);
  EXPECT_EQ(ChunkFiles(), file->chunks_count);

  auto back = Download("alice", file->id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
}

TEST_F(FileServiceTest, SharedWritesStoreTheSameChunksAsCopiedWrites) {
  const std::string data = PseudoRandomBytes(40 * 1024 + 17, 3);
  auto copied = UploadAs("alice", "copied.bin", data, 777);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  const int chunk_files = ChunkFiles();

  // Messages of 3000 bytes, each lent as three slices, the way nexusd hands
  // over a received gRPC message.
  auto upload = service_->Begin("alice", "shared.bin");
  ASSERT_TRUE(upload.ok());
  std::vector<std::weak_ptr<const std::string>> messages;
  for (size_t at = 0; at < data.size(); at += 3000) {
    auto message = std::make_shared<const std::string>(data.substr(at, 3000));
    messages.push_back(message);
    std::string_view rest = *message;
    while (!rest.empty()) {
      const size_t n = std::min<size_t>(rest.size(), 1000);
      ASSERT_TRUE((*upload)->WriteShared(rest.substr(0, n), message).ok());
      rest.remove_prefix(n);
    }
  }
  auto shared = (*upload)->Commit();
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(shared->sha256, copied->sha256);
  EXPECT_EQ(shared->chunks_count, copied->chunks_count);
  EXPECT_EQ(ChunkFiles(), chunk_files) << "same chunks: nothing new stored";
  for (const auto& m : messages) EXPECT_TRUE(m.expired()) << "the upload keeps no message";
  auto a = metadata_->ChunksForRange(copied->id, 0, copied->size);
  auto b = metadata_->ChunksForRange(shared->id, 0, shared->size);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].hash, (*b)[i].hash);
    EXPECT_EQ((*a)[i].size, (*b)[i].size);
  }
  auto back = Download("alice", shared->id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
}

TEST_F(FileServiceTest, AnAbortedUploadReleasesTheBytesItWasLent) {
  auto upload = service_->Begin("alice", "gone.bin");
  ASSERT_TRUE(upload.ok());
  auto message = std::make_shared<const std::string>(100, 'q');  // below the minimum chunk
  std::weak_ptr<const std::string> watch = message;
  ASSERT_TRUE((*upload)->WriteShared(*message, message).ok());
  message.reset();
  EXPECT_FALSE(watch.expired());
  (*upload)->Abort();
  EXPECT_TRUE(watch.expired());
}

TEST_F(FileServiceTest, DownloadsByteRanges) {
  const std::string data = PseudoRandomBytes(20000, 2);
  auto file = UploadAs("alice", "r.bin", data);
  ASSERT_TRUE(file.ok());
  const int64_t n = static_cast<int64_t>(data.size());
  struct Case {
    ByteRange range;
    int64_t want_offset, want_length;
  };
  const Case cases[] = {
      {{0, -1}, 0, n},
      {{0, 1}, 0, 1},
      {{1000, 5000}, 1000, 5000},
      {{n - 1, -1}, n - 1, 1},
      {{n - 10, 100}, n - 10, 10},
      {{-100, -1}, n - 100, 100},
      {{-(n + 5), -1}, 0, n},
      {{4095, 2}, 4095, 2},
  };
  for (const auto& c : cases) {
    auto got = Download("alice", file->id, c.range);
    ASSERT_TRUE(got.ok()) << c.range.offset << "+" << c.range.length << ": "
                          << got.status().ToString();
    EXPECT_TRUE(*got == data.substr(c.want_offset, c.want_length))
        << c.range.offset << "+" << c.range.length;
  }
}

TEST_F(FileServiceTest, RejectsRangesOutsideTheFile) {
  auto file = UploadAs("alice", "r.bin", PseudoRandomBytes(5000, 3));
  auto empty = UploadAs("alice", "empty", "");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(empty.ok());
  struct Case {
    std::string id;
    ByteRange range;
  };
  const Case cases[] = {
      {file->id, {5000, -1}}, {file->id, {9999, 1}}, {file->id, {0, 0}},    {file->id, {0, -2}},
      {file->id, {-10, 5}},   {empty->id, {0, -1}},  {empty->id, {-1, -1}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(service_->Open("alice", c.id, c.range).status().code(),
              StatusCode::kRangeNotSatisfiable)
        << c.range.offset << "+" << c.range.length;
  }
}

TEST_F(FileServiceTest, EmptyAndTinyFilesRoundTrip) {
  for (const std::string& data : {std::string(), std::string("x"), std::string(255, 'y')}) {
    auto file = UploadAs("alice", "small", data);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ(file->chunks_count, data.empty() ? 0 : 1);
    auto back = Download("alice", file->id);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, data);
  }
}

TEST_F(FileServiceTest, IdenticalSecondUploadAddsNoChunkFiles) {
  const std::string data = PseudoRandomBytes(30000, 4);
  auto first = UploadAs("alice", "a.bin", data);
  ASSERT_TRUE(first.ok());
  const int chunk_files = ChunkFiles();
  auto second = UploadAs("bob", "b.bin", data, 4096);  // other owner, other write sizes
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first->id, second->id);
  EXPECT_EQ(ChunkFiles(), chunk_files);

  // Deleting one copy keeps the shared chunks; deleting the last removes them.
  ASSERT_TRUE(service_->Delete("alice", first->id).ok());
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(*Download("bob", second->id), data);
  ASSERT_TRUE(service_->Delete("bob", second->id).ok());
  EXPECT_EQ(ChunkFiles(), 0);
}

// A chunk that cannot be written (here: a file where its directory must go)
// fails the upload, while or after streaming, and nothing of it stays.
TEST_F(FileServiceTest, AFailedChunkWriteFailsTheUploadAndLeavesNothing) {
  const std::string data = PseudoRandomBytes(30000, 41);
  const std::vector<std::string> hashes = CompleteChunkHashes(data);
  // The first chunk after two others whose top directory is its own.
  std::string blocked;
  for (size_t i = 2; i < hashes.size() && blocked.empty(); ++i) {
    bool shared = false;
    for (size_t j = 0; j < i; ++j) shared |= hashes[j].substr(0, 2) == hashes[i].substr(0, 2);
    if (!shared) blocked = hashes[i];
  }
  ASSERT_FALSE(blocked.empty());
  const std::string blocker = chunks_dir() + "/" + blocked.substr(0, 2);
  std::ofstream(blocker) << "not a directory";

  auto upload = service_->Begin("alice", "blocked.bin");
  ASSERT_TRUE(upload.ok());
  Status failed = Status::Ok();
  for (size_t i = 0; i < data.size() && failed.ok(); i += 1000) {
    failed = (*upload)->Write(std::string_view(data).substr(i, 1000));
  }
  if (failed.ok()) failed = (*upload)->Commit().status();
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find(blocked), std::string::npos) << failed.ToString();
  EXPECT_TRUE(service_->List("alice")->empty());
  ASSERT_EQ(std::remove(blocker.c_str()), 0);
  EXPECT_EQ(ChunkFiles(), 0) << "the chunks stored before the failure are removed";
  // Nothing is left leased either: the same bytes now upload and download.
  auto again = UploadAs("alice", "again.bin", data);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*Download("alice", again->id), data);
}

TEST_F(FileServiceTest, AbortLeavesNoChunkFilesAndNoRow) {
  auto upload = service_->Begin("alice", "gone.bin");
  ASSERT_TRUE(upload.ok());
  const std::string data = PseudoRandomBytes(12000, 5);
  ASSERT_TRUE((*upload)->Write(data).ok());
  EXPECT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data); }))
      << "chunks are stored while the upload streams";
  (*upload)->Abort();
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_TRUE(service_->List("alice")->empty());
  EXPECT_EQ((*upload)->Commit().status().code(), StatusCode::kInternal);
}

TEST_F(FileServiceTest, CommitRecordsTheFileOnlyAfterItsChunksAreSynced) {
  UploadOptions options;
  size_t unsynced_at_commit = 99;
  options.commit = [&](const FileRecord& file, const std::vector<ChunkRef>& chunks,
                       int64_t quota) -> Result<CommitOutcome> {
    unsynced_at_commit = chunks_->unsynced_count();
    NEXUS_ASSIGN_OR_RETURN(FileRecord stored, metadata_->CommitFile(file, chunks, quota));
    return CommitOutcome{std::move(stored), {}};
  };
  auto upload = service_->Begin("alice", "synced.bin", std::move(options));
  ASSERT_TRUE(upload.ok());
  // Fewer chunks than a sync-behind batch: all of them wait for the commit.
  const std::string data = PseudoRandomBytes(6000, 31);
  ASSERT_LT(CompleteChunks(data) + 1, int{BackgroundChunkWriter::kSyncBatch});  // + the last
  ASSERT_TRUE((*upload)->Write(data).ok());
  EXPECT_TRUE(Eventually([&] { return chunks_->unsynced_count() > 0; }))
      << "chunks are written without waiting for the disk";
  auto file = (*upload)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(unsynced_at_commit, 0u);
}

TEST_F(FileServiceTest, CommitSyncsChunksAnotherInFlightUploadStored) {
  // Fewer chunks than a sync-behind batch, so bob's stay unsynced.
  const std::string data = PseudoRandomBytes(6000, 32);
  ASSERT_LT(CompleteChunks(data) + 1, int{BackgroundChunkWriter::kSyncBatch});  // + the last
  auto first = service_->Begin("bob", "first.bin");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Write(data).ok());
  // Every chunk the Write completed is stored (its tail waits for a Commit).
  const int complete = CompleteChunks(data);
  ASSERT_GT(complete, 0);
  ASSERT_TRUE(Eventually([&] { return StoredChunks() == complete; }));
  ASSERT_GT(chunks_->unsynced_count(), 0u);

  // alice's upload finds bob's chunks present; her commit must not reference
  // them before they are durable.
  auto second = UploadAs("alice", "second.bin", data);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(chunks_->unsynced_count(), 0u);
  (*first)->Abort();
  EXPECT_EQ(*Download("alice", second->id), data);
}

TEST_F(FileServiceTest, ALongUploadsChunksAreSyncedBeforeItsCommit) {
  const std::string data = PseudoRandomBytes(40000, 35);
  const int complete = CompleteChunks(data);
  ASSERT_GE(complete, int{2 * BackgroundChunkWriter::kSyncBatch});
  auto upload = service_->Begin("alice", "long.bin");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(data).ok());
  // Synced behind, a batch at a time: at most one partial batch is left.
  EXPECT_TRUE(Eventually([&] {
    return StoredChunks() == complete &&
           chunks_->unsynced_count() < BackgroundChunkWriter::kSyncBatch;
  })) << chunks_->unsynced_count()
      << " of " << complete << " chunks unsynced";
  auto file = (*upload)->Commit();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(chunks_->unsynced_count(), 0u);
  EXPECT_EQ(*Download("alice", file->id), data);
}

TEST_F(FileServiceTest, AFailedSyncFailsTheCommitAndLeavesNothing) {
  auto upload = service_->Begin("alice", "lost.bin");
  ASSERT_TRUE(upload.ok());
  // Fewer chunks than a sync-behind batch: none is synced before the commit.
  const std::string data = PseudoRandomBytes(6000, 33);
  ASSERT_LT(CompleteChunks(data) + 1, int{BackgroundChunkWriter::kSyncBatch});  // + the last
  ASSERT_TRUE((*upload)->Write(data).ok());
  ASSERT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data); }));
  // A chunk vanishing before the sync (as on a failing disk) must stop the commit.
  std::string victim;
  ASSERT_TRUE(chunks_->List([&](const std::string& hash) { victim = hash; }).ok());
  ASSERT_FALSE(victim.empty());
  ASSERT_EQ(std::remove(chunks_->PathOf(victim).c_str()), 0);

  auto file = (*upload)->Commit();
  EXPECT_FALSE(file.ok());
  EXPECT_TRUE(service_->List("alice")->empty());
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(FileServiceTest, ABigFilesChunksAreAllRemovedEvenBeyondTheInlineBatch) {
  const std::string data = PseudoRandomBytes(800 * 1024, 34);
  auto file = UploadAs("alice", "many-chunks.bin", data, 64 * 1024);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_GT(file->chunks_count, static_cast<int64_t>(FileService::kInlineRemovals));
  ASSERT_TRUE(service_->Delete("alice", file->id).ok());
  EXPECT_LE(ChunkFiles(), file->chunks_count - static_cast<int64_t>(FileService::kInlineRemovals))
      << "the first batch goes before Delete returns";
  service_.reset();  // waits for the background removals
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(FileServiceTest, DroppingAnUncommittedUploadCleansUp) {
  {
    auto upload = service_->Begin("alice", "dropped.bin");
    ASSERT_TRUE(upload.ok());
    ASSERT_TRUE((*upload)->Write(PseudoRandomBytes(12000, 6)).ok());
  }  // as when the client disconnects mid-stream
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_TRUE(service_->List("alice")->empty());
}

TEST_F(FileServiceTest, AbortKeepsChunksOtherFilesReference) {
  const std::string shared = PseudoRandomBytes(12000, 7);
  ASSERT_TRUE(UploadAs("alice", "kept.bin", shared).ok());
  const int before = ChunkFiles();
  auto upload = service_->Begin("bob", "partial.bin");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(shared + PseudoRandomBytes(12000, 8)).ok());
  (*upload)->Abort();
  EXPECT_EQ(ChunkFiles(), before);
}

// Two uploads that began while nothing was used cannot both store their
// bytes: the second fails as its bytes arrive, not at its commit, and leaves
// nothing in the store.
TEST_F(FileServiceTest, ConcurrentUploadsShareTheQuotaWhileTheyStream) {
  quotas_["alice"] = 30000;
  auto a = service_->Begin("alice", "a");
  auto b = service_->Begin("alice", "b");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  const std::string data_a = PseudoRandomBytes(20000, 9);
  const std::string data_b = PseudoRandomBytes(20000, 10);
  ASSERT_TRUE((*a)->Write(data_a).ok());
  EXPECT_EQ(service_->ReservedBytes("alice"), 20000);
  Status s;
  for (size_t i = 0; i < data_b.size() && s.ok(); i += 1000)
    s = (*b)->Write(data_b.substr(i, 1000));
  EXPECT_EQ(s.code(), StatusCode::kQuotaExceeded);
  EXPECT_LE((*b)->bytes_written(), 10000) << "b stored no more than the quota left it";
  EXPECT_EQ(service_->ReservedBytes("alice"), 20000) << "b's reservation went with its chunks";
  // a's chunks are written behind it; b's are gone.
  EXPECT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data_a); }))
      << StoredChunks() << " chunk files, a completed " << CompleteChunks(data_a);

  auto committed = (*a)->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(service_->ReservedBytes("alice"), 0) << "a's reservation became its file";
  EXPECT_EQ((*b)->Commit().status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(ChunkFiles(), committed->chunks_count);
  auto files = service_->List("alice");
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(*Download("alice", committed->id), data_a);
}

TEST_F(FileServiceTest, AnAbandonedUploadGivesItsRoomBack) {
  quotas_["alice"] = 10000;
  {
    auto gone = service_->Begin("alice", "gone");
    ASSERT_TRUE(gone.ok());
    ASSERT_TRUE((*gone)->Write(PseudoRandomBytes(8000, 40)).ok());
    EXPECT_EQ(service_->ReservedBytes("alice"), 8000);
  }  // dropped unfinished, as when the client goes away
  EXPECT_EQ(service_->ReservedBytes("alice"), 0);
  auto failed = service_->Begin("alice", "failed");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ((*failed)->Write(PseudoRandomBytes(10001, 41)).code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(service_->ReservedBytes("alice"), 0);
  ASSERT_TRUE(UploadAs("alice", "fits", PseudoRandomBytes(10000, 42)).ok());
  EXPECT_EQ(service_->ReservedBytes("alice"), 0);
  EXPECT_EQ(ChunkFiles(), StoredChunks());
}

TEST_F(FileServiceTest, UploadLargerThanQuotaFailsWhileStreaming) {
  quotas_["alice"] = 10000;
  auto upload = service_->Begin("alice", "big");
  ASSERT_TRUE(upload.ok());
  Status s;
  const std::string data = PseudoRandomBytes(50000, 11);
  for (size_t i = 0; i < data.size() && s.ok(); i += 1000)
    s = (*upload)->Write(data.substr(i, 1000));
  EXPECT_EQ(s.code(), StatusCode::kQuotaExceeded);
  EXPECT_LE((*upload)->bytes_written(), 10000);
  EXPECT_EQ(ChunkFiles(), 0);
  EXPECT_EQ((*upload)->Commit().status().code(), StatusCode::kQuotaExceeded);
}

TEST_F(FileServiceTest, DeclaredSizeOverQuotaFailsAtBegin) {
  quotas_["alice"] = 10000;
  ASSERT_TRUE(UploadAs("alice", "small", std::string(6000, 's')).ok());
  EXPECT_EQ(service_->Begin("alice", "big", 5000).status().code(), StatusCode::kQuotaExceeded);
  EXPECT_TRUE(service_->Begin("alice", "fits", 4000).ok());
}

// Upload A stores a chunk, upload B of the same bytes finds it present and
// skips writing it; A's abort must not delete what B relies on.
TEST_F(FileServiceTest, AbortDoesNotRemoveChunksAnInFlightUploadUses) {
  const std::string data = PseudoRandomBytes(12000, 12);
  auto a = service_->Begin("alice", "a");
  auto b = service_->Begin("bob", "b");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*a)->Write(data).ok());
  ASSERT_TRUE((*b)->Write(data).ok());
  (*a)->Abort();
  auto committed = (*b)->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  auto back = Download("bob", committed->id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
}

// The same, when B aborts too: the chunk whose removal waited for B goes.
TEST_F(FileServiceTest, DeferredRemovalHappensWhenTheLastUploadGivesUp) {
  const std::string data = PseudoRandomBytes(12000, 13);
  auto a = service_->Begin("alice", "a");
  auto b = service_->Begin("bob", "b");
  ASSERT_TRUE((*a)->Write(data).ok());
  ASSERT_TRUE((*b)->Write(data).ok());
  ASSERT_TRUE(Eventually([&] { return StoredChunks() == CompleteChunks(data); }));
  (*a)->Abort();
  EXPECT_GT(ChunkFiles(), 0);
  (*b)->Abort();
  EXPECT_EQ(ChunkFiles(), 0);
}

TEST_F(FileServiceTest, DeleteWhileDownloadingKeepsChunksUntilTheReaderCloses) {
  const std::string data = PseudoRandomBytes(12000, 14);
  auto file = UploadAs("alice", "f", data);
  ASSERT_TRUE(file.ok());
  auto reader = service_->Open("alice", file->id);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(service_->Delete("alice", file->id).ok());
  EXPECT_GT(ChunkFiles(), 0);
  std::string got;
  while (true) {
    auto piece = (*reader)->Next();
    ASSERT_TRUE(piece.ok()) << piece.status().ToString();
    if (piece->empty()) break;
    got += *piece;
  }
  EXPECT_TRUE(got == data);
  EXPECT_EQ(ChunkFiles(), 0) << "the reader's end released the last lease";
}

TEST_F(FileServiceTest, CorruptChunkFailsTheDownload) {
  auto file = UploadAs("alice", "f", PseudoRandomBytes(5000, 15));
  ASSERT_TRUE(file.ok());
  auto refs = metadata_->ChunksForRange(file->id, 0, file->size);
  ASSERT_TRUE(refs.ok());
  {
    std::ofstream out(chunks_->PathOf(refs->back().hash), std::ios::binary | std::ios::trunc);
    out << std::string(refs->back().size, 'z');
  }
  auto back = Download("alice", file->id);
  EXPECT_EQ(back.status().code(), StatusCode::kInternal);
  EXPECT_NE(back.status().message().find(refs->back().hash), std::string::npos);
}

TEST_F(FileServiceTest, OtherOwnersFilesAreNotFound) {
  auto file = UploadAs("alice", "private", "secret");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(service_->Get("bob", file->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Open("bob", file->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete("bob", file->id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->List("bob")->empty());
  EXPECT_EQ(*Download("alice", file->id), "secret");
}

TEST_F(FileServiceTest, ANameWithBidirectionalControlsIsRefusedBeforeAnyByte) {
  for (const char* name : {"invoice\xe2\x80\xae"
                           "fdp.exe",
                           "\xe2\x81\xa6x\xe2\x81\xa9.txt"}) {
    EXPECT_EQ(service_->Begin("alice", name).status().code(), StatusCode::kInvalidArgument) << name;
  }
  // Only the stored base name counts: what SafeBaseName drops is not a name.
  EXPECT_TRUE(service_->Begin("alice", "dir\xe2\x80\xae/plain.txt").ok());
  EXPECT_TRUE(service_->List("alice")->empty());
}

TEST_F(FileServiceTest, StoresTheSafeBaseNameOfWhatTheClientSent) {
  auto file = UploadAs("alice", "../../etc/passwd", "x");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->name, "passwd");
  EXPECT_EQ(service_->Get("alice", file->id)->name, "passwd");
}

TEST_F(FileServiceTest, ListsNewestFirst) {
  auto first = UploadAs("alice", "first", "1");
  clock_.AdvanceSeconds(5);
  auto second = UploadAs("alice", "second", "2");
  auto files = service_->List("alice");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].id, second->id);
  EXPECT_EQ((*files)[1].id, first->id);
}

TEST_F(FileServiceTest, StartupSweepRemovesCrashLeftovers) {
  auto file = UploadAs("alice", "kept", PseudoRandomBytes(10000, 16));
  ASSERT_TRUE(file.ok());
  const int referenced = ChunkFiles();
  // A crash after storing chunks but before the commit, and one mid-write.
  const std::string orphan = "orphan chunk bytes";
  ASSERT_TRUE(chunks_->Put(Sha256::HexDigest(orphan), orphan).ok());
  const std::string orphan_path = chunks_->PathOf(Sha256::HexDigest(orphan));
  std::ofstream(orphan_path.substr(0, orphan_path.rfind('/')) + "/.tmp-x-1-1") << "partial";

  auto stats = service_->StartupSweep();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->chunks_removed, 1);
  EXPECT_EQ(stats->temp_files_removed, 1);
  EXPECT_EQ(ChunkFiles(), referenced);
  EXPECT_TRUE(Download("alice", file->id).ok());
}

// Many uploads of overlapping content that commit, abort or get deleted at
// once: afterwards exactly the chunks of the surviving files are on disk and
// every surviving file reads back intact.
TEST_F(FileServiceTest, ConcurrentUploadsAbortsAndDeletesKeepChunksConsistent) {
  // Contents share chunks: each is two of four blocks, each block a few chunks.
  std::vector<std::string> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(PseudoRandomBytes(3000, 100 + i));
  std::vector<std::string> contents;
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) contents.push_back(blocks[a] + blocks[b]);
  }

  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 8;
  std::mutex mu;
  std::map<std::string, std::string> survivors;  // id -> content
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string owner = "user" + std::to_string(t % 2);
      for (int op = 0; op < kOpsPerThread; ++op) {
        const std::string& data = contents[(t * 5 + op * 3) % contents.size()];
        auto upload = service_->Begin(owner, "f");
        ASSERT_TRUE(upload.ok());
        ASSERT_TRUE((*upload)->Write(data.substr(0, 2500)).ok());
        ASSERT_TRUE((*upload)->Write(data.substr(2500)).ok());
        switch ((t + op) % 3) {
          case 0: {  // abort
            (*upload)->Abort();
            break;
          }
          case 1: {  // commit and keep
            auto f = (*upload)->Commit();
            ASSERT_TRUE(f.ok()) << f.status().ToString();
            std::lock_guard lock(mu);
            survivors[f->id] = data;
            break;
          }
          case 2: {  // commit, then delete
            auto f = (*upload)->Commit();
            ASSERT_TRUE(f.ok()) << f.status().ToString();
            ASSERT_TRUE(service_->Delete(owner, f->id).ok());
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  ASSERT_FALSE(survivors.empty());
  auto referenced = metadata_->AllReferencedHashes();
  ASSERT_TRUE(referenced.ok());
  std::set<std::string> on_disk;
  ASSERT_TRUE(chunks_->List([&](const std::string& h) { on_disk.insert(h); }).ok());
  EXPECT_EQ(on_disk, std::set<std::string>(referenced->begin(), referenced->end()));
  for (const auto& [id, data] : survivors) {
    std::string owner;
    for (const char* o : {"user0", "user1"}) {
      if (service_->Get(o, id).ok()) owner = o;
    }
    auto back = Download(owner, id);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data);
  }
}

TEST_F(FileServiceTest, BeginRequiresAnOwner) {
  EXPECT_EQ(service_->Begin("", "f").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::storage
