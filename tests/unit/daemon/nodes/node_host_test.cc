// NodeManager::ForHost on a host without the runtime or the CNI plugins, its
// files in a MemoryEnv.
#include <gtest/gtest.h>

#include "node_manager_rig.h"

namespace nexus::daemon::runtime {
namespace {

TEST(NodeManagerForHostTest, MissingPluginsOrRuntimeMakeNodesUnavailableNotNexusd) {
  MemoryEnv files;
  Config config;
  config.data_dir = "/var/lib/nexus";
  config.instance = "unit";
  config.nodes.runtime = "no-such-oci-runtime";
  config.network.cni_path = "/var/lib/nexus/cni";  // no plugins there
  config.daemon.host_name = "unit-host";
  auto db = sql::OpenMetadataDatabase(":memory:", NodeMigrations());
  ASSERT_TRUE(db.ok());
  FakeClock clock;
  auto manager = NodeManager::ForHost(config, **db, clock, &files);
  ASSERT_TRUE(manager.ok()) << "nexusd starts anyway: " << manager.status().ToString();
  const Status& why = (*manager)->availability();
  EXPECT_EQ(why.code(), StatusCode::kUnavailable);
  EXPECT_EQ(why.message().rfind("nodes need root, runc and the CNI plugins (", 0), 0u)
      << why.message();
  EXPECT_NE(why.message().find("no-such-oci-runtime not found"), std::string::npos);
  EXPECT_NE(why.message().find("no CNI plugin /var/lib/nexus/cni/bridge"), std::string::npos);
  EXPECT_EQ((*manager)->Create({"alice", "n", 0, 0, ""}).status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(files.Paths().empty()) << "an unavailable engine touches nothing";
}

}  // namespace
}  // namespace nexus::daemon::runtime
