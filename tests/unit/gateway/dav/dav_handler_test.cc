// The WebDAV endpoint through Pipeline::Handle with a scripted nexusd: the
// answers that need no real tree (the e2e tests drive a real one).
#include "gateway/dav/dav_handler.h"

#include <gtest/gtest.h>

#include "gateway/http/pipeline.h"
#include "support/gateway_fake_auth_client.h"
#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway::dav {
namespace {

using nexus::gateway::testing::MakeRequest;
using nexus::gateway::testing::RunAwaitable;

daemonpb::DirEntry Entry(std::string name, std::string type, int64_t size = 0) {
  daemonpb::DirEntry e;
  e.set_name(std::move(name));
  e.set_type(std::move(type));
  e.set_size(size);
  e.set_modified(1700000000);
  if (e.type() == "file") e.set_sha256("ab12" + std::string(60, '0'));
  return e;
}

class DavHandlerTest : public ::testing::Test {
 protected:
  DavHandlerTest() : pipeline_(router_, auth_, PipelineOptions{1024}) {
    RegisterDavRoutes(router_, daemon_);
    auth_.AcceptToken("tok", "alice", "alice@example.com", 1700000000);
  }

  Response Send(std::string method, const std::string& target, std::string body = "",
                Headers headers = Headers(), bool authenticate = true) {
    if (authenticate) headers.Add("Authorization", "Bearer tok");
    last_ = MakeRequest(std::move(method), std::move(body), std::move(headers));
    return RunAwaitable(pipeline_.Handle(last_, target));
  }

  nexus::gateway::testing::FakeAuthClient auth_;
  nexus::gateway::testing::RecordingDaemonClient daemon_;
  Router router_;
  Pipeline pipeline_;
  Request last_;
};

TEST_F(DavHandlerTest, OptionsAdvertisesTheDavClassAndMethods) {
  Response r = Send("OPTIONS", "/dav/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("DAV"), "1, 2");
  EXPECT_NE(r.headers.Get("Allow").find("PROPFIND"), std::string_view::npos);
}

TEST_F(DavHandlerTest, AnUnauthenticatedRequestIsChallengedForBasic) {
  Response r = Send("PROPFIND", "/remote.php/webdav/", "", Headers(), false);
  EXPECT_EQ(r.status, 401);
  EXPECT_TRUE(r.headers.Get("WWW-Authenticate").starts_with("Basic "))
      << r.headers.Get("WWW-Authenticate");
  EXPECT_TRUE(daemon_.rpcs.empty());
}

TEST_F(DavHandlerTest, PropfindOfInfiniteDepthIsRefusedWithThePrecondition) {
  Headers h;
  h.Add("Depth", "infinity");
  Response r = Send("PROPFIND", "/dav/", "", h);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("propfind-finite-depth"), std::string::npos);
  Response absent = Send("PROPFIND", "/dav/");
  EXPECT_EQ(absent.status, 403);
  EXPECT_TRUE(daemon_.rpcs.empty());
}

TEST_F(DavHandlerTest, PropfindDepthOneListsTheFolderAndItsEntries) {
  daemon_.stat_path.answer = Entry("docs", "folder");
  daemonpb::ListDirectoryResponse ls;
  *ls.add_entries() = Entry("sub dir", "folder");
  *ls.add_entries() = Entry("r\xC3\xA9sum\xC3\xA9.txt", "file", 42);
  daemon_.list_directory.answer = ls;
  Headers h;
  h.Add("Depth", "1");
  Response r = Send("PROPFIND", "/dav/docs", "", h);
  ASSERT_EQ(r.status, 207) << r.body;
  EXPECT_EQ(daemon_.stat_path.calls[0].path(), "/docs");
  EXPECT_EQ(daemon_.stat_path.calls[0].owner(), "alice");
  EXPECT_NE(r.body.find("<D:href>/dav/docs/</D:href>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<D:href>/dav/docs/sub%20dir/</D:href>"), std::string::npos);
  EXPECT_NE(r.body.find("<D:href>/dav/docs/r%C3%A9sum%C3%A9.txt</D:href>"), std::string::npos);
  EXPECT_NE(r.body.find("<D:getcontentlength>42</D:getcontentlength>"), std::string::npos);
  // The quotes of the entity tag, escaped as the XML writer does.
  EXPECT_NE(r.body.find("<D:getetag>&quot;ab12" + std::string(28, '0') + "&quot;</D:getetag>"),
            std::string::npos);
  EXPECT_NE(r.body.find("<D:collection/>"), std::string::npos);
  EXPECT_NE(r.body.find("Tue, 14 Nov 2023 22:13:20 GMT"), std::string::npos);
}

TEST_F(DavHandlerTest, PropfindReportsUnknownPropertiesAsNotFound) {
  daemon_.stat_path.answer = Entry("a.txt", "file", 3);
  Headers h;
  h.Add("Depth", "0");
  Response r = Send("PROPFIND", "/dav/a.txt",
                    R"(<D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/>)"
                    R"(<Q:nope xmlns:Q="urn:q"/></D:prop></D:propfind>)",
                    h);
  ASSERT_EQ(r.status, 207) << r.body;
  EXPECT_NE(r.body.find("HTTP/1.1 404 Not Found"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<X:nope xmlns:X=\"urn:q\"/>"), std::string::npos) << r.body;
}

TEST_F(DavHandlerTest, BadInputIsAClear4xxBeforeNexusdIsAsked) {
  struct Case {
    const char* method;
    const char* target;
    const char* header;
    const char* value;
    const char* body;
    int status;
  } cases[] = {
      {"PROPFIND", "/dav/a%2Fb", "Depth", "0", "", 400},
      {"PROPFIND", "/dav/a", "Depth", "2", "", 400},
      {"PROPFIND", "/dav/a", "Depth", "0", "<not xml", 400},
      {"COPY", "/dav/a", "Depth", "0", "", 400},  // no Destination
      {"MOVE", "/dav/a", "Destination", "http://other.example/elsewhere", "", 403},
      {"BREW", "/dav/a", "X", "1", "", 405},
  };
  for (const auto& c : cases) {
    daemon_.rpcs.clear();
    Headers h;
    h.Add(c.header, c.value);
    Response r = Send(c.method, c.target, c.body, h);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << ": " << r.body;
    if (c.status != 400 || std::string_view(c.body).empty()) {
      EXPECT_TRUE(daemon_.rpcs.empty()) << c.method << " " << c.target;
    }
  }
}

TEST_F(DavHandlerTest, MkcolUnderAMissingParentIsAConflict) {
  daemon_.stat_path.answer = Status(StatusCode::kNotFound, "not found");
  Response r = Send("MKCOL", "/dav/missing/new");
  EXPECT_EQ(r.status, 409);
  EXPECT_TRUE(daemon_.make_directory.calls.empty());
}

TEST_F(DavHandlerTest, MoveOntoAnExistingTargetWithOverwriteFalseFails) {
  daemon_.stat_path.answer = Entry("x", "folder");
  Headers h;
  h.Add("Destination", "/dav/y");
  h.Add("Overwrite", "F");
  Response r = Send("MOVE", "/dav/x", "", h);
  EXPECT_EQ(r.status, 412);
  EXPECT_TRUE(daemon_.move_path.calls.empty());
}

TEST_F(DavHandlerTest, CopyOntoAnExistingTargetReplacesItInOneCall) {
  daemon_.stat_path.answer = Entry("x", "folder");
  Headers h;
  h.Add("Destination", "http://127.0.0.1/remote.php/webdav/y");
  Response r = Send("COPY", "/dav/x", "", h);
  EXPECT_EQ(r.status, 204);
  ASSERT_EQ(daemon_.copy_path.calls.size(), 1u);
  EXPECT_EQ(daemon_.copy_path.calls[0].from_path(), "/x");
  EXPECT_EQ(daemon_.copy_path.calls[0].to_path(), "/y");
  EXPECT_TRUE(daemon_.copy_path.calls[0].overwrite());
  EXPECT_TRUE(daemon_.copy_path.calls[0].recursive());
}

TEST_F(DavHandlerTest, PropfindIsAnsweredAtTheNextcloudAlias) {
  daemon_.stat_path.answer = Entry("", "folder");
  Headers h;
  h.Add("Depth", "0");
  Response r = Send("PROPFIND", "/remote.php/webdav/", "", h);
  ASSERT_EQ(r.status, 207);
  EXPECT_NE(r.body.find("<D:href>/remote.php/webdav/</D:href>"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace nexus::gateway::dav
