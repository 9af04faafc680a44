// NodeNetwork: each node's own network namespace and its place on the
// instance's bridge — the standard CNI `bridge` plugin with `host-local` IPAM
// (ARCHITECTURE.md "Nodes").
//
// Attach(name) creates the named network namespace `name` (`ip netns add`,
// so it lives at /run/netns/<name> independent of any container: a node can
// stop and start and keep its interface and address), brings its loopback
// up and runs the CNI ADD command for it, with `name` as CNI_CONTAINERID and
// "eth0" inside. Detach(name) runs CNI DEL (releasing the IP lease and the
// veth pair) and deletes the namespace; both steps tolerate what is already
// gone, so Detach is idempotent and safe on half-made attachments.
//
// The plugins are invoked as the CNI spec says: CNI_COMMAND, CNI_CONTAINERID,
// CNI_NETNS, CNI_IFNAME, CNI_PATH (and CNI_ARGS "IP=<ip>" to ask for a given
// address) in the environment, the network configuration (CniNetworkConfig)
// on stdin, the result or error as JSON on stdout. host-local keeps its
// leases under the instance's data dir ("dataDir"), so two instances (or a
// test and a running instance) never share leases; bridge name and subnet
// come from config, so they do not share a bridge either.
//
// With host_gateway the bridge holds the subnet's first address (the host
// reaches nodes; note that the bridge plugin then enables IPv4 forwarding on
// the host, as every CNI bridge network with a gateway does); with ip_masq
// nodes' traffic to the outside is masqueraded (iptables rules owned by the
// plugin). Who reaches whom over the bridge is the firewall's to decide
// (node_firewall.h): a node reaches its owner's other nodes, the host only on
// the configured ports, and the outside only with ip_masq.
//
// CniNetwork holds no state of its own (the netns names and host-local's
// files are the state) and is thread-safe for different names; host-local
// serialises allocations with its own lock file. It reads those files (and
// the bridge's ports under /sys/class/net) through an Env, so its tests run
// on a MemoryEnv; other code uses FakeNodeNetwork (tests/support/nodes_fakes.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/result.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

struct NetworkAttachment {
  std::string ip;              // "10.0.42.2"
  int prefix_length = 0;       // 24
  std::string gateway;         // "10.0.42.1"; may be empty
  std::string host_interface;  // the host end of the veth pair
};

class NodeNetwork {
 public:
  virtual ~NodeNetwork() = default;
  // Creates namespace `name` and attaches it; `requested_ip` (may be empty)
  // asks for that address again (a node restarted after a reboot). On failure
  // nothing of the attachment is left.
  virtual Result<NetworkAttachment> Attach(const std::string& name,
                                           const std::string& requested_ip) = 0;
  // Releases the lease and the veth pair and deletes the namespace; what is
  // already gone is not an error.
  virtual Status Detach(const std::string& name) = 0;
  // Whether namespace `name` exists.
  virtual bool Attached(const std::string& name) = 0;
  // The host end of the veth pair of namespace `name` (what the firewall
  // matches, node_firewall.h): found through the kernel, so it is right after
  // a restart too. kNotFound when the namespace has no interface on the bridge.
  virtual Result<std::string> HostInterface(const std::string& name) = 0;
  // The path a container joins: /run/netns/<name>.
  virtual std::string NetnsPath(const std::string& name) const = 0;
  // Every namespace and every IP lease holder whose name starts with
  // `prefix` (sorted, unique): what Reconcile compares with its nodes.
  virtual Result<std::vector<std::string>> ListNames(const std::string& prefix) = 0;
};

struct NetworkOptions {
  std::string name;    // the CNI network name: "nexus-<instance>"
  std::string bridge;  // at most 15 characters
  std::string subnet;  // IPv4 CIDR, "10.0.42.0/24"
  bool ip_masq = false;
  bool host_gateway = true;
  std::string cni_path;                  // directory holding bridge, host-local
  std::string ipam_dir;                  // host-local's dataDir; leases in <ipam_dir>/<name>/
  std::string ip_tool = "/usr/sbin/ip";  // iproute2
  std::string netns_dir = "/run/netns";  // where `ip netns` keeps named namespaces
  int64_t timeout_ms = 10000;            // per command
};

// An IPv4 subnet in CIDR notation.
struct Subnet {
  uint32_t network = 0;  // host byte order
  int prefix_length = 0;
  // The address the first node gets: network + 2 (network + 1 is the gateway).
  std::string FirstNodeIp() const;
  bool Contains(const std::string& ip) const;
};
// kInvalidArgument unless `cidr` is "a.b.c.d/n" with 8 <= n <= 29 and no
// host bits set.
Result<Subnet> ParseSubnet(const std::string& cidr);

// Checks the options a config supplies (bridge name, subnet, paths).
Status ValidateNetworkOptions(const NetworkOptions& options);

// The network configuration passed on the plugins' stdin.
nlohmann::json CniNetworkConfig(const NetworkOptions& options);

// The container interface's IPv4 address from an ADD result (CNI 0.4 and
// 1.0: "ips" entries whose "interface" index points at the sandboxed one);
// the host_interface is the interface without a sandbox that is not the
// bridge. kInternal naming what is wrong otherwise.
Result<NetworkAttachment> ParseCniResult(const std::string& stdout_text, const std::string& bridge);

// "msg (details)" from a plugin's error JSON; the raw text when it is not one.
std::string CniErrorMessage(const std::string& stdout_text);

// The host-side index of a veth's peer from `ip -o link show <ifname>` run in
// the namespace: "2: eth0@if7: <...>" gives 7. kInternal otherwise.
Result<int> ParsePeerIndex(const std::string& ip_link_output);

// The container ids that hold leases among host-local's files in `dir` (one
// file per leased address whose first line is the id).
std::vector<std::string> ReadLeaseHolders(Env& files, const std::string& dir);

class CniNetwork final : public NodeNetwork {
 public:
  // `processes` and `files` must outlive the network.
  CniNetwork(NetworkOptions options, ProcessRunner& processes, Env& files);

  Result<NetworkAttachment> Attach(const std::string& name,
                                   const std::string& requested_ip) override;
  Status Detach(const std::string& name) override;
  bool Attached(const std::string& name) override;
  Result<std::string> HostInterface(const std::string& name) override;
  std::string NetnsPath(const std::string& name) const override;
  Result<std::vector<std::string>> ListNames(const std::string& prefix) override;

  // Deletes the bridge (the plugin creates it on first use and never removes
  // it); for tests and for uninstalling an instance. Absent is not an error.
  Status RemoveBridge();

  const NetworkOptions& options() const { return options_; }

 private:
  Result<ProcessOutcome> Ip(const std::string& what, std::vector<std::string> args);
  Result<std::string> Cni(const std::string& command, const std::string& name,
                          const std::string& netns_path, const std::string& cni_args);

  NetworkOptions options_;
  std::string config_text_;  // CniNetworkConfig, serialised once
  ProcessRunner& processes_;
  Env& files_;
};

}  // namespace nexus::daemon::runtime
