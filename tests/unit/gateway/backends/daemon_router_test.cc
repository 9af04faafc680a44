#include "gateway/backends/daemon_router.h"

#include <gtest/gtest.h>

#include "support/gateway_recording_daemon_client.h"
#include "support/gateway_test_util.h"

namespace nexus::gateway {
namespace {

using testing::RecordingDaemonClient;
using testing::RunAwaitable;

Status NodeOn(const std::string& host) {
  return UnavailableError("node 'web' runs on host " + host)
      .set_reason(Reason::kNodeOnOtherHost)
      .set_node_host(host);
}

Status Down() { return UnavailableError("daemon down").set_reason(Reason::kBackendDown); }

daemonpb::HostInfo Host(const std::string& name, int64_t free_mib, bool available = true) {
  daemonpb::HostInfo h;
  h.set_host(name);
  h.set_nodes_available(available);
  h.set_memory_free_bytes(free_mib << 20);
  return h;
}

daemonpb::NodeRef Ref(const std::string& id) {
  daemonpb::NodeRef r;
  r.set_owner("u1");
  r.set_id(id);
  return r;
}

class DaemonRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = std::make_unique<RecordingDaemonClient>();
    auto b = std::make_unique<RecordingDaemonClient>();
    a_ = a.get();
    b_ = b.get();
    a_->get_host.answer = Host("host-a", 1000);
    b_->get_host.answer = Host("host-b", 3000);
    std::vector<RoutedDaemon> daemons;
    daemons.push_back(RoutedDaemon{"unix:/a", std::move(a), nullptr});
    daemons.push_back(RoutedDaemon{"unix:/b", std::move(b), nullptr});
    router_ = MakeDaemonRouter(std::move(daemons));
  }

  RecordingDaemonClient* a_;
  RecordingDaemonClient* b_;
  std::unique_ptr<DaemonClient> router_;
};

TEST_F(DaemonRouterTest, FileCallsTakeTheDaemonsInTurn) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(RunAwaitable(router_->ListDirectory(daemonpb::ListDirectoryRequest())).ok());
  }
  EXPECT_EQ(a_->list_directory.calls.size(), 2u);
  EXPECT_EQ(b_->list_directory.calls.size(), 2u);
}

TEST_F(DaemonRouterTest, AReadThatFindsItsDaemonDownIsAskedOfTheOther) {
  a_->list_directory.answer = Down();
  b_->list_directory.answer = Down();
  daemonpb::ListDirectoryResponse listed;
  listed.add_entries()->set_name("from-b");
  b_->list_directory.answer = listed;
  for (int i = 0; i < 2; ++i) {
    auto got = RunAwaitable(router_->ListDirectory(daemonpb::ListDirectoryRequest()));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->entries_size(), 1);
    EXPECT_EQ(got->entries(0).name(), "from-b");
  }
}

TEST_F(DaemonRouterTest, AWriteThatFindsItsDaemonDownIsNotSentTwice) {
  a_->move_path.answer = Down();
  b_->move_path.answer = Down();
  auto got = RunAwaitable(router_->MovePath(daemonpb::MovePathRequest()));
  EXPECT_EQ(got.status().reason(), Reason::kBackendDown);
  EXPECT_EQ(a_->move_path.calls.size() + b_->move_path.calls.size(), 1u);
}

TEST_F(DaemonRouterTest, ADownloadWhoseDaemonIsDownStartsAgainOnTheOther) {
  a_->download_script = {Result<daemonpb::DownloadResponse>(Down())};
  daemonpb::DownloadResponse data;
  data.set_data("bytes");
  b_->download_script = {data};
  daemonpb::DownloadPathRequest r;
  r.set_path("/f");
  auto call = router_->DownloadPath(r);  // A's turn first
  std::string got;
  auto read = RunAwaitable(call->ReadData(&got));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read);
  EXPECT_EQ(got, "bytes");
  ASSERT_EQ(b_->download_path_calls.size(), 1u);
  EXPECT_EQ(b_->download_path_calls[0].path(), "/f") << "the same request";
}

TEST_F(DaemonRouterTest, ADownloadThatFailsAfterItsFirstMessageIsNotStartedAgain) {
  daemonpb::DownloadResponse data;
  data.set_data("part");
  a_->download_script = {data, Result<daemonpb::DownloadResponse>(Down())};
  auto call = router_->DownloadFile(daemonpb::DownloadFileRequest());
  std::string got;
  ASSERT_TRUE(RunAwaitable(call->ReadData(&got)).ok());
  auto second = RunAwaitable(call->ReadData(&got));
  EXPECT_EQ(second.status().reason(), Reason::kBackendDown);
  EXPECT_TRUE(b_->download_file_calls.empty()) << "bytes went out: no second start";
}

TEST_F(DaemonRouterTest, ANodeCallGoesOnToTheDaemonOfTheNodesHostAndIsRememberedThere) {
  // Whichever daemon is asked first, the node lives on host-a.
  b_->start_node.answer = NodeOn("host-a");
  daemonpb::Node started;
  started.set_id("web");
  started.set_status("Running");
  a_->start_node.answer = started;
  // One call first, so that the node's first call is B's turn.
  ASSERT_TRUE(RunAwaitable(router_->GetUsage(daemonpb::GetUsageRequest())).ok());
  ASSERT_EQ(a_->get_usage.calls.size(), 1u);
  for (int i = 0; i < 3; ++i) {
    auto got = RunAwaitable(router_->StartNode(Ref("web")));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->status(), "Running");
  }
  EXPECT_EQ(a_->start_node.calls.size(), 3u);
  // Only the first call went to B; after that the router knew.
  EXPECT_EQ(b_->start_node.calls.size(), 1u);
}

TEST_F(DaemonRouterTest, ANodeOnAHostNoDaemonHereServesIs503NotALoop) {
  a_->exec_node.answer = NodeOn("host-c");
  b_->exec_node.answer = NodeOn("host-c");
  daemonpb::ExecNodeRequest r;
  r.set_owner("u1");
  r.set_id("web");
  auto got = RunAwaitable(router_->ExecNode(r));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(got.status().message().find("host-c"), std::string::npos);
  EXPECT_EQ(a_->exec_node.calls.size() + b_->exec_node.calls.size(), 1u);
}

TEST_F(DaemonRouterTest, ADaemonThatCannotRunNodesPassesANodeCallOn) {
  a_->get_node.answer = UnavailableError("no runc").set_reason(Reason::kNodesUnsupportedHere);
  daemonpb::Node node;
  node.set_id("web");
  b_->get_node.answer = node;
  auto got = RunAwaitable(router_->GetNode(Ref("web")));  // A's turn first
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->id(), "web");
}

TEST_F(DaemonRouterTest, ANodeWhoseHostIsDownIs503) {
  b_->stop_node.answer = NodeOn("host-a");
  a_->stop_node.answer = Down();
  a_->get_host.answer = Host("host-a", 1000);
  auto got = RunAwaitable(router_->StopNode(Ref("web")));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
}

TEST_F(DaemonRouterTest, ANewNodeGoesToTheHostWithTheMostFreeMemory) {
  daemonpb::CreateNodeRequest r;
  r.set_owner("u1");
  r.set_name("web");
  r.set_memory_mb(512);
  ASSERT_TRUE(RunAwaitable(router_->CreateNode(r)).ok());
  EXPECT_EQ(b_->create_node.calls.size(), 1u);
  EXPECT_EQ(a_->create_node.calls.size(), 0u);
  // And later calls for it go straight there.
  ASSERT_TRUE(RunAwaitable(router_->StartNode(Ref("web"))).ok());
  EXPECT_EQ(b_->start_node.calls.size(), 1u);
  EXPECT_EQ(a_->start_node.calls.size(), 0u);
}

TEST_F(DaemonRouterTest, AHostWithoutRoomOrWithoutNodesIsPassedOver) {
  b_->get_host.answer = Host("host-b", 3000, /*available=*/false);
  daemonpb::CreateNodeRequest r;
  r.set_memory_mb(512);
  ASSERT_TRUE(RunAwaitable(router_->CreateNode(r)).ok());
  EXPECT_EQ(a_->create_node.calls.size(), 1u);

  r.set_memory_mb(2000);  // more than host-a's 1000 MiB free
  auto got = RunAwaitable(router_->CreateNode(r));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kQuotaExceeded);
  EXPECT_EQ(a_->create_node.calls.size(), 1u);
  EXPECT_EQ(b_->create_node.calls.size(), 0u);
}

TEST_F(DaemonRouterTest, ACreateWhereNoDaemonRunsNodesIs503) {
  a_->get_host.answer = Host("host-a", 0, /*available=*/false);
  b_->get_host.answer = Host("host-b", 0, /*available=*/false);
  auto got = RunAwaitable(router_->CreateNode(daemonpb::CreateNodeRequest()));
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(got.status().reason(), Reason::kNodesUnsupportedHere);
}

TEST_F(DaemonRouterTest, ACreateWithNoDaemonAnsweringIs503) {
  a_->get_host.answer = Down();
  b_->get_host.answer = Down();
  auto got = RunAwaitable(router_->CreateNode(daemonpb::CreateNodeRequest()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(a_->create_node.calls.size() + b_->create_node.calls.size(), 0u);
}

}  // namespace
}  // namespace nexus::gateway
