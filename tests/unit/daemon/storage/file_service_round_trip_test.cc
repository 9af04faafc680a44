// FileService round trips: uploads that download byte-identical, ranges,
// deduplication, names, owners and listing.
#include <gtest/gtest.h>

#include <fstream>

#include "unit/daemon/storage/file_service_rig.h"

namespace nexus::daemon::storage {
namespace {

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
  auto upload = files_->Begin("alice", "shared.bin");
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
  auto upload = files_->Begin("alice", "gone.bin");
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
    EXPECT_EQ(files_->Open("alice", c.id, c.range).status().code(),
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
  ASSERT_TRUE(files_->Delete("alice", first->id).ok());
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(*Download("bob", second->id), data);
  ASSERT_TRUE(files_->Delete("bob", second->id).ok());
  EXPECT_EQ(ChunkFiles(), 0);
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
  EXPECT_EQ(files_->Get("bob", file->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(files_->Open("bob", file->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(files_->Delete("bob", file->id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(files_->List("bob")->empty());
  EXPECT_EQ(*Download("alice", file->id), "secret");
}

TEST_F(FileServiceTest, ANameWithBidirectionalControlsIsRefusedBeforeAnyByte) {
  for (const char* name : {"invoice\xe2\x80\xae"
                           "fdp.exe",
                           "\xe2\x81\xa6x\xe2\x81\xa9.txt"}) {
    EXPECT_EQ(files_->Begin("alice", name).status().code(), StatusCode::kInvalidArgument) << name;
  }
  // Only the stored base name counts: what SafeBaseName drops is not a name.
  EXPECT_TRUE(files_->Begin("alice", "dir\xe2\x80\xae/plain.txt").ok());
  EXPECT_TRUE(files_->List("alice")->empty());
}

TEST_F(FileServiceTest, StoresTheSafeBaseNameOfWhatTheClientSent) {
  auto file = UploadAs("alice", "../../etc/passwd", "x");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->name, "passwd");
  EXPECT_EQ(files_->Get("alice", file->id)->name, "passwd");
}

TEST_F(FileServiceTest, ListsNewestFirst) {
  auto first = UploadAs("alice", "first", "1");
  clock_.AdvanceSeconds(5);
  auto second = UploadAs("alice", "second", "2");
  auto files = files_->List("alice");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].id, second->id);
  EXPECT_EQ((*files)[1].id, first->id);
}

TEST_F(FileServiceTest, BeginRequiresAnOwner) {
  EXPECT_EQ(files_->Begin("", "f").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::storage
