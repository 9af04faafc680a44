// The upload routes without a socket: raw and tree uploads streamed to a
// scripted nexusd in messages, from fast and slow clients, and the requests
// they refuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "gateway/api/upload_stream.h"
#include "unit/gateway/api/files_routes_rig.h"

namespace nexus::gateway {
namespace {

// ---- uploads ------------------------------------------------------------------

TEST_F(FilesRoutesTest, UploadStreamsTheFilePartInMessagesAndAnswersTheContractShape) {
  const std::string content(kUploadMessageBytes * 2 + 12345, 'q');
  daemon_.upload_answer = SampleFile("f1", static_cast<int64_t>(content.size()), 1700000000);
  Response r = PostMultipart("/api/files/upload",
                             FieldPart("note", "ignored") + FilePart(content) + Close());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"chunks_count":1,"created":"2023-11-14T22:13:20Z",)"
                    R"("created_at":1700000000,"id":"f1","name":"report.pdf","sha256":"ab12",)"
                    R"("size":2109497,"status":"Uploaded"})");
  ASSERT_EQ(daemon_.uploads.size(), 1u);
  const testing::UploadRecord& u = daemon_.uploads[0];
  EXPECT_EQ(u.header.owner(), "alice");
  EXPECT_EQ(u.header.file_name(), "report.pdf");
  EXPECT_EQ(u.header.vfs_path(), "");
  EXPECT_EQ(u.header.declared_size(), -1);
  EXPECT_EQ(u.data, content);
  for (size_t i = 0; i + 1 < u.message_sizes.size(); ++i) {
    EXPECT_GE(u.message_sizes[i], kUploadMessageBytes);
    EXPECT_LT(u.message_sizes[i], kUploadMessageBytes + 256 * 1024);
  }
  EXPECT_TRUE(u.finished);
  EXPECT_FALSE(u.cancelled);
}

// A body that arrives `step` bytes per read, as from a slow client.
class SteppedBodyReader final : public BodyReader {
 public:
  SteppedBodyReader(std::string body, size_t step) : body_(std::move(body)), step_(step) {}
  asio::awaitable<Result<std::size_t>> Read(std::span<char> buf) override {
    const size_t n = std::min({buf.size(), step_, body_.size() - at_});
    std::memcpy(buf.data(), body_.data() + at_, n);
    at_ += n;
    co_return n;
  }

 private:
  const std::string body_;
  const size_t step_;
  size_t at_ = 0;
};

TEST_F(FilesRoutesTest, ASlowClientsBytesGoToNexusdWithoutWaitingForAWholeMessage) {
  const std::string content(40 * 1024, 'z');
  auto upload = [&](std::chrono::milliseconds flush_after) {
    Headers h;
    h.Add("Content-Type", std::string("multipart/form-data; boundary=") + kBoundary);
    Request req = MakeRequest("POST", "", std::move(h));
    req.principal.username = "alice";
    SteppedBodyReader reader(FilePart(content) + Close(), 4096);
    req.body_reader = &reader;
    UploadOptions options;
    options.flush_after = flush_after;
    Result<daemonpb::FileInfo> r = RunAwaitable(StreamUpload(daemon_, req, options));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  };
  // Bytes that waited their flush_after go as they are (0: at once): nexusd
  // hears from a slow upload long before a whole message has come.
  upload(std::chrono::milliseconds(0));
  ASSERT_EQ(daemon_.uploads.size(), 1u);
  EXPECT_GE(daemon_.uploads[0].message_sizes.size(), 10u);
  EXPECT_EQ(daemon_.uploads[0].data, content);
  EXPECT_TRUE(daemon_.uploads[0].finished);
  // A body that comes faster than kUploadFlushAfter goes in whole messages.
  upload(kUploadFlushAfter);
  ASSERT_EQ(daemon_.uploads.size(), 2u);
  EXPECT_EQ(daemon_.uploads[1].message_sizes.size(), 1u);
  EXPECT_EQ(daemon_.uploads[1].data, content);
}

TEST_F(FilesRoutesTest, EmptyFileIsCommittedWithoutDataMessages) {
  Response r = PostMultipart("/api/files/upload", FilePart("") + Close());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(daemon_.uploads.size(), 1u);
  EXPECT_TRUE(daemon_.uploads[0].message_sizes.empty());
  EXPECT_TRUE(daemon_.uploads[0].finished);
}

TEST_F(FilesRoutesTest, FileNameWithInvalidUtf8IsRepairedBeforeItReachesNexusd) {
  Response r = PostMultipart("/api/files/upload", FilePart("x", "a\xff.txt") + Close());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(daemon_.uploads[0].header.file_name(), "a\xEF\xBF\xBD.txt");
}

TEST_F(FilesRoutesTest, BadUploadRequestsAreRefusedWithoutCommitting) {
  struct Case {
    const char* content_type;
    std::string body;
    int status;
    const char* error;
  } cases[] = {
      {"application/json", "{}", 400, "upload: Content-Type must be multipart/form-data"},
      {"", "", 400, "upload: Content-Type must be multipart/form-data"},
      {"multipart/form-data", "", 400, nullptr},  // no boundary
      {"multipart/form-data; boundary=XyZ", FieldPart("other", "1") + Close(), 400,
       "upload: missing 'file' part"},
      {"multipart/form-data; boundary=XyZ", FilePart("a") + FilePart("b") + Close(), 400,
       "upload: more than one 'file' part"},
      // The body ends inside the file part: the call must be cancelled.
      {"multipart/form-data; boundary=XyZ", FilePart(std::string(100, 'a')), 400, nullptr},
  };
  for (const auto& c : cases) {
    daemon_.uploads.clear();
    Headers h;
    if (*c.content_type) h.Add("Content-Type", c.content_type);
    Response r = Send("POST", "/api/files/upload", c.body, h);
    EXPECT_EQ(r.status, c.status) << c.content_type << " " << r.body;
    if (c.error) {
      EXPECT_EQ(r.body, nlohmann::json({{"error", c.error}}).dump());
    }
    for (const auto& u : daemon_.uploads) {
      EXPECT_FALSE(u.finished);
      EXPECT_TRUE(u.cancelled);
    }
    if (c.body.size() > 100) {
      EXPECT_FALSE(daemon_.uploads.empty()) << "an upload was started";
    }
  }
}

TEST_F(FilesRoutesTest, NexusdErrorsDuringAnUploadKeepTheirStatus) {
  daemon_.upload_write_error = InvalidArgumentError("upload: path must not contain '..'");
  Response bad = PostMultipart("/api/files/upload",
                               FilePart(std::string(kUploadMessageBytes + 1, 'z')) + Close());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"error":"upload: path must not contain '..'"})");

  daemon_.upload_write_error = Status::Ok();
  daemon_.upload_answer = Status(StatusCode::kQuotaExceeded, "quota exceeded: 10 of 5 bytes");
  Response full = PostMultipart("/api/files/upload", FilePart("0123456789") + Close());
  EXPECT_EQ(full.status, 507);
  EXPECT_EQ(full.body, R"({"error":"quota exceeded: 10 of 5 bytes"})");

  daemon_.upload_start_error = UnavailableError("daemon service unavailable");
  Response down = PostMultipart("/api/files/upload", FilePart("x") + Close());
  EXPECT_EQ(down.status, 503);
}

TEST_F(FilesRoutesTest, TreeUploadTakesItsPathFromTheQueryOrAPartBeforeOrAfterTheFile) {
  enum Upload { kNone, kCommitted, kCancelled };
  struct Case {
    const char* target;
    std::string body;
    int status;
    Upload upload;
    const char* vfs_path;   // in the call's header
    const char* late_path;  // sent after the data (header says path_follows); nullptr: none
  } cases[] = {
      {"/api/fs/upload", FieldPart("path", "/docs/a.txt") + FilePart("x") + Close(), 200,
       kCommitted, "/docs/a.txt", nullptr},
      {"/api/fs/upload?path=%2Fdocs%2Fb.txt", FilePart("x") + Close(), 200, kCommitted,
       "/docs/b.txt", nullptr},
      {"/api/fs/upload?path=/same", FieldPart("path", "/same") + FilePart("x") + Close(), 200,
       kCommitted, "/same", nullptr},
      {"/api/fs/upload", FilePart("x") + FieldPart("path", "/late.txt") + Close(), 200, kCommitted,
       "", "/late.txt"},
      {"/api/fs/upload?path=/same", FilePart("x") + FieldPart("path", "/same") + Close(), 200,
       kCommitted, "/same", nullptr},
      // No path at all: the file was already streaming, so the call is cancelled.
      {"/api/fs/upload", FilePart("x") + Close(), 400, kCancelled, "", nullptr},
      {"/api/fs/upload", FilePart("x") + FieldPart("path", "") + Close(), 400, kCancelled, "",
       nullptr},
      {"/api/fs/upload?path=/q", FilePart("x") + FieldPart("path", "/p") + Close(), 400, kCancelled,
       "/q", nullptr},
      {"/api/fs/upload",
       FieldPart("path", "/a") + FilePart("x") + FieldPart("path", "/b") + Close(), 400, kCancelled,
       "/a", nullptr},
      {"/api/fs/upload", FieldPart("path", "") + FilePart("x") + Close(), 400, kNone, "", nullptr},
      {"/api/fs/upload?path=", FilePart("x") + Close(), 400, kNone, "", nullptr},
      {"/api/fs/upload?path=/q", FieldPart("path", "/p") + FilePart("x") + Close(), 400, kNone, "",
       nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " " + c.body);
    daemon_.uploads.clear();
    Response r = PostMultipart(c.target, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    if (c.upload == kNone) {
      EXPECT_TRUE(daemon_.uploads.empty());
      continue;
    }
    ASSERT_EQ(daemon_.uploads.size(), 1u);
    const testing::UploadRecord& u = daemon_.uploads[0];
    EXPECT_EQ(u.header.vfs_path(), c.vfs_path);
    EXPECT_EQ(u.header.path_follows(), std::string(c.vfs_path).empty());
    EXPECT_EQ(u.finished, c.upload == kCommitted);
    EXPECT_EQ(u.cancelled, c.upload == kCancelled);
    EXPECT_EQ(u.sent_path, c.late_path ? std::optional<std::string>(c.late_path) : std::nullopt);
    EXPECT_EQ(u.data, "x");
  }
}

TEST_F(FilesRoutesTest, TreeUploadAnswerCarriesThePath) {
  daemonpb::FileInfo f = SampleFile("f9", 1, 1700000000);
  f.set_vfs_path("/docs/a.txt");
  daemon_.upload_answer = f;
  Response r = PostMultipart("/api/fs/upload?path=/docs/a.txt", FilePart("x") + Close());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["path"], "/docs/a.txt");
}

}  // namespace
}  // namespace nexus::gateway
