// DaemonServices end to end: health, the services it leaves unregistered
// (gRPC answers UNIMPLEMENTED), and the owner every RPC requires.
#include "daemon/rpc/services.h"

#include "unit/daemon/rpc/rpc_test_bench.h"

namespace nexus::daemon {
namespace {

using namespace rpc_bench;  // NOLINT: the bench of this folder

// ---- health and unwired RPCs ---------------------------------------------------

TEST_F(DaemonRpcTest, HealthAnswersOkWhenTheDatabaseIsUsable) {
  grpc::ClientContext ctx;
  v1::HealthResponse resp;
  grpc::Status s = stub().health->Check(&ctx, v1::HealthRequest(), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.status(), "ok");
}

TEST_F(DaemonRpcTest, HealthAnswersUnavailableWhenTheSchemaIsGone) {
  metadata_db_->exec("DROP TABLE schema_migrations");
  grpc::ClientContext ctx;
  v1::HealthResponse resp;
  grpc::Status s = stub().health->Check(&ctx, v1::HealthRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnavailable);
}

TEST_F(DaemonRpcTest, HealthAnswersWhileUploadsStallMidStream) {
  // Each open upload holds a server thread until its stream ends.
  constexpr int kStalled = 8;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientWriter<v1::UploadFileRequest>>> writers;
  v1::FileInfo info;
  for (int i = 0; i < kStalled; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    writers.push_back(stub().files->UploadFile(contexts.back().get(), &info));
    v1::UploadFileRequest msg;
    *msg.mutable_header() = Header("alice", "slow" + std::to_string(i));
    ASSERT_TRUE(writers.back()->Write(msg));
    msg.set_data("a first few bytes");
    ASSERT_TRUE(writers.back()->Write(msg));
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::HealthResponse resp;
  grpc::Status s = stub().health->Check(&ctx, v1::HealthRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (auto& ctx : contexts) ctx->TryCancel();
  for (auto& w : writers) EXPECT_EQ(w->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(DaemonRpcTest, NodeRpcsAnswerUnimplementedWhenNoNodesServiceIsRegistered) {
  v1::CreateNodeRequest create;
  create.set_owner("alice");
  v1::Node node;
  grpc::ClientContext c1;
  grpc::Status s1 = stub().nodes->CreateNode(&c1, create, &node);
  v1::ListNodesRequest list;
  list.set_owner("alice");
  v1::ListNodesResponse nodes;
  grpc::ClientContext c2;
  grpc::Status s2 = stub().nodes->ListNodes(&c2, list, &nodes);
  for (const grpc::Status& s : {s1, s2}) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnimplemented);
  }
}

TEST(DaemonServicesWithoutDomainTest, ServicesWhoseDomainObjectIsAbsentAnswerUnimplemented) {
  testing::TempDir dir;
  testing::TestHealth health(dir);
  ASSERT_TRUE(health.get());
  TestServer server(dir.File("d.sock"), {.health = health.get()});
  ASSERT_TRUE(server.started());
  v1::ListFilesRequest files_req;
  files_req.set_owner("alice");
  v1::ListFilesResponse files;
  v1::GetUsageRequest usage_req;
  usage_req.set_owner("alice");
  v1::Usage usage;
  v1::RunLambdaRequest lambda_req;
  lambda_req.set_owner("alice");
  v1::RunLambdaResponse lambda;
  grpc::ClientContext c1, c2, c3, c4;
  v1::HealthResponse health_resp;
  const grpc::Status cases[] = {
      server.stub().files->ListFiles(&c1, files_req, &files),
      server.stub().tree->GetUsage(&c2, usage_req, &usage),
      server.stub().lambda->RunLambda(&c3, lambda_req, &lambda),
  };
  for (const grpc::Status& s : cases) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnimplemented);
  }
  EXPECT_TRUE(server.stub().health->Check(&c4, v1::HealthRequest(), &health_resp).ok());
}

// ---- owner -----------------------------------------------------------------------

TEST_F(DaemonRpcTest, EveryRpcRefusesAnEmptyOwner) {
  auto unary = [&](auto call) {
    grpc::ClientContext ctx;
    return call(ctx);
  };
  struct Case {
    const char* rpc;
    grpc::Status status;
  } cases[] = {
      {"UploadFile", Upload(Header("", "a.txt"), {"abc"}).status},
      {"ListFiles", unary([&](grpc::ClientContext& c) {
         v1::ListFilesResponse r;
         return stub().files->ListFiles(&c, v1::ListFilesRequest(), &r);
       })},
      {"GetFile", unary([&](grpc::ClientContext& c) {
         v1::GetFileRequest q;
         q.set_id("x");
         v1::FileInfo r;
         return stub().files->GetFile(&c, q, &r);
       })},
      {"DeleteFile", unary([&](grpc::ClientContext& c) {
         v1::DeleteFileRequest q;
         q.set_id("x");
         v1::DeleteFileResponse r;
         return stub().files->DeleteFile(&c, q, &r);
       })},
      {"DownloadFile", DownloadFile("", "x").status},
      {"DownloadPath", DownloadPath("", "/a").status},
      {"MakeDirectory", unary([&](grpc::ClientContext& c) {
         v1::MakeDirectoryRequest q;
         q.set_path("/a");
         v1::MakeDirectoryResponse r;
         return stub().tree->MakeDirectory(&c, q, &r);
       })},
      {"ListDirectory", unary([&](grpc::ClientContext& c) {
         v1::ListDirectoryRequest q;
         q.set_path("/");
         v1::ListDirectoryResponse r;
         return stub().tree->ListDirectory(&c, q, &r);
       })},
      {"DeletePath", unary([&](grpc::ClientContext& c) {
         v1::DeletePathRequest q;
         q.set_path("/a");
         v1::DeletePathResponse r;
         return stub().tree->DeletePath(&c, q, &r);
       })},
      {"MovePath", unary([&](grpc::ClientContext& c) {
         v1::MovePathRequest q;
         q.set_old_path("/a");
         q.set_new_path("/b");
         v1::MovePathResponse r;
         return stub().tree->MovePath(&c, q, &r);
       })},
      {"GetUsage", unary([&](grpc::ClientContext& c) {
         v1::Usage r;
         return stub().tree->GetUsage(&c, v1::GetUsageRequest(), &r);
       })},
  };
  for (const Case& tc : cases) {
    EXPECT_EQ(tc.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << tc.rpc << ": " << tc.status.error_message();
    EXPECT_EQ(FromGrpcStatus(tc.status).code(), StatusCode::kInvalidArgument) << tc.rpc;
  }
  EXPECT_EQ(CountFiles(chunks_dir_), 0u);
}

TEST(HealthTest, ProbesTheMetadataStoreAndHidesItsErrorText) {
  testing::TempDir dir;
  testing::FakeClock clock;
  // A store on a migrated database answers; one whose database lost its
  // schema (or its server) makes nexusd unhealthy, without its error text.
  auto good_db = testing::OpenTestDatabase(dir);
  ASSERT_TRUE(good_db);
  sql::SqliteConnection good_conn(*good_db);
  storage::MetadataStore good(good_conn, clock);
  EXPECT_TRUE(Health(good).Check().ok());

  SQLite::Database bare(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  sql::SqliteConnection bare_conn(bare);
  storage::MetadataStore broken(bare_conn, clock);
  Status s = Health(broken).Check();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "health check: the metadata database does not answer");
}

}  // namespace
}  // namespace nexus::daemon
