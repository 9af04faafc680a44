// The raw file routes and downloads without a socket: listing, get and
// delete, and downloads (whole, ranges, 304, errors before and during the
// body) from a scripted nexusd.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "unit/gateway/api/files_routes_rig.h"

namespace nexus::gateway {
namespace {

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

}  // namespace
}  // namespace nexus::gateway
