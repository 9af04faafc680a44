// The Files, VFS and lambda routes without a socket: Pipeline::Handle over
// the real route table with a scripted nexusd (uploads and downloads
// included, through fake UploadCall / DownloadCall objects).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "gateway/api/lambda_handler.h"
#include "gateway/api/routes.h"
#include "gateway/api/upload_stream.h"
#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::BearerHeaders;
using testing::MakeRequest;
using testing::RunAwaitable;

// Collects a streamed body.
class StringWriter final : public BodyWriter {
 public:
  asio::awaitable<Status> Write(std::string_view data) override {
    body.append(data);
    co_return Status::Ok();
  }
  std::string body;
};

asio::awaitable<Status> DrainInto(Response* resp, StringWriter* out) {
  co_return co_await resp->stream(*out);
}

daemonpb::FileInfo SampleFile(std::string id, int64_t size, int64_t created_at) {
  daemonpb::FileInfo f;
  f.set_id(std::move(id));
  f.set_name("report.pdf");
  f.set_size(size);
  f.set_chunks_count(size > 0 ? 1 : 0);
  f.set_status("Uploaded");
  f.set_sha256("ab12");
  f.set_created_at(created_at);
  return f;
}

daemonpb::DownloadResponse HeaderMessage(int64_t size, int64_t offset, int64_t length,
                                         bool partial) {
  daemonpb::DownloadResponse m;
  auto* h = m.mutable_header();
  *h->mutable_file() = SampleFile("f1", size, 1700000000);
  h->set_offset(offset);
  h->set_length(length);
  h->set_partial(partial);
  return m;
}

daemonpb::DownloadResponse DataMessage(std::string bytes) {
  daemonpb::DownloadResponse m;
  m.set_data(std::move(bytes));
  return m;
}

constexpr char kBoundary[] = "XyZ";

std::string FilePart(const std::string& content, const std::string& filename = "report.pdf") {
  return std::string("--") + kBoundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
         "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n";
}
std::string FieldPart(const std::string& name, const std::string& value) {
  return std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
         "\"\r\n\r\n" + value + "\r\n";
}
std::string Close() { return std::string("--") + kBoundary + "--\r\n"; }

class FilesRoutesTest : public ::testing::Test {
 protected:
  FilesRoutesTest() : pipeline_(router_, auth_, PipelineOptions{1024}) {
    RegisterRoutes(router_, auth_, daemon_);
    auth_.AcceptToken("tok", "alice", "alice@example.com", 1700000000);
  }

  Response Send(std::string method, const std::string& target, std::string body = "",
                Headers headers = Headers()) {
    headers.Add("Authorization", "Bearer tok");
    last_ = MakeRequest(std::move(method), std::move(body), std::move(headers));
    return RunAwaitable(pipeline_.Handle(last_, target));
  }
  Response PostJson(const std::string& target, std::string body) {
    Headers h;
    h.Add("Content-Type", "application/json");
    return Send("POST", target, std::move(body), std::move(h));
  }
  Response PostMultipart(const std::string& target, std::string body) {
    Headers h;
    h.Add("Content-Type", std::string("multipart/form-data; boundary=") + kBoundary);
    return Send("POST", target, std::move(body), std::move(h));
  }
  // Runs a streamed response's body; returns its status.
  Status Drain(Response& r, std::string* body) {
    StringWriter w;
    Status s = RunAwaitable(DrainInto(&r, &w));
    *body = w.body;
    return s;
  }

  testing::FakeAuthClient auth_;
  testing::RecordingDaemonClient daemon_;
  Router router_;
  Pipeline pipeline_;
  Request last_;
};

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

// ---- raw files ------------------------------------------------------------------

TEST_F(FilesRoutesTest, ListFilesIsNewestFirst) {
  daemonpb::ListFilesResponse list;
  *list.add_files() = SampleFile("old", 1, 1600000000);
  *list.add_files() = SampleFile("new", 2, 1700000000);
  *list.add_files() = SampleFile("new2", 3, 1700000000);
  daemon_.list_files.answer = list;
  Response r = Send("GET", "/api/files");
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["id"], "new");
  EXPECT_EQ(j[1]["id"], "new2");
  EXPECT_EQ(j[2]["id"], "old");
  EXPECT_EQ(j[2]["created"], "2020-09-13T12:26:40Z");
}

TEST_F(FilesRoutesTest, GetAndDeleteAnswerTheContractShapes) {
  daemon_.get_file.answer = SampleFile("f1", 5, 1700000000);
  Response got = Send("GET", "/api/files/f1");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(nlohmann::json::parse(got.body)["size"], 5);

  Response del = Send("DELETE", "/api/files/f1");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.body, R"({"id":"f1","message":"File deleted"})");

  daemon_.get_file.answer = NotFoundError("file f2 not found");
  Response missing = Send("GET", "/api/files/f2");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"error":"file f2 not found"})");
}

// ---- downloads ------------------------------------------------------------------

TEST_F(FilesRoutesTest, DownloadStreamsTheWholeFileWithItsHeaders) {
  daemon_.download_script = {HeaderMessage(6, 0, 6, false), DataMessage("abc"), DataMessage("def")};
  Response r = Send("GET", "/api/files/f1/download");
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(daemon_.download_file_calls[0].has_range());
  EXPECT_EQ(daemon_.download_file_calls[0].owner(), "alice");
  EXPECT_EQ(daemon_.download_file_calls[0].id(), "f1");
  EXPECT_EQ(r.headers.Get("Content-Length"), "6");
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r.headers.Get("Content-Disposition"), R"(attachment; filename="report.pdf")");
  EXPECT_EQ(r.headers.Get("ETag"), "\"ab12\"");
  EXPECT_EQ(r.headers.Get("Accept-Ranges"), "bytes");
  EXPECT_FALSE(r.headers.Has("Content-Range"));
  ASSERT_TRUE(r.stream);
  std::string body;
  EXPECT_TRUE(Drain(r, &body).ok());
  EXPECT_EQ(body, "abcdef");
}

TEST_F(FilesRoutesTest, RangeRequestIsForwardedAndAnsweredWith206) {
  daemon_.download_script = {HeaderMessage(1000, 990, 10, true), DataMessage("0123456789")};
  Headers h;
  h.Add("Range", "bytes=-10");
  Response r = Send("GET", "/api/files/f1/download", "", h);
  ASSERT_EQ(r.status, 206);
  ASSERT_TRUE(daemon_.download_file_calls[0].has_range());
  EXPECT_EQ(daemon_.download_file_calls[0].range().offset(), -10);
  EXPECT_EQ(daemon_.download_file_calls[0].range().length(), -1);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes 990-999/1000");
  EXPECT_EQ(r.headers.Get("Content-Length"), "10");
  std::string body;
  EXPECT_TRUE(Drain(r, &body).ok());
  EXPECT_EQ(body, "0123456789");
}

TEST_F(FilesRoutesTest, SeveralRangesAreServedAsTheWholeFile) {
  daemon_.download_script = {HeaderMessage(3, 0, 3, false), DataMessage("abc")};
  Headers h;
  h.Add("Range", "bytes=0-0,2-2");
  Response r = Send("GET", "/api/files/f1/download", "", h);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(daemon_.download_file_calls[0].has_range());
}

TEST_F(FilesRoutesTest, UnsatisfiableRangeIs416WithTheFileSize) {
  daemon_.download_script = {Status(StatusCode::kRangeNotSatisfiable, "range outside file")};
  daemon_.get_file.answer = SampleFile("f1", 1000, 1700000000);
  Headers h;
  h.Add("Range", "bytes=5000-");
  Response r = Send("GET", "/api/files/f1/download", "", h);
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes */1000");
  EXPECT_EQ(r.body, R"({"error":"requested range not satisfiable"})");
  ASSERT_EQ(daemon_.get_file.calls.size(), 1u);
  EXPECT_EQ(daemon_.get_file.calls[0].id(), "f1");
}

TEST_F(FilesRoutesTest, MatchingIfNoneMatchIs304WithoutABody) {
  daemon_.download_script = {HeaderMessage(3, 0, 3, false), DataMessage("abc")};
  Headers h;
  h.Add("If-None-Match", "\"zz\", W/\"ab12\"");
  Response r = Send("GET", "/api/files/f1/download", "", h);
  EXPECT_EQ(r.status, 304);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.headers.Get("ETag"), "\"ab12\"");
  EXPECT_EQ(daemon_.downloads_abandoned, 1);
}

TEST_F(FilesRoutesTest, DownloadErrorsBeforeTheHeaderAreOrdinaryErrors) {
  daemon_.download_script = {NotFoundError("file f1 not found")};
  Response r = Send("GET", "/api/files/f1/download");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":"file f1 not found"})");
}

TEST_F(FilesRoutesTest, DownloadThatBreaksOffOrEndsShortFailsTheBody) {
  struct Case {
    std::vector<Result<daemonpb::DownloadResponse>> script;
  } cases[] = {
      {{HeaderMessage(6, 0, 6, false), DataMessage("abc"), InternalError("chunk hash mismatch")}},
      {{HeaderMessage(6, 0, 6, false), DataMessage("abc")}},
      {{HeaderMessage(2, 0, 2, false), DataMessage("abc")}},
  };
  for (auto& c : cases) {
    daemon_.download_script = c.script;
    Response r = Send("GET", "/api/files/f1/download");
    ASSERT_EQ(r.status, 200);
    std::string body;
    EXPECT_FALSE(Drain(r, &body).ok());
  }
}

TEST_F(FilesRoutesTest, TreeDownloadUsesThePathAndItsSizeFor416) {
  daemon_.download_script = {HeaderMessage(3, 0, 3, false), DataMessage("abc")};
  Response ok = Send("GET", "/api/fs/download?path=%2Fdocs%2Fa.txt");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(daemon_.download_path_calls[0].path(), "/docs/a.txt");

  daemon_.download_script = {Status(StatusCode::kRangeNotSatisfiable, "outside")};
  daemonpb::ListDirectoryResponse one;
  auto* e = one.add_entries();
  e->set_name("a.txt");
  e->set_type("file");
  e->set_size(3);
  daemon_.list_directory.answer = one;
  Headers h;
  h.Add("Range", "bytes=10-");
  Response r = Send("GET", "/api/fs/download?path=/docs/a.txt", "", h);
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes */3");
  EXPECT_EQ(daemon_.list_directory.calls.back().path(), "/docs/a.txt");

  Response missing = Send("GET", "/api/fs/download");
  EXPECT_EQ(missing.status, 400);
}

// ---- tree -----------------------------------------------------------------------

TEST_F(FilesRoutesTest, TreeRoutesAnswerTheContractShapes) {
  daemonpb::MakeDirectoryResponse made;
  made.set_path("/documents/projects");
  daemon_.make_directory.answer = made;
  Response mk = PostJson("/api/fs/mkdir", R"({"Path":"/documents//projects/"})");
  EXPECT_EQ(mk.status, 200);
  EXPECT_EQ(mk.body, R"({"message":"Directory created","path":"/documents/projects"})");
  EXPECT_EQ(daemon_.make_directory.calls[0].path(), "/documents//projects/");

  daemonpb::DeletePathResponse counts;
  counts.set_files_deleted(3);
  counts.set_folders_deleted(2);
  daemon_.delete_path.answer = counts;
  Response del = Send("DELETE", "/api/fs/delete?path=%2Fold");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.body,
            R"({"files_deleted":3,"folders_deleted":2,"message":"Deleted","path":"/old"})");

  daemonpb::MovePathResponse moved;
  moved.set_old_path("/a.txt");
  moved.set_new_path("/b/a.txt");
  daemon_.move_path.answer = moved;
  Response mv = PostJson("/api/fs/move", R"({"old_path":"/a.txt","New_Path":"/b/a.txt"})");
  EXPECT_EQ(mv.status, 200);
  EXPECT_EQ(mv.body, R"({"message":"Moved","new_path":"/b/a.txt","old_path":"/a.txt"})");

  daemonpb::Usage usage;
  usage.set_used_bytes(10);
  usage.set_quota_bytes(100);
  usage.set_files(2);
  usage.set_folders(1);
  daemon_.get_usage.answer = usage;
  Response u = Send("GET", "/api/fs/usage");
  EXPECT_EQ(u.status, 200);
  EXPECT_EQ(u.body, R"({"files":2,"folders":1,"quota_bytes":100,"used_bytes":10})");
}

TEST_F(FilesRoutesTest, ListingDefaultsToTheRootAndDecodesThePathOnce) {
  daemonpb::ListDirectoryResponse ls;
  auto* d = ls.add_entries();
  d->set_name("docs");
  d->set_type("folder");
  d->set_modified(1700000000);
  auto* f = ls.add_entries();
  f->set_name("a.txt");
  f->set_type("file");
  f->set_size(3);
  f->set_modified(1700000000);
  f->set_id("f1");
  daemon_.list_directory.answer = ls;
  Response r = Send("GET", "/api/fs/ls");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(daemon_.list_directory.calls[0].path(), "/");
  EXPECT_EQ(r.body, R"([{"modified":"2023-11-14T22:13:20Z","modified_at":1700000000,"name":"docs",)"
                    R"("size":0,"type":"folder"},{"id":"f1","modified":"2023-11-14T22:13:20Z",)"
                    R"("modified_at":1700000000,"name":"a.txt","size":3,"type":"file"}])");

  Send("GET", "/api/fs/ls?path=%2Fa%2F%2e%2e%2Fb%2525");
  EXPECT_EQ(daemon_.list_directory.calls[1].path(), "/a/../b%25");
}

TEST_F(FilesRoutesTest, TreeRoutesRefuseMissingFields) {
  EXPECT_EQ(PostJson("/api/fs/mkdir", "{}").status, 400);
  EXPECT_EQ(PostJson("/api/fs/move", R"({"old_path":"/a"})").status, 400);
  EXPECT_EQ(Send("DELETE", "/api/fs/delete").status, 400);
  EXPECT_TRUE(daemon_.make_directory.calls.empty());
  EXPECT_TRUE(daemon_.move_path.calls.empty());
  EXPECT_TRUE(daemon_.delete_path.calls.empty());
}

TEST_F(FilesRoutesTest, MeIncludesUsageAndStillAnswersWhenNexusdIsDown) {
  daemonpb::Usage usage;
  usage.set_used_bytes(7);
  usage.set_quota_bytes(-1);
  daemon_.get_usage.answer = usage;
  Response up = Send("GET", "/api/me");
  EXPECT_EQ(up.status, 200);
  EXPECT_EQ(up.body, R"({"created":"2023-11-14T22:13:20Z","created_at":1700000000,)"
                     R"("email":"alice@example.com","usage":{"files":0,"folders":0,)"
                     R"("quota_bytes":-1,"used_bytes":7},"username":"alice"})");

  daemon_.get_usage.answer = UnavailableError("daemon service unavailable");
  Response down = Send("GET", "/api/me");
  EXPECT_EQ(down.status, 200);
  EXPECT_EQ(down.body, R"({"created":"2023-11-14T22:13:20Z","created_at":1700000000,)"
                       R"("email":"alice@example.com","username":"alice"})");
}

// ---- lambda ---------------------------------------------------------------------

TEST_F(FilesRoutesTest, LambdaPassesFieldsAndAnswersEveryOutcomeField) {
  daemonpb::RunLambdaResponse run;
  run.set_stdout("hello from nexus\n");
  run.set_stderr("bad \xff byte");
  run.set_exit_code(0);
  run.set_execution_time_ms(31);
  daemon_.run_lambda.answer = run;
  Response r =
      PostJson("/api/lambda/run", R"j({"code":"print('hello from nexus')","RUNTIME":"python3",)j"
                                  R"("Stdin":"in","timeoutms":5000,"MemoryMb":64})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"execution_time_ms":31,"exit_code":0,"oom_killed":false,"signal":null,)"
                    "\"stderr\":\"bad \xEF\xBF\xBD byte\",\"stderr_truncated\":false,"
                    R"("stdout":"hello from nexus\n","stdout_truncated":false,"timed_out":false})");
  const auto& call = daemon_.run_lambda.calls.at(0);
  EXPECT_EQ(call.owner(), "alice");
  EXPECT_EQ(call.code(), "print('hello from nexus')");
  EXPECT_EQ(call.runtime(), "python3");
  EXPECT_EQ(call.stdin(), "in");
  EXPECT_EQ(call.timeout_ms(), 5000);
  EXPECT_EQ(call.memory_mb(), 64);

  run.set_signal("SIGKILL");
  run.set_exit_code(137);
  run.set_timed_out(true);
  daemon_.run_lambda.answer = run;
  Response killed = PostJson("/api/lambda/run", R"({"Code":"while 1: pass","Runtime":"python3"})");
  auto j = nlohmann::json::parse(killed.body);
  EXPECT_EQ(j["signal"], "SIGKILL");
  EXPECT_EQ(j["exit_code"], 137);
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(daemon_.run_lambda.calls.at(1).timeout_ms(), 0);
}

TEST_F(FilesRoutesTest, LambdaRefusesBadInputBeforeCallingNexusd) {
  const char* bodies[] = {
      R"({"Runtime":"python3"})",
      R"j({"Code":"print(1)"})j",
      R"({"Code":1,"Runtime":"python3"})",
      R"({"Code":"x","Runtime":"python3","TimeoutMs":0})",
      R"({"Code":"x","Runtime":"python3","MemoryMb":-5})",
      R"({"Code":"x","Runtime":"python3","Stdin":5})",
      R"(not json)",
  };
  for (const char* b : bodies) {
    EXPECT_EQ(PostJson("/api/lambda/run", b).status, 400) << b;
  }
  EXPECT_TRUE(daemon_.run_lambda.calls.empty());
}

TEST_F(FilesRoutesTest, LambdaRefusesLimitsBeyondInt64OrNotWholeNamingTheField) {
  const char* numbers[] = {"18446744073709551680",
                           "18446744073709551616",
                           "9223372036854775808",
                           "-9223372036854775809",
                           "-9223372036854775808",
                           "-1",
                           "1e30",
                           "1.5",
                           "64.0"};
  for (const char* field : {"TimeoutMs", "MemoryMb"}) {
    for (const char* number : numbers) {
      const std::string body =
          std::string(R"({"Code":"x","Runtime":"sh",")") + field + "\":" + number + "}";
      Response r = PostJson("/api/lambda/run", body);
      EXPECT_EQ(r.status, 400) << body;
      EXPECT_NE(r.body.find(std::string("'") + field + "'"), std::string::npos)
          << body << " -> " << r.body;
    }
  }
  EXPECT_TRUE(daemon_.run_lambda.calls.empty());
}

TEST_F(FilesRoutesTest, LambdaAcceptsBodiesLargerThanOtherJsonRoutes) {
  const std::string code(8000, '#');  // the fixture's JSON limit is 1024
  Response big = PostJson("/api/lambda/run", R"({"Code":")" + code + R"(","Runtime":"sh"})");
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(daemon_.run_lambda.calls.at(0).code(), code);
  Response other = PostJson("/api/fs/mkdir", R"({"path":")" + code + R"("})");
  EXPECT_EQ(other.status, 413);
  const std::string huge(kLambdaMaxBodyBytes, '#');
  EXPECT_EQ(PostJson("/api/lambda/run", R"({"Code":")" + huge + R"("})").status, 413);
}

TEST_F(FilesRoutesTest, LambdaUnavailableHidesTheRunnersMessage) {
  daemon_.run_lambda.answer =
      UnavailableError("runc not found at /usr/sbin/runc (running as uid 1000)");
  Response r = PostJson("/api/lambda/run", R"({"Code":"x","Runtime":"sh"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"j({"error":"lambda is unavailable on this host (needs root and runc)"})j");

  daemon_.run_lambda.answer =
      UnavailableError("daemon service unavailable").set_reason(Reason::kBackendDown);
  Response down = PostJson("/api/lambda/run", R"({"Code":"x","Runtime":"sh"})");
  EXPECT_EQ(down.body, R"({"error":"daemon service unavailable"})");
}

}  // namespace
}  // namespace nexus::gateway
