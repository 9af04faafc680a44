#include "daemon/storage/fs_chunk_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string_view>
#include <vector>

#include "common/sha256.h"
#include "unit/daemon/storage/storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

using testing::CountFiles;
using testing::TempDir;

std::string ReadRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class FsChunkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = FsChunkStore::Open(dir_.path() + "/data/chunks");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  // Stores `bytes` and returns its hash.
  std::string Put(const std::string& bytes) {
    const std::string hash = Sha256::HexDigest(bytes);
    auto created = store_->Put(hash, bytes);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return hash;
  }

  TempDir dir_;
  std::unique_ptr<FsChunkStore> store_;
};

TEST_F(FsChunkStoreTest, StoresChunkUnderItsHashInTwoLevelsOfDirectories) {
  const std::string hash = Put("hello chunk");
  const std::string expected =
      dir_.path() + "/data/chunks/" + hash.substr(0, 2) + "/" + hash.substr(2, 2) + "/" + hash;
  EXPECT_EQ(store_->PathOf(hash), expected);
  EXPECT_EQ(ReadRaw(expected), "hello chunk");
  struct stat st;
  ASSERT_EQ(::stat(expected.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FsChunkStoreTest, PutPiecesStoresTheSameFileAsPutOfTheJoinedBytes) {
  const std::string bytes = testing::PseudoRandomBytes(300000, 21);
  // Piece layouts: one, a few uneven ones with empty pieces between, and more
  // pieces than one writev takes (IOV_MAX is 1024).
  const std::vector<size_t> layouts[] = {{bytes.size()}, {1, 0, 99999, 0, 200000}, {100}};
  for (const auto& layout : layouts) {
    std::vector<std::string_view> pieces;
    std::string_view rest = bytes;
    for (size_t k = 0; !rest.empty(); ++k) {
      const size_t n = std::min(rest.size(), layout[k % layout.size()]);
      pieces.push_back(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    const std::string hash = Sha256::HexDigest(bytes);
    auto created = store_->PutPieces(hash, pieces);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    EXPECT_TRUE(*created) << pieces.size() << " pieces";
    EXPECT_EQ(ReadRaw(store_->PathOf(hash)), bytes) << pieces.size() << " pieces";
    auto read = store_->Get(hash);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_TRUE(store_->Remove(hash).ok());
  }
}

TEST_F(FsChunkStoreTest, ReadIntoFillsTheCallersBufferWithTheVerifiedChunk) {
  const std::string bytes = testing::PseudoRandomBytes(70000, 22);
  const std::string hash = Put(bytes);
  std::string out(bytes.size(), '\0');
  ASSERT_TRUE(store_->ReadInto(hash, out).ok());
  EXPECT_TRUE(out == bytes);

  struct Case {
    const char* what;
    size_t buffer;
    StatusCode code;
  };
  const Case cases[] = {{"a buffer one byte short", bytes.size() - 1, StatusCode::kInternal},
                        {"a buffer one byte long", bytes.size() + 1, StatusCode::kInternal}};
  for (const Case& c : cases) {
    std::string wrong(c.buffer, '\0');
    EXPECT_EQ(store_->ReadInto(hash, wrong).code(), c.code) << c.what;
  }
  std::string missing(10, '\0');
  EXPECT_EQ(store_->ReadInto(Sha256::HexDigest("never stored"), missing).code(),
            StatusCode::kNotFound);

  std::string flipped = bytes;
  flipped[12345] ^= 1;
  WriteRaw(store_->PathOf(hash), flipped);
  Status corrupt = store_->ReadInto(hash, out);
  EXPECT_EQ(corrupt.code(), StatusCode::kInternal);
  EXPECT_NE(corrupt.message().find("corrupt"), std::string::npos) << corrupt.message();
}

TEST_F(FsChunkStoreTest, ReportsWhetherPutCreatedTheChunk) {
  const std::string bytes = "same bytes";
  const std::string hash = Sha256::HexDigest(bytes);
  auto first = store_->Put(hash, bytes);
  auto second = store_->Put(hash, bytes);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*second);
}

TEST_F(FsChunkStoreTest, LeavesNoTempFileBehindAfterPut) {
  for (int i = 0; i < 8; ++i) Put("chunk " + std::to_string(i));
  EXPECT_EQ(CountFiles(dir_.path(), ".tmp-"), 0);
  EXPECT_EQ(CountFiles(dir_.path()), 8);
}

// Holds the process's file size limit at `bytes` (writes beyond it fail with
// EFBIG, SIGXFSZ ignored) until destroyed. Process-wide: only for a test in
// which no other thread writes files.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ok_ = ::getrlimit(RLIMIT_FSIZE, &old_) == 0;
    rlimit limit = old_;
    limit.rlim_cur = bytes;
    ok_ = ok_ && ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
  }
  ~FileSizeLimit() {
    if (ok_) ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool ok_ = false;
};

TEST_F(FsChunkStoreTest, AWriteThatFailsPartwayLeavesNoChunkAndNoTempFile) {
  const std::string bytes(64 << 10, 'x');
  const std::string hash = Sha256::HexDigest(bytes);
  Result<bool> created = InternalError("not run");
  {
    FileSizeLimit limit(16 << 10);  // the write stops after 16 KiB
    ASSERT_TRUE(limit.ok());
    created = store_->Put(hash, bytes);
  }
  EXPECT_FALSE(created.ok());
  // Readers never see the partial chunk under its name, and no temp is left.
  EXPECT_EQ(*store_->Has(hash), false);
  EXPECT_EQ(CountFiles(dir_.path()), 0);
  // The same chunk stores whole afterwards.
  EXPECT_EQ(Put(bytes), hash);
  EXPECT_EQ(*store_->Get(hash), bytes);
}

TEST_F(FsChunkStoreTest, NeverRewritesAnExistingChunk) {
  const std::string hash = Put("original");
  // Whatever sits at the path stays: Put must not even open it for writing.
  WriteRaw(store_->PathOf(hash), "tampered");
  auto again = store_->Put(hash, "original");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(ReadRaw(store_->PathOf(hash)), "tampered");
}

TEST_F(FsChunkStoreTest, GetReturnsTheStoredBytes) {
  const std::string bytes = testing::PseudoRandomBytes(100000, 1);
  const std::string hash = Put(bytes);
  auto got = store_->Get(hash);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, bytes);
  EXPECT_TRUE(*store_->Has(hash));
}

TEST_F(FsChunkStoreTest, GetDetectsCorruptedChunkAndNamesIt) {
  const std::string hash = Put("precious data");
  WriteRaw(store_->PathOf(hash), "precious dat4");
  auto got = store_->Get(hash);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInternal);
  EXPECT_NE(got.status().message().find(hash), std::string::npos) << got.status().message();
}

TEST_F(FsChunkStoreTest, GetDetectsTruncatedChunk) {
  const std::string hash = Put("precious data");
  WriteRaw(store_->PathOf(hash), "precious");
  EXPECT_EQ(store_->Get(hash).status().code(), StatusCode::kInternal);
}

TEST_F(FsChunkStoreTest, MissingChunkIsNotFound) {
  const std::string hash = Sha256::HexDigest("never stored");
  EXPECT_EQ(store_->Get(hash).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->Has(hash));
  EXPECT_TRUE(store_->Remove(hash).ok());
}

TEST_F(FsChunkStoreTest, RejectsHashesThatAreNotLowercaseHex) {
  const std::string cases[] = {"../../../../etc/passwd", "", std::string(64, 'G'),
                               std::string(64, 'A')};
  for (const auto& hash : cases) {
    EXPECT_EQ(store_->Put(hash, "x").status().code(), StatusCode::kInvalidArgument) << hash;
    EXPECT_EQ(store_->Get(hash).status().code(), StatusCode::kInvalidArgument) << hash;
    EXPECT_EQ(store_->Remove(hash).code(), StatusCode::kInvalidArgument) << hash;
  }
}

TEST_F(FsChunkStoreTest, RemoveDeletesTheChunk) {
  const std::string hash = Put("short-lived");
  ASSERT_TRUE(store_->Remove(hash).ok());
  EXPECT_FALSE(*store_->Has(hash));
}

TEST_F(FsChunkStoreTest, ListVisitsEveryChunk) {
  std::set<std::string> stored;
  for (int i = 0; i < 10; ++i) stored.insert(Put("chunk " + std::to_string(i)));
  std::set<std::string> listed;
  ASSERT_TRUE(store_->List([&](const std::string& h) { listed.insert(h); }).ok());
  EXPECT_EQ(listed, stored);
}

TEST_F(FsChunkStoreTest, SweepRemovesTempFilesAndUnreferencedChunks) {
  const std::string keep = Put("referenced");
  const std::string orphan1 = Put("orphan one");
  const std::string orphan2 = Put("orphan two");
  const std::string dir = store_->PathOf(keep).substr(0, store_->PathOf(keep).rfind('/'));
  WriteRaw(dir + "/.tmp-" + keep + "-1-1", "half a chu");
  WriteRaw(dir + "/unrelated.txt", "not ours");

  auto stats = store_->Sweep([&](const std::string& h) { return h == keep; });
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->temp_files_removed, 1);
  EXPECT_EQ(stats->chunks_removed, 2);
  EXPECT_EQ(stats->chunks_kept, 1);
  EXPECT_TRUE(*store_->Has(keep));
  EXPECT_FALSE(*store_->Has(orphan1));
  EXPECT_FALSE(*store_->Has(orphan2));
  EXPECT_EQ(CountFiles(dir_.path(), ".tmp-"), 0);
  EXPECT_EQ(ReadRaw(dir + "/unrelated.txt"), "not ours");
}

TEST_F(FsChunkStoreTest, PutChunksStayPendingUntilASyncNamesThem) {
  const std::string a = Put("chunk a");
  const std::string b = Put("chunk b");
  EXPECT_EQ(store_->unsynced_count(), 2u);

  ASSERT_TRUE(store_->Sync({a}).ok());
  EXPECT_EQ(store_->unsynced_count(), 1u) << "only the named chunk is synced";
  ASSERT_TRUE(store_->Sync({a, b, b}).ok());
  EXPECT_EQ(store_->unsynced_count(), 0u);
  EXPECT_EQ(*store_->Get(b), "chunk b");
}

TEST_F(FsChunkStoreTest, SyncCoversAChunkAnotherWriterPutAndFoundPresent) {
  const std::string hash = Put("shared chunk");
  auto again = store_->Put(hash, "shared chunk");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(store_->unsynced_count(), 1u) << "present is not yet durable";
  ASSERT_TRUE(store_->Sync({hash}).ok()) << "the second writer's Sync makes it durable";
  EXPECT_EQ(store_->unsynced_count(), 0u);
}

TEST_F(FsChunkStoreTest, TheFirstSyncInANewDirectoryAlsoSyncsItsParents) {
  // Put creates <root>/ab/cd without an fsync; the Sync that makes the first
  // chunk in it durable must make the new entries durable as well.
  const std::string root = dir_.path() + "/data/chunks";
  const std::string first = Put("first chunk");
  const std::string top = root + "/" + first.substr(0, 2);
  const std::string leaf = top + "/" + first.substr(2, 2);
  ASSERT_TRUE(store_->Sync({first}).ok());
  std::vector<std::string> want = {root, top, leaf, store_->PathOf(first)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(store_->last_synced_paths(), want);

  // Another chunk in the same leaf directory: only the chunk and the leaf
  // (its new entry). Found by trying contents until one lands there.
  std::string bytes;
  for (int i = 0; bytes.empty() || Sha256::HexDigest(bytes).substr(0, 4) != first.substr(0, 4);) {
    bytes = "neighbour " + std::to_string(i++);
  }
  const std::string second = Put(bytes);
  ASSERT_TRUE(store_->Sync({second}).ok());
  EXPECT_EQ(store_->last_synced_paths(), (std::vector<std::string>{leaf, store_->PathOf(second)}));
}

TEST_F(FsChunkStoreTest, SyncOfDurableOrUnknownChunksIsANoOp) {
  const std::string hash = Put("durable");
  ASSERT_TRUE(store_->Sync({hash}).ok());
  ASSERT_TRUE(store_->Sync({hash, Sha256::HexDigest("never stored")}).ok());
  ASSERT_TRUE(store_->Sync({}).ok());
  EXPECT_EQ(store_->unsynced_count(), 0u);
}

TEST_F(FsChunkStoreTest, SyncsABatchOfManyChunksAcrossDirectories) {
  std::vector<std::string> hashes;
  for (int i = 0; i < 100; ++i) hashes.push_back(Put("chunk number " + std::to_string(i)));
  EXPECT_EQ(store_->unsynced_count(), 100u);
  ASSERT_TRUE(store_->Sync(hashes).ok());
  EXPECT_EQ(store_->unsynced_count(), 0u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(*store_->Get(hashes[i]), "chunk number " + std::to_string(i));
}

TEST_F(FsChunkStoreTest, SyncFailsForAPendingChunkThatVanished) {
  const std::string hash = Put("here, then gone");
  ASSERT_EQ(::unlink(store_->PathOf(hash).c_str()), 0);
  Status s = store_->Sync({hash});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(hash), std::string::npos) << s.message();
  EXPECT_EQ(store_->unsynced_count(), 1u) << "a failed Sync promises nothing";
}

TEST_F(FsChunkStoreTest, AChunkWhoseFsyncFailedFailsEveryLaterSyncUntilRemoved) {
  // Linux reports a write-back error to one fsync only, so a later fsync of
  // the same file succeeding proves nothing. Here the first fsync fails
  // because the file vanished; a copy put back by hand would then fsync
  // fine, and must still not count as durable.
  const std::string hash = Put("written once");
  const std::string path = store_->PathOf(hash);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_FALSE(store_->Sync({hash}).ok());
  WriteRaw(path, "written once");
  EXPECT_FALSE(store_->Sync({hash}).ok());
  auto present = store_->Put(hash, "written once");
  ASSERT_TRUE(present.ok());
  EXPECT_FALSE(*present);
  EXPECT_FALSE(store_->Sync({hash}).ok()) << "finding it present does not clear the failure";

  ASSERT_TRUE(store_->Remove(hash).ok());
  ASSERT_TRUE(*store_->Put(hash, "written once"));
  EXPECT_TRUE(store_->Sync({hash}).ok()) << "a fresh copy is synced normally";
  EXPECT_EQ(store_->unsynced_count(), 0u);
}

TEST_F(FsChunkStoreTest, RemovedAndSweptChunksAreNoLongerPending) {
  const std::string removed = Put("removed");
  const std::string swept = Put("swept");
  ASSERT_TRUE(store_->Remove(removed).ok());
  ASSERT_TRUE(store_->Sweep([](const std::string&) { return false; }).ok());
  EXPECT_EQ(store_->unsynced_count(), 0u);
  EXPECT_TRUE(store_->Sync({removed, swept}).ok());
}

TEST(FsChunkStoreOpenTest, MakesAnExistingRootAndWhatPutCreatesOwnerOnly) {
  TempDir dir;
  const std::string root = dir.path() + "/chunks";
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
  auto store = FsChunkStore::Open(root);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const std::string hash = Sha256::HexDigest("private");
  ASSERT_TRUE((*store)->Put(hash, "private").ok());
  const std::string path = (*store)->PathOf(hash);
  for (const std::string& d : {path.substr(0, path.rfind('/')), root + "/" + hash.substr(0, 2)}) {
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
}

// A small tmpfs of its own, mounted over a test directory (root only).
class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      const char* ci = std::getenv("CI");
      if (ci && std::string_view(ci) == "true") FAIL() << "a full disk needs root to mount a tmpfs";
      GTEST_SKIP() << "a full disk needs root to mount a tmpfs";
    }
    root_ = dir_.path() + "/small";
    ASSERT_EQ(::mkdir(root_.c_str(), 0700), 0);
    ASSERT_EQ(::mount("nexus-unit-full", root_.c_str(), "tmpfs", 0, "size=64k,mode=0700"), 0)
        << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(root_.c_str(), MNT_DETACH);
  }

  TempDir dir_;
  std::string root_;
  bool mounted_ = false;
};

TEST_F(FullDiskTest, AFullDiskIsInsufficientStorageNamingNoPathAndLeavesNoTempFile) {
  auto store = FsChunkStore::Open(root_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string big = testing::PseudoRandomBytes(256 << 10, 30);
  Result<bool> put = (*store)->Put(Sha256::HexDigest(big), big);
  EXPECT_EQ(put.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(put.status().message(), "insufficient storage");
  EXPECT_TRUE(IsInsufficientStorage(put.status().WithContext("upload 'x'")));
  EXPECT_EQ(CountFiles(root_), 0) << "the partial temp file is gone";
  // Space is there again for what fits.
  const std::string small = testing::PseudoRandomBytes(8 << 10, 31);
  EXPECT_TRUE((*store)->Put(Sha256::HexDigest(small), small).ok());
  EXPECT_TRUE((*store)->Sync({Sha256::HexDigest(small)}).ok());
}

TEST(FsChunkStoreOpenTest, RefusesAPathThatIsAFile) {
  TempDir dir;
  WriteRaw(dir.path() + "/chunks", "");
  EXPECT_FALSE(FsChunkStore::Open(dir.path() + "/chunks").ok());
}

}  // namespace
}  // namespace nexus::daemon::storage
