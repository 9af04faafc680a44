// The S3 chunk store's pure parts: the chunks URL and the S3 options of
// [storage], the object key layout, SigV4's URI encoding, what is retried
// and how a failed exchange maps to a Status, and the listing's XML and
// timestamps. Behaviour against a real server: tests/e2e/test_storage_s3_chunks.py.
#include "daemon/storage/s3_chunk_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "common/insufficient_storage.h"
#include "daemon/storage/store_factories.h"
#include "storage_test_util.h"

namespace nexus::daemon::storage {
namespace {

const std::string kHash = "abcd" + std::string(60, '0');

TEST(ParseS3ChunksUrlTest, ReadsBucketPrefixEndpointAndRegion) {
  auto loc = ParseS3ChunksUrl(
      "s3://my-bucket/nexus/chunks/?endpoint=http://127.0.0.1:9000/&region=eu-west-1");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ(loc->bucket, "my-bucket");
  EXPECT_EQ(loc->prefix, "nexus/chunks");
  EXPECT_EQ(loc->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(loc->region, "eu-west-1");
}

TEST(ParseS3ChunksUrlTest, DefaultsToPrefixChunksAndRegionUsEast1) {
  auto loc = ParseS3ChunksUrl("s3://bkt?endpoint=https%3A%2F%2Fs3.example.com");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ(loc->prefix, "chunks");
  EXPECT_EQ(loc->region, "us-east-1");
  EXPECT_EQ(loc->endpoint, "https://s3.example.com");
}

TEST(ParseS3ChunksUrlTest, RefusesWhatItCannotUseSayingWhy) {
  struct Case {
    const char* url;
    const char* expect_in_message;
  } cases[] = {
      {"gs://bucket?endpoint=http://h", "not \"fs\" nor s3://"},
      {"s3://?endpoint=http://h", "names no bucket"},
      {"s3:///prefix?endpoint=http://h", "names no bucket"},
      {"s3://Bad_Bucket?endpoint=http://h", "bucket name 'Bad_Bucket'"},
      {"s3://ab?endpoint=http://h", "bucket name 'ab'"},
      {"s3://bucket", "has no endpoint"},
      {"s3://bucket?region=us-east-1", "has no endpoint"},
      {"s3://bucket?endpoint=ftp://h", "endpoint 'ftp://h'"},
      {"s3://bucket?endpoint=http://", "must be http://host"},
      {"s3://bucket?endpoint=http://h/path", "alone"},
      {"s3://bucket?endpoint=http://h&regoin=x", "unknown parameter 'regoin'"},
      {"s3://bucket?endpoint=http://h&region=", "region ''"},
      {"s3://bucket?endpoint=http%ZZ", "bad %-escape"},
      {"s3://bucket/a/../b?endpoint=http://h", "key prefix"},
      {"s3://bucket/a//b?endpoint=http://h", "key prefix"},
  };
  for (const auto& tc : cases) {
    auto loc = ParseS3ChunksUrl(tc.url);
    ASSERT_FALSE(loc.ok()) << tc.url;
    EXPECT_EQ(loc.status().code(), StatusCode::kInvalidArgument) << tc.url;
    EXPECT_NE(loc.status().message().find(tc.expect_in_message), std::string::npos)
        << tc.url << ": " << loc.status().message();
    EXPECT_NE(loc.status().message().find("storage.chunks"), std::string::npos);
  }
}

TEST(S3ChunkKeyTest, FansOutLikeTheFsStoreUnderThePrefix) {
  S3Location loc;
  EXPECT_EQ(S3ChunkKey(loc, kHash), "chunks/ab/cd/" + kHash);
  loc.prefix = "a/b";
  EXPECT_EQ(S3ChunkKey(loc, kHash), "a/b/ab/cd/" + kHash);
  loc.prefix = "";
  EXPECT_EQ(S3ChunkKey(loc, kHash), "ab/cd/" + kHash);
}

TEST(S3ChunkKeyTest, OnlyKeysOfTheLayoutAreChunks) {
  S3Location loc;
  EXPECT_EQ(S3ChunkHashOfKey(loc, "chunks/ab/cd/" + kHash), kHash);
  const std::string not_chunks[] = {
      "chunks/ab/ce/" + kHash,           // the wrong directory: Get could not find it
      "other/ab/cd/" + kHash,            // another prefix
      "chunks/ab/cd/" + kHash + ".tmp",  // not a hash
      "chunks/ab/cd/ABCD" + std::string(60, '0'),
      "chunks/abcd/" + kHash,
      "chunks/readme.txt",
  };
  for (const auto& key : not_chunks) EXPECT_FALSE(S3ChunkHashOfKey(loc, key)) << key;
  loc.prefix = "";
  EXPECT_EQ(S3ChunkHashOfKey(loc, "ab/cd/" + kHash), kHash);
}

TEST(S3IsRetryableTest, RetriesNetworkErrors5xxAnd429Only) {
  struct Case {
    int curl_code;
    long http_status;
    bool retry;
  } cases[] = {
      {7, 0, true},     // couldn't connect
      {28, 0, true},    // timed out
      {0, 500, true},   // InternalError
      {0, 503, true},   // SlowDown
      {0, 429, true},   // too many requests
      {0, 400, false},  // a bad request stays bad
      {0, 403, false},  // wrong credentials stay wrong
      {0, 404, false}, {0, 200, false},
  };
  for (const auto& tc : cases) {
    EXPECT_EQ(S3IsRetryable(tc.curl_code, tc.http_status), tc.retry)
        << tc.curl_code << " " << tc.http_status;
  }
}

std::string ErrorDocument(const std::string& code) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code +
         "</Code><Message>m</Message></Error>";
}

TEST(S3ErrorStatusTest, MapsEachKindOfFailureToItsCode) {
  struct Case {
    long http_status;
    std::string transport_error;
    std::string body;
    StatusCode code;
    std::string expect_in_message;
  } cases[] = {
      {0, "Couldn't connect to server", "", StatusCode::kUnavailable, "Couldn't connect"},
      {404, "", ErrorDocument("NoSuchKey"), StatusCode::kNotFound, "HTTP 404 NoSuchKey"},
      {503, "", ErrorDocument("SlowDown"), StatusCode::kUnavailable, "HTTP 503 SlowDown"},
      {500, "", "", StatusCode::kUnavailable, "HTTP 500"},
      {429, "", "", StatusCode::kUnavailable, "HTTP 429"},
      {403, "", ErrorDocument("SignatureDoesNotMatch"), StatusCode::kUpstreamFailed,
       "HTTP 403 SignatureDoesNotMatch"},
      {400, "", ErrorDocument("XAmzContentSHA256Mismatch"), StatusCode::kInternal,
       "another SHA-256"},
      {400, "", ErrorDocument("BadDigest"), StatusCode::kInternal, "another SHA-256"},
      {400, "", ErrorDocument("InvalidRequest"), StatusCode::kUpstreamFailed, "InvalidRequest"},
  };
  for (const auto& tc : cases) {
    Status s = S3ErrorStatus("PUT", "chunks/ab/cd/x", tc.http_status, tc.transport_error, tc.body);
    EXPECT_EQ(s.code(), tc.code) << tc.http_status << " " << s.ToString();
    EXPECT_NE(s.message().find(tc.expect_in_message), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("PUT 'chunks/ab/cd/x'"), std::string::npos) << s.message();
  }
}

TEST(S3ErrorStatusTest, A507IsInsufficientStorageAndNamesNothing) {
  Status s = S3ErrorStatus("PUT", "chunks/ab/cd/x", 507, "", ErrorDocument("QuotaExceeded"));
  EXPECT_TRUE(IsInsufficientStorage(s)) << s.ToString();
  EXPECT_EQ(s.message(), "insufficient storage");
}

TEST(S3ClientStatusTest, TellsTheClientNoAddressNorKey) {
  Status down = S3ClientStatus(
      S3ErrorStatus("GET", "chunks/ab/cd/x", 0, "Failed to connect to 127.0.0.1 port 9000", ""));
  EXPECT_EQ(down.code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.message(), "chunk store unavailable");
  Status refused = S3ClientStatus(
      S3ErrorStatus("PUT", "chunks/ab/cd/x", 403, "", ErrorDocument("AccessDenied")));
  EXPECT_EQ(refused.code(), StatusCode::kUpstreamFailed);
  EXPECT_EQ(refused.message(), "chunk store refused a request");
  // A 500 shows the client nothing anyway; the detail helps the log.
  Status mismatch =
      S3ClientStatus(S3ErrorStatus("PUT", "chunks/ab/cd/x", 400, "", ErrorDocument("BadDigest")));
  EXPECT_EQ(mismatch.code(), StatusCode::kInternal);
  EXPECT_NE(mismatch.message().find("chunks/ab/cd/x"), std::string::npos);
}

TEST(S3XmlTextTest, ReadsTagsInOrderAndDecodesEntities) {
  const std::string xml =
      "<ListBucketResult><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b</Key></Contents><Contents><Key>c&lt;d</Key></Contents>"
      "<NextContinuationToken>t&quot;1</NextContinuationToken>"
      "<Message>the &#39;x&#39; header &#x27;</Message></ListBucketResult>";
  size_t at = 0;
  EXPECT_EQ(S3XmlText(xml, "Key", &at), "a&b");
  EXPECT_EQ(S3XmlText(xml, "Key", &at), "c<d");
  EXPECT_FALSE(S3XmlText(xml, "Key", &at));
  EXPECT_EQ(S3XmlText(xml, "IsTruncated"), "true");
  EXPECT_EQ(S3XmlText(xml, "NextContinuationToken"), "t\"1");
  EXPECT_EQ(S3XmlText(xml, "Message"), "the 'x' header &#x27;");
  EXPECT_FALSE(S3XmlText(xml, "Missing"));
}

TEST(ParseS3TimeTest, ReadsS3TimestampsWithOrWithoutFraction) {
  EXPECT_EQ(ParseS3Time("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(ParseS3Time("2026-12-07T14:55:42Z"), 1796655342);
  EXPECT_EQ(ParseS3Time("2026-12-07T14:55:42.123Z"), 1796655342);
  EXPECT_FALSE(ParseS3Time(""));
  EXPECT_FALSE(ParseS3Time("2026-12-07 14:55:42Z"));
  EXPECT_FALSE(ParseS3Time("2026-13-07T14:55:42Z"));
  EXPECT_FALSE(ParseS3Time("2026-12-07T14:55:42"));
}

class S3OptionsTest : public ::testing::Test {
 protected:
  StorageConfig Config() {
    StorageConfig c;
    c.chunks = "s3://bucket?endpoint=http://127.0.0.1:9000";
    c.s3_access_key = "AKIDEXAMPLE";
    return c;
  }
  std::string SecretFile(const std::string& text, mode_t mode) {
    const std::string path = dir_.path() + "/secret";
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(S3OptionsTest, TakesTheSecretFromTheConfigOrA0600File) {
  StorageConfig c = Config();
  c.s3_secret_key = "inline-secret";
  c.s3_sweep_grace_seconds = 60;
  c.s3_max_attempts = 3;
  auto inline_opts = S3ChunkStoreOptionsFromConfig(c);
  ASSERT_TRUE(inline_opts.ok()) << inline_opts.status().ToString();
  EXPECT_EQ(inline_opts->secret_key, "inline-secret");
  EXPECT_EQ(inline_opts->access_key, "AKIDEXAMPLE");
  EXPECT_EQ(inline_opts->sweep_grace, std::chrono::seconds(60));
  EXPECT_EQ(inline_opts->max_attempts, 3);
  EXPECT_EQ(inline_opts->location.bucket, "bucket");

  c = Config();
  c.s3_secret_key_file = SecretFile("file-secret\n", 0600);
  auto file_opts = S3ChunkStoreOptionsFromConfig(c);
  ASSERT_TRUE(file_opts.ok()) << file_opts.status().ToString();
  EXPECT_EQ(file_opts->secret_key, "file-secret");
}

TEST_F(S3OptionsTest, RefusesMissingCredentialsAndAnOpenSecretFileWithoutShowingTheSecret) {
  StorageConfig no_key = Config();
  no_key.s3_access_key = "";
  no_key.s3_secret_key = "s";
  EXPECT_NE(S3ChunkStoreOptionsFromConfig(no_key).status().message().find("s3_access_key"),
            std::string::npos);

  StorageConfig no_secret = Config();
  EXPECT_NE(S3ChunkStoreOptionsFromConfig(no_secret).status().message().find("s3_secret_key"),
            std::string::npos);

  StorageConfig open_file = Config();
  open_file.s3_secret_key_file = SecretFile("very-secret-value\n", 0644);
  Status s = S3ChunkStoreOptionsFromConfig(open_file).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("chmod 600"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("very-secret-value"), std::string::npos) << s.message();

  StorageConfig missing_file = Config();
  missing_file.s3_secret_key_file = dir_.path() + "/none";
  EXPECT_EQ(S3ChunkStoreOptionsFromConfig(missing_file).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ChunkBackEndOfTest, IsTheUrlSchemeOrFs) {
  StorageConfig c;
  EXPECT_EQ(ChunkBackEndOf(c), "fs");
  c.chunks = "s3://b?endpoint=http://h";
  EXPECT_EQ(ChunkBackEndOf(c), "s3");
  c.chunks = "gs://b";
  EXPECT_EQ(ChunkBackEndOf(c), "gs");
  auto store = MakeChunkStore(ChunkBackEndOf(c), c);
  EXPECT_EQ(store.status().message(), "unknown chunk store 'gs' (known: fs, s3)");
}

TEST(MakeChunkStoreTest, OpensTheS3StoreWithoutTouchingTheNetwork) {
  StorageConfig c;
  c.chunks = "s3://bucket?endpoint=http://127.0.0.1:1";
  c.s3_access_key = "AK";
  c.s3_secret_key = "SK";
  auto store = MakeChunkStore(ChunkBackEndOf(c), c);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  // Still validated before any request.
  EXPECT_EQ((*store)->Has("not-a-hash").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nexus::daemon::storage
