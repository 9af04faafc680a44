// The VFS tree routes and /me without a socket: the contract shapes, path
// decoding, missing fields, and usage when nexusd is down.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "unit/gateway/api/files_routes_rig.h"

namespace nexus::gateway {
namespace {

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

}  // namespace
}  // namespace nexus::gateway
