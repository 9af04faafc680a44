// S3 multipart uploads in the tree: parts as hidden files rows, Complete as
// a metadata-only concatenation (chunk refcounts, offsets, quota), Abort and
// expiry leaving nothing behind, the checks of a Complete request, and
// owners kept apart.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "common/sha256.h"
#include "daemon/tree/multipart_janitor.h"
#include "unit/daemon/tree/tree_service_rig.h"

namespace nexus::daemon::storage {
namespace {

std::string Md5Hex(std::string_view data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[d[i] >> 4];
    out += kHex[d[i] & 15];
  }
  return out;
}

constexpr int64_t kMinPart = 4000;

class TreeMultipartTest : public TreeServiceTest {
 protected:
  std::string Create(const std::string& owner, const std::string& path) {
    auto u = tree_->CreateMultipartUpload(owner, path);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? u->id : "";
  }

  Result<FileRecord> Part(const std::string& owner, const std::string& path, const std::string& id,
                          int number, const std::string& data) {
    auto md5 = std::make_shared<PartMd5>();
    NEXUS_ASSIGN_OR_RETURN(
        auto upload,
        tree_->BeginPartUpload(owner, path, id, number, static_cast<int64_t>(data.size()), md5));
    for (size_t i = 0; i < data.size(); i += 1000) {
      NEXUS_RETURN_IF_ERROR(upload->Write(std::string_view(data).substr(i, 1000)));
    }
    NEXUS_RETURN_IF_ERROR(md5->Set(Md5Hex(data)));
    return upload->Commit();
  }

  int64_t Rows(const std::string& table) {
    sql::Statement q = db_->Prepare("SELECT COUNT(*) FROM " + table);
    q.Step();
    return q.Int64(0);
  }

  // Every chunks row's refcount equals the file_chunks rows naming it.
  void ExpectRefcountsExact() {
    sql::Statement q = db_->Prepare(
        "SELECT COUNT(*) FROM chunks c WHERE c.refcount !="
        " (SELECT COUNT(*) FROM file_chunks f WHERE f.hash = c.hash)");
    q.Step();
    EXPECT_EQ(q.Int64(0), 0);
    EXPECT_EQ(ChunksOnDisk(), ReferencedChunks());
  }
};

TEST_F(TreeMultipartTest, CompleteConcatenatesThePartsChunksWithoutStoringAByte) {
  const std::string a = PseudoRandomBytes(6000, 1);
  const std::string b = PseudoRandomBytes(5000, 2);
  const std::string c = PseudoRandomBytes(700, 3);
  const std::string id = Create("alice", "/bkt/dir/obj");
  ASSERT_TRUE(Part("alice", "/bkt/dir/obj", id, 2, b).ok());
  ASSERT_TRUE(Part("alice", "/bkt/dir/obj", id, 1, a).ok());
  ASSERT_TRUE(Part("alice", "/bkt/dir/obj", id, 3, c).ok());
  // Parts hold quota but are no Files API files.
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 11700);
  EXPECT_TRUE(files_->List("alice")->empty());
  const int chunk_files = ChunkFiles();

  auto done = tree_->CompleteMultipartUpload(
      "alice", id, "/bkt/dir/obj", {{1, Md5Hex(a)}, {2, Md5Hex(b)}, {3, Md5Hex(c)}}, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->size, 11700);
  EXPECT_EQ(done->sha256, Sha256::HexDigest(a + b + c));
  EXPECT_EQ(Download("alice", "/bkt/dir/obj").value(), a + b + c);
  EXPECT_EQ(ChunkFiles(), chunk_files) << "no chunk written or lost";
  auto usage = tree_->Usage("alice");
  EXPECT_EQ(usage->used_bytes, 11700) << "the object does not count twice";
  EXPECT_EQ(usage->files, 1);
  EXPECT_EQ(Rows("mp_uploads"), 0);
  EXPECT_EQ(Rows("mp_parts"), 0);
  EXPECT_EQ(Rows("files"), 1);
  ExpectRefcountsExact();
  auto file = tree_->Resolve("alice", "/bkt/dir/obj");
  ASSERT_TRUE(file.ok());
  auto ranges = metadata_->ChunksForRange(file->id, 0, file->size);
  ASSERT_TRUE(ranges.ok());
  int64_t next = 0;
  for (const ChunkRef& r : *ranges) {
    EXPECT_EQ(r.offset, next) << "offsets rebased to tile the object";
    next += r.size;
  }
  EXPECT_EQ(next, 11700);
  EXPECT_EQ(ListCode("alice", "/bkt/dir/obj"), StatusCode::kOk);
  EXPECT_EQ(tree_->ListParts("alice", id, "/bkt/dir/obj", nullptr).status().code(),
            StatusCode::kNotFound);
}

TEST_F(TreeMultipartTest, CompleteKeepsTheMultipartEtagAndSetsThePropertyCreateCarried) {
  const std::string a = PseudoRandomBytes(6000, 7);
  const std::string b = PseudoRandomBytes(100, 8);
  // A file already there with a property of that name: Complete replaces it.
  ASSERT_TRUE(tree_->MakeDirectory("alice", "/bkt").ok());
  const std::string old_id = Create("alice", "/bkt/obj");
  ASSERT_TRUE(Part("alice", "/bkt/obj", old_id, 1, b).ok());
  ASSERT_TRUE(
      tree_->CompleteMultipartUpload("alice", old_id, "/bkt/obj", {{1, Md5Hex(b)}}, kMinPart).ok());
  ASSERT_TRUE(
      tree_
          ->PatchProps("alice", "/bkt/obj",
                       {{{"urn:x", "meta", "<x:meta xmlns:x=\"urn:x\">old</x:meta>"}, false}})
          .ok());

  auto u = tree_->CreateMultipartUpload(
      "alice", "/bkt/obj", {"urn:x", "meta", "<x:meta xmlns:x=\"urn:x\">new</x:meta>"});
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  ASSERT_TRUE(Part("alice", "/bkt/obj", u->id, 1, a).ok());
  ASSERT_TRUE(Part("alice", "/bkt/obj", u->id, 2, b).ok());
  auto done = tree_->CompleteMultipartUpload("alice", u->id, "/bkt/obj",
                                             {{1, Md5Hex(a)}, {2, Md5Hex(b)}}, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  // S3's form: the MD5 of the parts' binary MD5s, "-", the part count.
  auto unhex = [](const std::string& h) {
    std::string out;
    for (size_t i = 0; i < h.size(); i += 2)
      out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
    return out;
  };
  EXPECT_EQ(done->s3_etag, Md5Hex(unhex(Md5Hex(a)) + unhex(Md5Hex(b))) + "-2");
  auto stat = tree_->Stat("alice", "/bkt/obj");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->s3_etag, done->s3_etag);
  auto props = tree_->ListProps("alice", "/bkt/obj", false);
  ASSERT_TRUE(props.ok()) << props.status().ToString();
  ASSERT_EQ(props->size(), 1u);
  ASSERT_EQ((*props)[0].props.size(), 1u);
  EXPECT_EQ((*props)[0].props[0].value, "<x:meta xmlns:x=\"urn:x\">new</x:meta>");

  // An empty value removes the property.
  auto again = tree_->CreateMultipartUpload("alice", "/bkt/obj", {"urn:x", "meta", ""});
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(Part("alice", "/bkt/obj", again->id, 1, b).ok());
  ASSERT_TRUE(
      tree_->CompleteMultipartUpload("alice", again->id, "/bkt/obj", {{1, Md5Hex(b)}}, kMinPart)
          .ok());
  props = tree_->ListProps("alice", "/bkt/obj", false);
  ASSERT_TRUE(props.ok());
  EXPECT_TRUE(props->empty());
  ExpectRefcountsExact();
}

TEST_F(TreeMultipartTest, PartsLeftOutOfTheCompleteListAreDroppedWithTheirChunks) {
  const std::string a = PseudoRandomBytes(5000, 4);
  const std::string b = PseudoRandomBytes(5000, 5);
  const std::string id = Create("alice", "/bkt/o");
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, a).ok());
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 2, b).ok());
  auto done = tree_->CompleteMultipartUpload("alice", id, "/bkt/o", {{1, Md5Hex(a)}}, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(Download("alice", "/bkt/o").value(), a);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 5000);
  EXPECT_EQ(Rows("files"), 1);
  ExpectRefcountsExact();
}

TEST_F(TreeMultipartTest, AbortLeavesNoRowNoChunkAndNoUsage) {
  ASSERT_TRUE(UploadAt("alice", "/bkt/keep", PseudoRandomBytes(3000, 6)).ok());
  const int chunk_files = ChunkFiles();
  const std::string id = Create("alice", "/bkt/o");
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, PseudoRandomBytes(9000, 7)).ok());
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 2, PseudoRandomBytes(100, 8)).ok());
  EXPECT_GT(ChunkFiles(), chunk_files);

  ASSERT_TRUE(tree_->AbortMultipartUpload("alice", id, "/bkt/o").ok());
  EXPECT_EQ(ChunkFiles(), chunk_files);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 3000);
  EXPECT_EQ(Rows("mp_uploads"), 0);
  EXPECT_EQ(Rows("mp_parts"), 0);
  EXPECT_EQ(Rows("files"), 1);
  ExpectRefcountsExact();
  EXPECT_EQ(tree_->AbortMultipartUpload("alice", id, "/bkt/o").code(), StatusCode::kNotFound);
}

TEST_F(TreeMultipartTest, APartUploadedAgainReplacesTheOlderOne) {
  const std::string id = Create("alice", "/bkt/o");
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, PseudoRandomBytes(6000, 9)).ok());
  const std::string again = PseudoRandomBytes(4500, 10);
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, again).ok());
  auto parts = tree_->ListParts("alice", id, "/bkt/o", nullptr);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].size, 4500);
  EXPECT_EQ((*parts)[0].md5, Md5Hex(again));
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 4500);
  ExpectRefcountsExact();
}

TEST_F(TreeMultipartTest, CompleteRefusesBadPartListsAndKeepsTheUpload) {
  const std::string a = PseudoRandomBytes(5000, 11);
  const std::string small = PseudoRandomBytes(100, 12);
  const std::string b = PseudoRandomBytes(5000, 13);
  const std::string id = Create("alice", "/bkt/o");
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, a).ok());
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 2, small).ok());
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 3, b).ok());
  struct Case {
    std::vector<PartChoice> parts;
    std::string code;
  } cases[] = {
      {{{2, Md5Hex(small)}, {1, Md5Hex(a)}}, "InvalidPartOrder"},
      {{{1, Md5Hex(a)}, {1, Md5Hex(a)}}, "InvalidPartOrder"},
      {{{1, Md5Hex(b)}}, "InvalidPart"},
      {{{1, Md5Hex(a)}, {4, Md5Hex(b)}}, "InvalidPart"},
      {{{1, Md5Hex(a)}, {2, Md5Hex(small)}, {3, Md5Hex(b)}}, "EntityTooSmall"},
      {{}, "MalformedXML"},
  };
  for (const Case& c : cases) {
    auto done = tree_->CompleteMultipartUpload("alice", id, "/bkt/o", c.parts, kMinPart);
    EXPECT_EQ(done.status().code(), StatusCode::kInvalidArgument) << c.code;
    EXPECT_TRUE(done.status().message().starts_with(c.code + ": ")) << done.status().message();
  }
  EXPECT_EQ(ListCode("alice", "/bkt/o"), StatusCode::kNotFound);
  EXPECT_EQ(tree_->ListParts("alice", id, "/bkt/o", nullptr)->size(), 3u);
  // The last part may be small.
  auto done = tree_->CompleteMultipartUpload("alice", id, "/bkt/o",
                                             {{1, Md5Hex(a)}, {2, Md5Hex(small)}}, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(Download("alice", "/bkt/o").value(), a + small);
  ExpectRefcountsExact();
}

TEST_F(TreeMultipartTest, PartsCountAgainstTheQuotaAndTheObjectDoesNotCountTwice) {
  quotas_["alice"] = 12000;
  const std::string a = PseudoRandomBytes(6000, 14);
  const std::string b = PseudoRandomBytes(6000, 15);
  const std::string id = Create("alice", "/bkt/o");
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, a).ok());
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 2, b).ok());
  EXPECT_EQ(Part("alice", "/bkt/o", id, 3, "x").status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(UploadAt("alice", "/bkt/other", "x").status().code(), StatusCode::kQuotaExceeded);
  auto done = tree_->CompleteMultipartUpload("alice", id, "/bkt/o",
                                             {{1, Md5Hex(a)}, {2, Md5Hex(b)}}, kMinPart);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 12000);
  ExpectRefcountsExact();
}

TEST_F(TreeMultipartTest, CompleteReplacesAFileAtThePathAndReleasesItsChunks) {
  ASSERT_TRUE(UploadAt("alice", "/bkt/o", PseudoRandomBytes(8000, 16)).ok());
  const std::string a = PseudoRandomBytes(5000, 17);
  const std::string id = Create("alice", "/bkt/o");
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, a).ok());
  ASSERT_TRUE(
      tree_->CompleteMultipartUpload("alice", id, "/bkt/o", {{1, Md5Hex(a)}}, kMinPart).ok());
  EXPECT_EQ(Download("alice", "/bkt/o").value(), a);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 5000);
  EXPECT_EQ(Rows("files"), 1);
  ExpectRefcountsExact();
}

TEST_F(TreeMultipartTest, AnotherOwnerOrPathFindsNoUpload) {
  const std::string a = PseudoRandomBytes(5000, 18);
  const std::string id = Create("alice", "/bkt/o");
  ASSERT_TRUE(Part("alice", "/bkt/o", id, 1, a).ok());
  EXPECT_EQ(tree_->ListParts("bob", id, "/bkt/o", nullptr).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tree_->ListParts("alice", id, "/bkt/other", nullptr).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(tree_->CompleteMultipartUpload("bob", id, "/bkt/o", {{1, Md5Hex(a)}}, kMinPart)
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(tree_->AbortMultipartUpload("bob", id, "/bkt/o").code(), StatusCode::kNotFound);
  EXPECT_EQ(Part("bob", "/bkt/o", id, 2, "x").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(tree_->ListMultipartUploads("bob", "/")->empty());
  EXPECT_EQ(tree_->ListMultipartUploads("alice", "/bkt/")->size(), 1u);
  EXPECT_EQ(tree_->ListParts("alice", id, "/bkt/o", nullptr)->size(), 1u);
}

TEST_F(TreeMultipartTest, UploadPartCopyTakesAFileOrARangeOfIt) {
  const std::string src = PseudoRandomBytes(9000, 19);
  ASSERT_TRUE(UploadAt("alice", "/bkt/src", src).ok());
  const int chunk_files = ChunkFiles();
  const std::string id = Create("alice", "/bkt/o");
  auto whole = tree_->UploadPartCopy("alice", "/bkt/o", id, 1, "/bkt/src", std::nullopt);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->md5, Md5Hex(src));
  EXPECT_EQ(ChunkFiles(), chunk_files) << "a whole file's chunks are found again";
  auto range = tree_->UploadPartCopy("alice", "/bkt/o", id, 2, "/bkt/src", ByteRange{100, 50});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->md5, Md5Hex(src.substr(100, 50)));
  ASSERT_TRUE(tree_
                  ->CompleteMultipartUpload("alice", id, "/bkt/o",
                                            {{1, whole->md5}, {2, range->md5}}, kMinPart)
                  .ok());
  EXPECT_EQ(Download("alice", "/bkt/o").value(), src + src.substr(100, 50));
  ExpectRefcountsExact();
}

TEST_F(TreeMultipartTest, AnOwnerMayHaveOnlySoManyUploadsOpen) {
  std::string first;
  for (int64_t i = 0; i < kMaxOpenUploadsPerOwner; ++i) {
    const std::string id = Create("alice", "/bkt/k" + std::to_string(i));
    ASSERT_FALSE(id.empty()) << i;
    if (i == 0) first = id;
  }
  auto refused = tree_->CreateMultipartUpload("alice", "/bkt/one-more");
  EXPECT_EQ(refused.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_NE(refused.status().message().find("TooManyUploads: "), std::string::npos);
  // Another owner is not affected; finishing one makes room again.
  EXPECT_FALSE(Create("bob", "/bkt/k").empty());
  ASSERT_TRUE(tree_->AbortMultipartUpload("alice", first, "/bkt/k0").ok());
  EXPECT_FALSE(Create("alice", "/bkt/one-more").empty());
}

TEST_F(TreeMultipartTest, TheJanitorDropsOnlyUploadsPastTheirAge) {
  const std::string old_id = Create("alice", "/bkt/old");
  ASSERT_TRUE(Part("alice", "/bkt/old", old_id, 1, PseudoRandomBytes(5000, 20)).ok());
  clock_.AdvanceSeconds(3600);
  const std::string new_id = Create("alice", "/bkt/new");
  ASSERT_TRUE(Part("alice", "/bkt/new", new_id, 1, PseudoRandomBytes(5000, 21)).ok());
  clock_.AdvanceSeconds(3600);
  MultipartJanitor janitor(*tree_, clock_, 5400);
  EXPECT_EQ(janitor.RunOnce().value(), 1);
  EXPECT_EQ(tree_->ListParts("alice", old_id, "/bkt/old", nullptr).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(tree_->ListParts("alice", new_id, "/bkt/new", nullptr)->size(), 1u);
  EXPECT_EQ(tree_->Usage("alice")->used_bytes, 5000);
  ExpectRefcountsExact();
  MultipartJanitor never(*tree_, clock_, 0);
  EXPECT_EQ(never.RunOnce().value(), 0);
}

}  // namespace
}  // namespace nexus::daemon::storage
