#include "daemon/service.h"

#include <gtest/gtest.h>

#include <memory>

#include "common/grpc_status.h"
#include "daemon/database.h"
#include "daemon/health.h"
#include "daemon/migrations.h"
#include "unit/daemon/temp_dir.h"

namespace nexus::daemon {
namespace {

// The adapter's methods are plain virtual functions; calling them directly
// tests the decode/encode without a socket.
class DaemonServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = OpenDatabase(dir_.File("nexus.db"), DaemonMigrations());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    health_ = std::make_unique<Health>(*db_);
    service_ = std::make_unique<DaemonService>(DaemonService::Deps{.health = health_.get()});
  }

  testing::TempDir dir_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<Health> health_;
  std::unique_ptr<DaemonService> service_;
};

TEST_F(DaemonServiceTest, HealthAnswersOkWhenTheDatabaseIsUsable) {
  v1::HealthRequest req;
  v1::HealthResponse resp;
  grpc::Status s = service_->Health(nullptr, &req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.status(), "ok");
}

TEST_F(DaemonServiceTest, HealthAnswersUnavailableWhenTheSchemaIsGone) {
  db_->exec("DROP TABLE schema_migrations");
  v1::HealthRequest req;
  v1::HealthResponse resp;
  grpc::Status s = service_->Health(nullptr, &req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(resp.status().empty());
}

TEST_F(DaemonServiceTest, UnbuiltRpcsAnswerUnimplementedWithTheNexusCode) {
  v1::CreateNodeRequest node_req;
  v1::Node node;
  v1::ListFilesRequest files_req;
  v1::ListFilesResponse files;
  v1::RunLambdaRequest lambda_req;
  v1::RunLambdaResponse lambda;
  const grpc::Status cases[] = {
      service_->CreateNode(nullptr, &node_req, &node),
      service_->ListFiles(nullptr, &files_req, &files),
      service_->RunLambda(nullptr, &lambda_req, &lambda),
  };
  for (const grpc::Status& s : cases) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED) << s.error_message();
    EXPECT_EQ(FromGrpcStatus(s).code(), StatusCode::kUnimplemented) << s.error_message();
    EXPECT_FALSE(s.error_message().empty());
  }
}

}  // namespace
}  // namespace nexus::daemon
