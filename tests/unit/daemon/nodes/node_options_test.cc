// Node options from the config and create requests checked against them.
#include "daemon/nodes/node_options.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "node_manager_rig.h"

namespace nexus::daemon::runtime {
namespace {

namespace fs = std::filesystem;

// ---- Validation -----------------------------------------------------------------

TEST(ValidateCreateNodeTest, AcceptsGoodRequestsAndNamesTheFieldOfBadOnes) {
  NodeOptions o = TestOptions("/data");
  struct Case {
    CreateNodeRequest request;
    std::string error;  // "" = valid; else a substring of the message
  } cases[] = {
      {{"alice", "worker1", 256, 512, "1G"}, ""},
      {{"alice", "a", 16, 2, "64M"}, ""},
      {{"alice", "0-node-9", 2048, 262144, "4G"}, ""},
      {{"alice", std::string(32, 'x'), 0, 0, ""}, ""},  // defaults
      {{"alice", std::string(33, 'x'), 256, 512, "1G"}, "name"},
      {{"alice", "", 256, 512, "1G"}, "name"},
      {{"alice", "-lead", 256, 512, "1G"}, "name"},
      {{"alice", "Upper", 256, 512, "1G"}, "name"},
      {{"alice", "under_score", 256, 512, "1G"}, "name"},
      {{"alice", "dot.ted", 256, 512, "1G"}, "name"},
      {{"alice", "sp ace", 256, 512, "1G"}, "name"},
      // Bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) would let a
      // name show as something else: the name charset has no room for them.
      {{"alice", "evil\u202egpj", 256, 512, "1G"}, "name"},
      {{"alice", "\u202aworker", 256, 512, "1G"}, "name"},
      {{"alice", "worker\u2066", 256, 512, "1G"}, "name"},
      {{"alice", "wo\u2069rker", 256, 512, "1G"}, "name"},
      {{"alice", "worker1", 15, 512, "1G"}, "memory_mb"},
      {{"alice", "worker1", -1, 512, "1G"}, "memory_mb"},
      {{"alice", "worker1", 2049, 512, "1G"}, "memory_mb"},
      {{"alice", "worker1", 256, 1, "1G"}, "cpu_shares"},
      {{"alice", "worker1", 256, 262145, "1G"}, "cpu_shares"},
      {{"alice", "worker1", 256, -5, "1G"}, "cpu_shares"},
      {{"alice", "worker1", 256, 512, "63M"}, "storage_size"},
      {{"alice", "worker1", 256, 512, "5G"}, "storage_size"},
      {{"alice", "worker1", 256, 512, "lots"}, "storage_size"},
      {{"alice", "worker1", 256, 512, "-1G"}, "storage_size"},
      {{"", "worker1", 256, 512, "1G"}, "owner"},
  };
  for (const auto& c : cases) {
    auto v = ValidateCreateNode(c.request, o);
    if (c.error.empty()) {
      EXPECT_TRUE(v.ok()) << c.request.name << ": " << v.status().ToString();
    } else {
      ASSERT_FALSE(v.ok()) << c.request.name << " should fail on " << c.error;
      EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(v.status().message().rfind(c.error, 0), 0u)
          << "message should start with the field: " << v.status().message();
    }
  }
}

TEST(ValidateCreateNodeTest, FillsDefaultsForMissingFields) {
  auto v = ValidateCreateNode({"alice", "n", 0, 0, ""}, TestOptions("/data"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->memory_mb, 256);
  EXPECT_EQ(v->cpu_shares, 1024);
  EXPECT_EQ(v->storage_size, "1G");
  EXPECT_EQ(v->storage_bytes, 1LL << 30);
}

TEST(NodeOptionsFromConfigTest, ResolvesPathsAndRejectsBadBounds) {
  Config c;
  c.data_dir = "/srv/nexus/";
  c.instance = "prod";
  auto o = NodeOptionsFromConfig(c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->data_dir, "/srv/nexus");
  auto net = NetworkOptionsFromConfig(c);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  EXPECT_EQ(net->bridge, "nx-prod");
  EXPECT_EQ(net->name, "nexus-prod");
  EXPECT_EQ(net->ipam_dir, "/srv/nexus/nodes/ipam");
  EXPECT_EQ(net->subnet, "10.0.42.0/24");

  // The per-user limits' defaults, and the firewall of the instance.
  EXPECT_EQ(o->user_max_nodes, 10);
  EXPECT_EQ(o->user_max_memory_mb, 8192);
  EXPECT_EQ(o->user_max_storage_bytes, 50LL << 30);
  EXPECT_EQ(o->disk_reserve_bytes, 1LL << 30);
  auto firewall = FirewallOptionsFromConfig(c);
  ASSERT_TRUE(firewall.ok()) << firewall.status().ToString();
  EXPECT_EQ(firewall->table, "nexus-prod");
  EXPECT_EQ(firewall->bridge, "nx-prod");
  EXPECT_FALSE(firewall->outbound);
  EXPECT_TRUE(firewall->host_ports.empty());
  Config open = c;
  open.network.ip_masq = 1;
  open.network.host_ports = "8080,53";
  firewall = FirewallOptionsFromConfig(open);
  ASSERT_TRUE(firewall.ok()) << firewall.status().ToString();
  EXPECT_TRUE(firewall->outbound);
  EXPECT_EQ(firewall->host_ports, (std::vector<int>{53, 8080}));

  Config small = c;
  small.nodes.max_storage_bytes = 128LL << 20;
  auto clamped = NodeOptionsFromConfig(small);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->default_storage_size, "128M");

  struct Case {
    std::function<void(Config&)> change;
    std::string error;
  } cases[] = {
      {[](Config& x) { x.nodes.max_memory_mb = 8; }, "nodes.max_memory_mb"},
      {[](Config& x) { x.nodes.max_storage_bytes = 1 << 20; }, "nodes.max_storage_bytes"},
      {[](Config& x) { x.nodes.pids_limit = 0; }, "nodes.pids_limit"},
      {[](Config& x) { x.nodes.metrics_interval_seconds = 0; }, "nodes.metrics_interval"},
      {[](Config& x) { x.nodes.metrics_history_seconds = 1; }, "nodes.metrics_history"},
      {[](Config& x) { x.network.subnet = "10.0.42.1/24"; }, "network.subnet"},
      {[](Config& x) { x.network.bridge = "much-too-long-bridge"; }, "network.bridge"},
      {[](Config& x) { x.network.host_gateway = 0, x.network.ip_masq = 1; }, "network.ip_masq"},
      {[](Config& x) { x.network.host_ports = "53,http"; }, "network.host_ports"},
      {[](Config& x) { x.nodes.user_max_nodes = 0; }, "nodes.user_max_nodes"},
      {[](Config& x) { x.nodes.user_max_memory_mb = -1; }, "nodes.user_max_memory_mb"},
      {[](Config& x) { x.nodes.user_max_storage_bytes = 0; }, "nodes.user_max_storage_bytes"},
      {[](Config& x) { x.nodes.disk_reserve_bytes = -1; }, "nodes.disk_reserve_bytes"},
  };
  for (const auto& k : cases) {
    Config bad = c;
    k.change(bad);
    Status s = NodeOptionsFromConfig(bad).status();
    if (s.ok()) s = NetworkOptionsFromConfig(bad).status();
    if (s.ok()) s = FirewallOptionsFromConfig(bad).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << k.error;
    EXPECT_NE(s.message().find(k.error), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace nexus::daemon::runtime
