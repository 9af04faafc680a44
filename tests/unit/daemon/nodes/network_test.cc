#include "daemon/nodes/network.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/memory_env.h"
#include "support/runtime_fake_process.h"

namespace nexus::daemon::runtime {
namespace {

using nlohmann::json;
using testing::FakeProcessRunner;
using testing::FakeProcessScript;

// What the Debian bridge plugin (1.1.1) printed for an ADD on this kind of host.
const char kBridgeResult[] = R"({
    "cniVersion": "1.0.0",
    "interfaces": [
        {"name": "nx-test", "mac": "a2:28:04:83:27:93"},
        {"name": "veth86eb629a", "mac": "ce:f6:b3:f5:41:da"},
        {"name": "eth0", "mac": "92:71:91:18:86:ca", "sandbox": "/run/netns/test-n-1"}
    ],
    "ips": [{"interface": 2, "address": "10.0.42.2/24", "gateway": "10.0.42.1"}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {}
})";

TEST(ParseSubnetTest, AcceptsIpv4NetworksAndKnowsTheFirstNodeAddress) {
  struct Case {
    const char* cidr;
    const char* first;
  } cases[] = {
      {"10.0.42.0/24", "10.0.42.2"},   {"10.240.7.0/24", "10.240.7.2"},
      {"172.16.0.0/12", "172.16.0.2"}, {"192.168.1.8/29", "192.168.1.10"},
      {"10.0.0.0/8", "10.0.0.2"},
  };
  for (const auto& c : cases) {
    auto s = ParseSubnet(c.cidr);
    ASSERT_TRUE(s.ok()) << c.cidr << ": " << s.status().ToString();
    EXPECT_EQ(s->FirstNodeIp(), c.first);
    EXPECT_TRUE(s->Contains(c.first));
  }
  auto s = ParseSubnet("10.0.42.0/24");
  EXPECT_FALSE(s->Contains("10.0.43.2"));
  EXPECT_FALSE(s->Contains("not-an-ip"));
}

TEST(ParseSubnetTest, RejectsWhatIsNotAUsableNetwork) {
  const char* cases[] = {"",
                         "10.0.42.0",
                         "10.0.42.0/",
                         "10.0.42.0/33",
                         "10.0.42.0/7",
                         "10.0.42.0/30",
                         "10.0.42.1/24",
                         "10.0.42/24",
                         "fd00::/64",
                         "10.0.42.0/2x",
                         "10.0.42.0/-1",
                         "banana/24"};
  for (const char* cidr : cases) {
    auto s = ParseSubnet(cidr);
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << cidr;
  }
}

NetworkOptions Options(const std::string& dir) {
  NetworkOptions o;
  o.name = "nexus-test";
  o.bridge = "nx-test";
  o.subnet = "10.0.42.0/24";
  o.cni_path = "/usr/lib/cni";
  o.ipam_dir = dir + "/ipam";
  o.ip_tool = "/usr/sbin/ip";
  o.netns_dir = dir + "/netns";
  return o;
}

TEST(CniNetworkConfigTest, DescribesABridgeWithHostLocalLeasesInTheDataDir) {
  json c = CniNetworkConfig(Options("/data"));
  EXPECT_EQ(c["cniVersion"], "1.0.0");
  EXPECT_EQ(c["name"], "nexus-test");
  EXPECT_EQ(c["type"], "bridge");
  EXPECT_EQ(c["bridge"], "nx-test");
  EXPECT_EQ(c["isGateway"], true);
  EXPECT_EQ(c["ipMasq"], false);
  EXPECT_EQ(c["ipam"]["type"], "host-local");
  EXPECT_EQ(c["ipam"]["dataDir"], "/data/ipam");
  EXPECT_EQ(c["ipam"]["ranges"][0][0]["subnet"], "10.0.42.0/24");
  EXPECT_EQ(c["ipam"]["routes"][0]["dst"], "0.0.0.0/0");

  NetworkOptions isolated = Options("/data");
  isolated.host_gateway = false;
  json i = CniNetworkConfig(isolated);
  EXPECT_EQ(i["isGateway"], false);
  EXPECT_FALSE(i["ipam"].contains("routes")) << "no gateway to route through";
  NetworkOptions nat = Options("/data");
  nat.ip_masq = true;
  EXPECT_EQ(CniNetworkConfig(nat)["ipMasq"], true);
}

TEST(ValidateNetworkOptionsTest, ChecksBridgeSubnetAndPaths) {
  EXPECT_TRUE(ValidateNetworkOptions(Options("/data")).ok());
  struct Case {
    std::function<void(NetworkOptions&)> change;
    const char* error;
  } cases[] = {
      {[](NetworkOptions& o) { o.bridge = "nx-0123456789abc"; }, "network.bridge"},
      {[](NetworkOptions& o) { o.bridge = ""; }, "network.bridge"},
      {[](NetworkOptions& o) { o.bridge = "nx/x"; }, "network.bridge"},
      {[](NetworkOptions& o) { o.subnet = "10.0.42.0"; }, "network.subnet"},
      {[](NetworkOptions& o) { o.ip_masq = true, o.host_gateway = false; }, "network.ip_masq"},
      {[](NetworkOptions& o) { o.cni_path = "lib/cni"; }, "absolute"},
      {[](NetworkOptions& o) { o.ipam_dir = ""; }, "absolute"},
  };
  for (const auto& c : cases) {
    NetworkOptions o = Options("/data");
    c.change(o);
    Status s = ValidateNetworkOptions(o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.error;
    EXPECT_NE(s.message().find(c.error), std::string::npos) << s.message();
  }
}

TEST(ParseCniResultTest, FindsTheSandboxedInterfacesAddressAndTheHostVeth) {
  auto a = ParseCniResult(kBridgeResult, "nx-test");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->ip, "10.0.42.2");
  EXPECT_EQ(a->prefix_length, 24);
  EXPECT_EQ(a->gateway, "10.0.42.1");
  EXPECT_EQ(a->host_interface, "veth86eb629a");
}

TEST(ParseCniResultTest, ReadsOtherShapesAndRejectsResultsWithoutAnAddress) {
  struct Case {
    const char* what;
    const char* text;
    const char* ip;  // nullptr: an error
  } cases[] = {
      {"CNI 0.4 with versions, IPv6 first",
       R"({"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/x"}],
           "ips":[{"version":"6","interface":0,"address":"fd00::2/64"},
                  {"version":"4","interface":0,"address":"10.1.0.5/16"}]})",
       "10.1.0.5"},
      {"no interface index", R"({"ips":[{"address":"10.0.42.9/24"}]})", "10.0.42.9"},
      {"address of the host side only",
       R"({"interfaces":[{"name":"veth1"},{"name":"eth0","sandbox":"/x"}],
           "ips":[{"interface":0,"address":"10.0.42.9/24"}]})",
       nullptr},
      {"index out of range", R"({"interfaces":[],"ips":[{"interface":3,"address":"10.0.0.2/8"}]})",
       nullptr},
      {"no ips", R"({"interfaces":[]})", nullptr},
      {"not an address", R"({"ips":[{"address":"banana/24"}]})", nullptr},
      {"not JSON", "ADD ok", nullptr},
      {"an array", "[]", nullptr},
  };
  for (const auto& c : cases) {
    auto a = ParseCniResult(c.text, "nx-test");
    if (c.ip) {
      ASSERT_TRUE(a.ok()) << c.what << ": " << a.status().ToString();
      EXPECT_EQ(a->ip, c.ip) << c.what;
    } else {
      EXPECT_EQ(a.status().code(), StatusCode::kInternal) << c.what;
    }
  }
}

TEST(CniErrorMessageTest, ReadsThePluginsErrorJson) {
  EXPECT_EQ(
      CniErrorMessage(R"({"code":999,"msg":"container veth name provided (eth0) already exists"})"),
      "container veth name provided (eth0) already exists");
  EXPECT_EQ(CniErrorMessage(R"({"code":11,"msg":"failed to allocate","details":"range full"})"),
            "failed to allocate (range full)");
  EXPECT_EQ(CniErrorMessage("plain words\n"), "plain words");
}

TEST(ParsePeerIndexTest, ReadsTheHostIndexOfTheVethPeer) {
  auto index = ParsePeerIndex(
      "2: eth0@if17: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP "
      "mode DEFAULT group default qlen 1000\\    link/ether 92:71:91:18:86:ca brd "
      "ff:ff:ff:ff:ff:ff link-netnsid 0\n");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(*index, 17);
  for (const char* bad : {"", "2: eth0: <LOOPBACK,UP> mtu 65536", "2: eth0@if: <UP>",
                          "2: eth0@ifx7: <UP>", "2: eth0@if0: <UP>", "eth0@if7"}) {
    EXPECT_FALSE(ParsePeerIndex(bad).ok()) << bad;
  }
}

TEST(ReadLeaseHoldersTest, ListsTheContainerOfEachLeasedAddress) {
  MemoryEnv files;
  files.PutFile("/ipam/10.0.42.2", "test-n-aaaa\r\neth0");
  files.PutFile("/ipam/10.0.42.3", "test-n-bbbb\neth0");
  files.PutFile("/ipam/last_reserved_ip.0", "10.0.42.3");
  files.PutFile("/ipam/lock", "");
  EXPECT_EQ(ReadLeaseHolders(files, "/ipam"),
            (std::vector<std::string>{"test-n-aaaa", "test-n-bbbb"}));
  EXPECT_TRUE(ReadLeaseHolders(files, "/ipam/missing").empty());
}

// CniNetwork driving fake `ip` and plugin processes over a MemoryEnv; `ip
// netns add/delete` create and remove the namespace file as the real one does.
class CniNetworkTest : public ::testing::Test {
 protected:
  CniNetworkTest() {
    EXPECT_TRUE(files_.MakeDirs(dir_ + "/netns", 0755).ok());
    processes_.script = [this](const SpawnOptions& o) {
      FakeProcessScript s;
      s.outcome.exit_code = 0;
      if (o.argv[0] == "/usr/sbin/ip" && o.argv.size() == 4 && o.argv[1] == "netns") {
        if (o.argv[2] == "add") files_.PutFile(dir_ + "/netns/" + o.argv[3], "");
        if (o.argv[2] == "delete") (void)files_.Remove(dir_ + "/netns/" + o.argv[3]);
      }
      if (o.argv[0] == "/usr/sbin/ip" && o.argv.size() > 4 && o.argv[3] == "-o") {
        s.outcome.stdout_data = link_output_;
      }
      if (o.argv[0] == "/usr/sbin/ip" && o.argv.size() == 6 && o.argv[4] == "master") {
        s.outcome.stdout_data = ports_output_;
      }
      if (o.argv[0] == "/usr/lib/cni/bridge" && Env(o, "CNI_COMMAND") == "ADD") {
        s.outcome.exit_code = add_exit_;
        s.outcome.stdout_data = add_output_;
      }
      return s;
    };
  }

  static std::string Env(const SpawnOptions& o, const std::string& key) {
    for (const auto& e : o.env) {
      if (e.rfind(key + "=", 0) == 0) return e.substr(key.size() + 1);
    }
    return "<unset>";
  }

  std::vector<std::string> Commands() {
    std::vector<std::string> out;
    for (const auto& s : processes_.Spawned()) {
      std::string line = s.argv[0];
      for (size_t i = 1; i < s.argv.size(); ++i) line += " " + s.argv[i];
      if (s.argv[0] == "/usr/lib/cni/bridge") line += " " + Env(s, "CNI_COMMAND");
      out.push_back(line);
    }
    return out;
  }

  const std::string dir_ = "/var/lib/nexus";
  MemoryEnv files_;
  FakeProcessRunner processes_;
  int add_exit_ = 0;
  std::string add_output_ = kBridgeResult;
  std::string link_output_;   // of `ip -n <ns> -o link show dev eth0`
  std::string ports_output_;  // of `ip -o link show master <bridge>`
  CniNetwork network_{Options(dir_), processes_, files_};
};

TEST_F(CniNetworkTest, AttachMakesTheNamespaceAndCallsTheBridgePluginPerTheSpec) {
  auto a = network_.Attach("test-n-1", "");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->ip, "10.0.42.2");
  EXPECT_TRUE(network_.Attached("test-n-1"));
  EXPECT_EQ(Commands(), (std::vector<std::string>{
                            "/usr/sbin/ip netns add test-n-1",
                            "/usr/sbin/ip -n test-n-1 link set lo up",
                            "/usr/lib/cni/bridge ADD",
                        }));
  auto add = processes_.Spawned()[2];
  EXPECT_EQ(Env(add, "CNI_CONTAINERID"), "test-n-1");
  EXPECT_EQ(Env(add, "CNI_NETNS"), dir_ + "/netns/test-n-1");
  EXPECT_EQ(Env(add, "CNI_IFNAME"), "eth0");
  EXPECT_EQ(Env(add, "CNI_PATH"), "/usr/lib/cni");
  EXPECT_EQ(Env(add, "CNI_ARGS"), "<unset>");
  EXPECT_NE(Env(add, "PATH"), "<unset>") << "the plugin runs iptables for ipMasq";
  auto stdin_config = json::parse(processes_.log->communicated[2].stdin_data);
  EXPECT_EQ(stdin_config, CniNetworkConfig(network_.options()));
}

TEST_F(CniNetworkTest, AttachAskingForAnAddressFirstReleasesAStaleLease) {
  ASSERT_TRUE(network_.Attach("test-n-1", "10.0.42.2").ok());
  EXPECT_EQ(Commands(), (std::vector<std::string>{
                            "/usr/sbin/ip netns add test-n-1",
                            "/usr/sbin/ip -n test-n-1 link set lo up",
                            "/usr/lib/cni/bridge DEL",
                            "/usr/lib/cni/bridge ADD",
                        }));
  EXPECT_EQ(Env(processes_.Spawned()[3], "CNI_ARGS"), "IgnoreUnknown=1;IP=10.0.42.2");
}

TEST_F(CniNetworkTest, FailedAttachLeavesNoNamespaceOrLease) {
  add_exit_ = 1;
  add_output_ =
      R"({"code":11,"msg":"failed to allocate for range 0","details":"no IP addresses available"})";
  auto a = network_.Attach("test-n-1", "");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("failed to allocate for range 0 (no IP addresses available)"),
            std::string::npos)
      << a.status().message();
  EXPECT_FALSE(network_.Attached("test-n-1"));
  auto cmds = Commands();
  EXPECT_EQ(cmds[cmds.size() - 2], "/usr/lib/cni/bridge DEL");
  EXPECT_EQ(cmds.back(), "/usr/sbin/ip netns delete test-n-1");
}

TEST_F(CniNetworkTest, DetachIsIdempotentAndReleasesTheLeaseEvenWithoutANamespace) {
  ASSERT_TRUE(network_.Attach("test-n-1", "").ok());
  ASSERT_TRUE(network_.Detach("test-n-1").ok());
  EXPECT_FALSE(network_.Attached("test-n-1"));
  ASSERT_TRUE(network_.Detach("test-n-1").ok());
  auto spawned = processes_.Spawned();
  ASSERT_EQ(spawned.size(), 6u);
  EXPECT_EQ(Env(spawned[3], "CNI_COMMAND"), "DEL");
  EXPECT_EQ(Env(spawned[3], "CNI_NETNS"), dir_ + "/netns/test-n-1");
  EXPECT_EQ(spawned[4].argv,
            (std::vector<std::string>{"/usr/sbin/ip", "netns", "delete", "test-n-1"}));
  EXPECT_EQ(Env(spawned[5], "CNI_COMMAND"), "DEL");
  EXPECT_EQ(Env(spawned[5], "CNI_NETNS"), "") << "the namespace is gone; DEL still frees the lease";
}

TEST_F(CniNetworkTest, HostInterfaceIsTheBridgePortWhoseIndexTheNodesEth0Names) {
  // The host's eth0 is index 2, not on the bridge.
  ports_output_ =
      "7: veth1111@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master nx-test "
      "state UP mode DEFAULT group default \\    link/ether 5e:1c:00:00:00:01 brd "
      "ff:ff:ff:ff:ff:ff link-netns test-n-0\n"
      "9: veth2222@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master nx-test "
      "state UP mode DEFAULT group default \\    link/ether 5e:1c:00:00:00:02 brd "
      "ff:ff:ff:ff:ff:ff link-netns test-n-1\n";

  EXPECT_EQ(network_.HostInterface("test-n-1").status().code(), StatusCode::kNotFound)
      << "no namespace yet";
  files_.PutFile(dir_ + "/netns/test-n-1", "");
  link_output_ = "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue\n";
  auto port = network_.HostInterface("test-n-1");
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  EXPECT_EQ(*port, "veth2222");
  auto spawned = processes_.Spawned();
  ASSERT_GE(spawned.size(), 2u);
  EXPECT_EQ(spawned[spawned.size() - 2].argv,
            (std::vector<std::string>{"/usr/sbin/ip", "-n", "test-n-1", "-o", "link", "show", "dev",
                                      "eth0"}));
  EXPECT_EQ(spawned.back().argv,
            (std::vector<std::string>{"/usr/sbin/ip", "-o", "link", "show", "master", "nx-test"}))
      << "the bridge's ports over netlink, in nexusd's own network namespace";
  link_output_ = "2: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n";
  EXPECT_EQ(network_.HostInterface("test-n-1").status().code(), StatusCode::kNotFound)
      << "a peer that is not a port of the bridge is not the node's";
}

TEST_F(CniNetworkTest, ListNamesFindsNamespacesAndLeaseHoldersWithThePrefix) {
  files_.PutFile(dir_ + "/netns/test-n-aaa", "");
  files_.PutFile(dir_ + "/netns/other-n-zzz", "");
  files_.PutFile(dir_ + "/ipam/nexus-test/10.0.42.9", "test-n-bbb\neth0");
  auto names = network_.ListNames("test-n-");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"test-n-aaa", "test-n-bbb"}));
}

}  // namespace
}  // namespace nexus::daemon::runtime
