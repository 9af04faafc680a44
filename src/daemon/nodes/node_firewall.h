// NodeFirewall: the nftables rules that keep each user's nodes to themselves
// and away from the host (ARCHITECTURE.md "Nodes").
//
// All nodes of an instance share one bridge, so without rules any node
// reaches any other node (and the host's own services on the bridge
// address). The rules live in two tables named "nexus-<instance>", replaced
// as a whole (one `nft -f` transaction, so there is never a moment without
// them) whenever the set of nodes changes, and deleted with the last node:
//
//  - `bridge` table, forward hook (frames between two ports of a bridge):
//    each node's port (the host end of its veth pair) jumps to a chain of
//    its owner that accepts frames only to the owner's other ports; frames
//    from a port that is not a node's to one that is are dropped. Matching
//    ports rather than addresses means nothing a node puts in a packet
//    (a forged source address, IPv6 link-local, ARP) gets past it. Frames on
//    other bridges of the host match no port of ours and pass untouched.
//  - `inet` table, input hook: packets from the bridge to the host are
//    dropped unless they belong to a connection the host opened (the host
//    reaches nodes with host_gateway; exec and metrics need no network) or
//    go to a port listed in network.host_ports. This covers the bridge
//    address and every other address of the host.
//  - `inet` table, forward hook: nothing routed from elsewhere (another
//    bridge, another instance's nodes) opens a connection to a node; without
//    ip_masq nodes' own traffic is not routed anywhere either. Node-to-node
//    traffic also passes this hook when br_netfilter is loaded: it is
//    accepted here and decided by the bridge table.
//
// A node's rules are in place before its container starts (NodeManager
// applies them right after attaching the network); NodeManager::Reconcile
// rebuilds them from the database at start, so rules lost while nexusd was
// down (a reboot, `nft flush ruleset`) come back before any node restarts.
//
// NftRuleset is a pure function (golden-tested); NftFirewall runs `nft`
// and holds no state; it is thread-compatible (NodeManager serialises its
// calls). Tests use FakeNodeFirewall (tests/support/nodes_fakes.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

// One node's place on the bridge.
struct FirewallPort {
  std::string owner;
  std::string interface;  // the host end of the node's veth pair
};

struct FirewallOptions {
  std::string table;            // "nexus-<instance>", in the families bridge and inet
  std::string bridge;           // the nodes' bridge
  bool outbound = false;        // ip_masq: nodes may open connections through the host
  std::vector<int> host_ports;  // host ports nodes may reach, TCP and UDP
  std::string nft_tool = "/usr/sbin/nft";
  int64_t timeout_ms = 10000;
};

// "53, 8080" → {53, 8080} (sorted, unique); "" → {}. kInvalidArgument
// naming network.host_ports unless every item is a port 1-65535.
Result<std::vector<int>> ParseHostPorts(const std::string& text);

// The nft script that replaces both tables with the rules for `ports`; with
// no ports, the script that deletes both tables. kInternal when an interface
// name is not one the kernel could have made (1-15 characters of a-z, A-Z,
// 0-9, '-', '_', '.'), so nothing outside the names can reach the script.
Result<std::string> NftRuleset(const FirewallOptions& options,
                               const std::vector<FirewallPort>& ports);

// Deletes both tables; absent tables are not an error.
std::string NftRemoveScript(const FirewallOptions& options);

class NodeFirewall {
 public:
  virtual ~NodeFirewall() = default;
  // Replaces the instance's rules by those for exactly `ports`, atomically;
  // no ports removes the tables.
  virtual Status Apply(const std::vector<FirewallPort>& ports) = 0;
};

class NftFirewall final : public NodeFirewall {
 public:
  // `processes` must outlive the firewall.
  NftFirewall(FirewallOptions options, ProcessRunner& processes);

  Status Apply(const std::vector<FirewallPort>& ports) override;
  // Deletes both tables (for tests and for uninstalling an instance).
  Status Remove();

  const FirewallOptions& options() const { return options_; }

 private:
  Status Run(const std::string& what, const std::string& script);

  FirewallOptions options_;
  ProcessRunner& processes_;
};

}  // namespace nexus::daemon::runtime
