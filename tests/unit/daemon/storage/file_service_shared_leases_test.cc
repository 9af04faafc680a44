// Two daemons on one metadata database and one chunk store: each a
// FileService with its own connections, MetadataStore and ChunkLeaseTable,
// both over the same chunk directory. A chunk one of them uses is never
// removed under it by the other (chunk_lease_table.h). Runs on SQLite (a
// database file both connect to) and, as storage_test_postgres, on
// PostgreSQL.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "daemon/storage/chunk_lease_table.h"
#include "unit/daemon/storage/file_service_rig.h"

namespace nexus::daemon::storage {
namespace {

std::vector<sql::Migration> Schema() {
  std::vector<sql::Migration> all = StorageMigrations();
  for (sql::Migration& m : ChunkLeaseMigrations()) all.push_back(std::move(m));
  return all;
}

// One daemon's half: its connections, stores and service.
struct Daemon {
  std::unique_ptr<sql::Connection> db;
  std::unique_ptr<sql::Connection> leases_db;
  std::unique_ptr<MetadataStore> metadata;
  std::unique_ptr<ChunkLeaseTable> leases;
  std::unique_ptr<FsChunkStore> chunks;
  std::unique_ptr<FileService> files;
};

class SharedLeasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = nexus::testing::TestMetadataDb::Open(Schema(), dir_.path() + "/meta.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    test_db_ = std::move(*db);
    Start(a_, "daemon-a");
    Start(b_, "daemon-b");
  }

  void Start(Daemon& d, const std::string& holder) {
    auto db = test_db_->Connect();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    d.db = std::move(*db);
    auto leases_db = test_db_->Connect();
    ASSERT_TRUE(leases_db.ok()) << leases_db.status().ToString();
    d.leases_db = std::move(*leases_db);
    d.metadata = std::make_unique<MetadataStore>(*d.db, clock_);
    d.leases = std::make_unique<ChunkLeaseTable>(*d.leases_db, clock_, holder);
    auto chunks = FsChunkStore::Open(chunks_dir());
    ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
    d.chunks = std::move(*chunks);
    FileServiceOptions options;
    options.chunker = kSmall;
    options.shared_leases = d.leases.get();
    d.files = std::make_unique<FileService>(*d.chunks, *d.metadata, options);
  }

  std::string chunks_dir() const { return dir_.path() + "/chunks"; }
  bool Stored(const std::string& hash) const {
    bool found = false;
    EXPECT_TRUE(a_.chunks->List([&](const std::string& h) { found |= h == hash; }).ok());
    return found;
  }

  static Result<FileRecord> UploadTo(Daemon& d, const std::string& name, const std::string& data) {
    NEXUS_ASSIGN_OR_RETURN(auto upload, d.files->Begin("alice", name));
    for (size_t i = 0; i < data.size(); i += 1000) {
      NEXUS_RETURN_IF_ERROR(upload->Write(std::string_view(data).substr(i, 1000)));
    }
    return upload->Commit();
  }

  static Result<std::string> ReadAll(FileReader& reader) {
    std::string out;
    for (;;) {
      NEXUS_ASSIGN_OR_RETURN(std::string_view piece, reader.Next());
      if (piece.empty()) return out;
      out += piece;
    }
  }

  TempDir dir_;
  nexus::testing::FakeClock clock_;
  std::unique_ptr<nexus::testing::TestMetadataDb> test_db_;
  Daemon a_;
  Daemon b_;
};

TEST_F(SharedLeasesTest, AChunkAnUploadOnTheOtherDaemonFoundIsNotRemovedUnderIt) {
  const std::string data = PseudoRandomBytes(20000, 71);
  auto on_a = UploadTo(a_, "a.bin", data);
  ASSERT_TRUE(on_a.ok()) << on_a.status().ToString();

  // B receives the same bytes: it finds A's chunks present and skips them.
  auto upload = b_.files->Begin("alice", "b.bin");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(data).ok());
  // A's file goes, and with it the last reference to those chunks.
  ASSERT_TRUE(a_.files->Delete("alice", on_a->id).ok());
  for (const std::string& hash : CompleteChunkHashesOf(data)) {
    EXPECT_TRUE(Stored(hash)) << "A removed chunk " << hash << " that B's upload holds";
  }
  auto on_b = (*upload)->Commit();
  ASSERT_TRUE(on_b.ok()) << on_b.status().ToString();
  auto reader = b_.files->Open("alice", on_b->id);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(*ReadAll(**reader), data);
}

TEST_F(SharedLeasesTest, TheDaemonWhoseLeaseHeldUpARemovalFinishesItWhenItLetsGo) {
  const std::string data = PseudoRandomBytes(20000, 76);
  const std::vector<std::string> hashes = CompleteChunkHashesOf(data);
  auto on_a = UploadTo(a_, "a.bin", data);
  ASSERT_TRUE(on_a.ok()) << on_a.status().ToString();
  auto upload = b_.files->Begin("alice", "b.bin");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(data).ok());  // finds A's chunks: creates none
  ASSERT_TRUE(a_.files->Delete("alice", on_a->id).ok());
  for (const std::string& hash : hashes) ASSERT_TRUE(Stored(hash));

  // B gives up: nothing references the chunks now, and B removes them
  // rather than leaving them to a start-up sweep.
  (*upload)->Abort();
  for (const std::string& hash : hashes) EXPECT_FALSE(Stored(hash)) << hash;
}

TEST_F(SharedLeasesTest, AReaderOnOneDaemonKeepsItsChunksWhileTheOtherDeletesTheFile) {
  const std::string data = PseudoRandomBytes(30000, 72);
  auto file = UploadTo(a_, "read-me.bin", data);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto reader = b_.files->Open("alice", file->id);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto first = (*reader)->Next();
  ASSERT_TRUE(first.ok());
  std::string got(*first);

  ASSERT_TRUE(a_.files->Delete("alice", file->id).ok());
  const std::string last_chunk = CompleteChunkHashesOf(data).back();
  EXPECT_TRUE(Stored(last_chunk)) << "removed under B's reader";
  auto rest = ReadAll(**reader);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(got + *rest, data);
  // At its end the reader lets go, and B removes what A could not.
  EXPECT_FALSE(Stored(last_chunk));

  // A file deleted before the other daemon opened it is simply gone.
  EXPECT_EQ(b_.files->Open("alice", file->id).status().code(), StatusCode::kNotFound);
}

TEST_F(SharedLeasesTest, AnUploadThatMeetsARemovalUnderWayWaitsAndStoresTheChunkAgain) {
  const std::string data = PseudoRandomBytes(12000, 73);
  const std::vector<std::string> hashes = CompleteChunkHashesOf(data);
  ASSERT_FALSE(hashes.empty());
  // An unreferenced copy of the first chunk, which daemon A has begun to remove.
  auto first = UploadTo(a_, "seed.bin", data);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(a_.metadata->DeleteFile("alice", first->id).ok());  // rows only: chunks stay
  ASSERT_TRUE(Stored(hashes[0]));
  auto begun = a_.leases->BeginRemoval(hashes[0]);
  ASSERT_TRUE(begun.ok() && *begun);

  std::atomic<bool> done{false};
  Result<FileRecord> on_b = InternalError("not run");
  std::thread uploader([&] {
    on_b = UploadTo(b_, "b.bin", data);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(done) << "B looked for the chunk while A was removing it";
  // A's removal finishes.
  ASSERT_TRUE(a_.chunks->Remove(hashes[0]).ok());
  ASSERT_TRUE(a_.leases->EndRemoval({hashes[0]}).ok());
  uploader.join();
  ASSERT_TRUE(on_b.ok()) << on_b.status().ToString();
  EXPECT_TRUE(Stored(hashes[0])) << "B stored the chunk again";
  auto reader = b_.files->Open("alice", on_b->id);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*ReadAll(**reader), data);
}

TEST_F(SharedLeasesTest, TheSweepKeepsWhatTheOtherDaemonLeasesAndALeaseExpires) {
  const std::string data = PseudoRandomBytes(8000, 74);
  auto file = UploadTo(a_, "orphan.bin", data);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(a_.metadata->DeleteFile("alice", file->id).ok());  // unreferenced chunks
  const std::string hash = CompleteChunkHashesOf(data)[0];
  // Another daemon has leased one of them (and may be about to reference it).
  ASSERT_TRUE(b_.leases->Acquire({hash}).ok());
  ASSERT_TRUE(a_.files->StartupSweep().ok());
  EXPECT_TRUE(Stored(hash));
  EXPECT_FALSE(*a_.leases->BeginRemoval(hash)) << "leased by daemon-b";

  // daemon-b died without releasing: once its lease expires, the chunk goes.
  clock_.AdvanceSeconds(ChunkLeaseTable::kLeaseTtlSeconds + 1);
  ASSERT_TRUE(a_.files->StartupSweep().ok());
  EXPECT_FALSE(Stored(hash));
}

TEST_F(SharedLeasesTest, ARemovalIsRefusedWhileReferencedAndEndsForTheOthers) {
  const std::string data = PseudoRandomBytes(6000, 75);
  auto file = UploadTo(a_, "kept.bin", data);
  ASSERT_TRUE(file.ok());
  const std::string hash = CompleteChunkHashesOf(data)[0];
  EXPECT_FALSE(*a_.leases->BeginRemoval(hash)) << "a committed file references it";

  ASSERT_TRUE(a_.metadata->DeleteFile("alice", file->id).ok());
  ASSERT_TRUE(*a_.leases->BeginRemoval(hash));
  EXPECT_FALSE(*b_.leases->BeginRemoval(hash)) << "one removal at a time";
  EXPECT_TRUE(*b_.leases->Acquire({hash})) << "the holder learns of the removal";
  ASSERT_TRUE(a_.leases->EndRemoval({hash}).ok());
  EXPECT_FALSE(*b_.leases->RemovalsUnderWay({hash}));
  // A removal whose daemon died holds nobody up past its time limit.
  ASSERT_TRUE(b_.leases->Release({hash}).ok());
  ASSERT_TRUE(*a_.leases->BeginRemoval(hash));
  clock_.AdvanceSeconds(ChunkLeaseTable::kRemovalTtlSeconds + 1);
  EXPECT_FALSE(*b_.leases->RemovalsUnderWay({hash}));
}

TEST(ChunkLeaseHolderTest, NamesTheHostAndIsNewForEachProcessStart) {
  const std::string one = ChunkLeaseTable::HolderName("rack2-n7");
  EXPECT_EQ(one.rfind("rack2-n7:" + std::to_string(::getpid()) + ":", 0), 0u) << one;
  EXPECT_NE(one, ChunkLeaseTable::HolderName("rack2-n7"));
}

}  // namespace
}  // namespace nexus::daemon::storage
