// The nodes' nftables rules: the script NftRuleset writes (golden), the
// host-ports setting, names that must never reach the script, NftFirewall
// driving a fake `nft`, and — with root and nft — that the real nft accepts
// the script (`nft -c`: checked, nothing installed).
#include "daemon/nodes/node_firewall.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "support/runtime_fake_process.h"

namespace nexus::daemon::runtime {
namespace {

using testing::FakeProcessRunner;
using testing::FakeProcessScript;

FirewallOptions Options() {
  FirewallOptions o;
  o.table = "nexus-test";
  o.bridge = "nx-test";
  o.host_ports = {53, 8080};
  return o;
}

const std::vector<FirewallPort> kPorts = {
    {"bob", "veth2222"},
    {"alice", "veth1111"},
    {"bob", "veth3333"},
};

constexpr const char kGolden[] = R"(table bridge nexus-test
delete table bridge nexus-test
table bridge nexus-test {
	chain owner_0 {
		oifname { "veth1111" } accept
		drop
	}
	chain owner_1 {
		oifname { "veth2222", "veth3333" } accept
		drop
	}
	set ports {
		type ifname
		elements = { "veth1111", "veth2222", "veth3333" }
	}
	map owners {
		type ifname : verdict
		elements = { "veth1111" : jump owner_0, "veth2222" : jump owner_1, "veth3333" : jump owner_1 }
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname vmap @owners
		oifname @ports drop
	}
}
table inet nexus-test
delete table inet nexus-test
table inet nexus-test {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname != "nx-test" accept
		ct state established,related accept
		tcp dport { 53, 8080 } accept
		udp dport { 53, 8080 } accept
		drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "nx-test" oifname "nx-test" accept
		oifname "nx-test" ct state established,related accept
		oifname "nx-test" drop
		iifname "nx-test" drop
	}
}
)";

constexpr const char kRemove[] = R"(table bridge nexus-test
delete table bridge nexus-test
table inet nexus-test
delete table inet nexus-test
)";

TEST(NftRulesetTest, GroupsPortsByOwnerAndShutsTheHostAndOtherOwnersOut) {
  auto script = NftRuleset(Options(), kPorts);
  ASSERT_TRUE(script.ok()) << script.status().ToString();
  EXPECT_EQ(*script, kGolden);
}

TEST(NftRulesetTest, WithOutboundAndNoHostPortsNodesRouteOutButReachNoHostPort) {
  FirewallOptions o = Options();
  o.outbound = true;
  o.host_ports.clear();
  auto script = NftRuleset(o, kPorts);
  ASSERT_TRUE(script.ok()) << script.status().ToString();
  EXPECT_EQ(script->find("dport"), std::string::npos);
  EXPECT_EQ(script->find("\t\tiifname \"nx-test\" drop\n"), std::string::npos);
  EXPECT_NE(script->find("\t\toifname \"nx-test\" drop\n"), std::string::npos);
  EXPECT_NE(script->find("ct state established,related accept\n\t\tdrop\n"), std::string::npos)
      << *script;
}

TEST(NftRulesetTest, NoPortsDeletesBothTables) {
  auto script = NftRuleset(Options(), {});
  ASSERT_TRUE(script.ok());
  EXPECT_EQ(*script, kRemove);
  EXPECT_EQ(NftRemoveScript(Options()), kRemove);
}

TEST(NftRulesetTest, RefusesNamesThatCouldCarryScriptText) {
  const char* bad[] = {"",       "veth\"; flush ruleset", "veth 1", "a-name-of-16-chr", "veth\n1",
                       "veth{1}"};
  for (const char* name : bad) {
    auto script = NftRuleset(Options(), {{"alice", name}});
    EXPECT_FALSE(script.ok()) << name;
  }
  FirewallOptions o = Options();
  o.bridge = "nx\"x";
  EXPECT_FALSE(NftRuleset(o, kPorts).ok());
  // Owners never enter the script, whatever they hold.
  auto script = NftRuleset(Options(), {{"eve\"; flush ruleset; \"", "veth1"}});
  ASSERT_TRUE(script.ok());
  EXPECT_EQ(script->find("eve"), std::string::npos);
}

TEST(ParseHostPortsTest, ReadsACommaSeparatedListOfPorts) {
  struct Case {
    const char* text;
    std::vector<int> ports;
  } cases[] = {
      {"", {}}, {"  ", {}}, {"53", {53}}, {"8080, 53,53", {53, 8080}}, {"1,65535", {1, 65535}},
  };
  for (const auto& c : cases) {
    auto ports = ParseHostPorts(c.text);
    ASSERT_TRUE(ports.ok()) << c.text << ": " << ports.status().ToString();
    EXPECT_EQ(*ports, c.ports) << c.text;
  }
  for (const char* bad : {"0", "65536", "53,,80", "http", "-1", "5 3", "99999999999", "53;80"}) {
    auto ports = ParseHostPorts(bad);
    ASSERT_FALSE(ports.ok()) << bad;
    EXPECT_EQ(ports.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(ports.status().message().find("network.host_ports"), std::string::npos);
  }
}

TEST(NftFirewallTest, AppliesTheScriptInOneNftTransaction) {
  FakeProcessRunner processes;
  NftFirewall firewall(Options(), processes);
  ASSERT_TRUE(firewall.Apply(kPorts).ok());
  ASSERT_TRUE(firewall.Apply({}).ok());
  ASSERT_TRUE(firewall.Remove().ok());
  auto spawned = processes.Spawned();
  ASSERT_EQ(spawned.size(), 3u);
  for (const auto& s : spawned) {
    EXPECT_EQ(s.argv, (std::vector<std::string>{"/usr/sbin/nft", "-f", "-"}));
  }
  EXPECT_EQ(processes.log->communicated[0].stdin_data, kGolden);
  EXPECT_EQ(processes.log->communicated[1].stdin_data, kRemove);
  EXPECT_EQ(processes.log->communicated[2].stdin_data, kRemove);
}

TEST(NftFirewallTest, AFailedNftNamesTheTableAndKeepsItsMessage) {
  FakeProcessRunner processes;
  processes.script = [](const testing::SpawnOptions&) {
    FakeProcessScript s;
    s.outcome.exit_code = 1;
    s.outcome.stderr_data = "Error: Could not process rule: Operation not permitted\n";
    return s;
  };
  NftFirewall firewall(Options(), processes);
  Status s = firewall.Apply(kPorts);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("nexus-test"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Operation not permitted"), std::string::npos) << s.message();
}

// The real nft parses and checks the script against the kernel without
// installing it (-c).
TEST(NftFirewallTest, TheRealNftAcceptsTheScript) {
  const char* nft = "/usr/sbin/nft";
  if (::geteuid() != 0 || ::access(nft, X_OK) != 0) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "needs root and nft (nftables)";
    GTEST_SKIP() << "needs root and nft (nftables)";
  }
  auto processes = NewPosixProcessRunner();
  for (bool outbound : {false, true}) {
    FirewallOptions o = Options();
    o.outbound = outbound;
    auto script = NftRuleset(o, kPorts);
    ASSERT_TRUE(script.ok());
    SpawnOptions spawn;
    spawn.argv = {nft, "-c", "-f", "-"};
    CommunicateOptions io;
    io.stdin_data = *script;
    io.timeout_ms = 10000;
    auto outcome = processes->Run(spawn, io);
    ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
    EXPECT_EQ(outcome->exit_code, 0) << outcome->stderr_data << "\n" << *script;
  }
}

}  // namespace
}  // namespace nexus::daemon::runtime
