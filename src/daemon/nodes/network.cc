#include "daemon/nodes/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

namespace nexus::daemon::runtime {
namespace {

using nlohmann::json;

constexpr const char* kIfName = "eth0";
// The plugins' environment: nothing of nexusd's. PATH lets the bridge plugin
// find iptables for ipMasq.
constexpr const char* kToolPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
// A lease file is the container id and the interface name; the bound only
// guards against a surprise.
constexpr size_t kMaxLeaseFileBytes = 4096;

std::string Ipv4ToString(uint32_t host_order) {
  in_addr a;
  a.s_addr = htonl(host_order);
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

bool ParseIpv4(const std::string& text, uint32_t* out) {
  in_addr a;
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

uint32_t Mask(int prefix_length) {
  return prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
}

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string Subnet::FirstNodeIp() const { return Ipv4ToString(network + 2); }

bool Subnet::Contains(const std::string& ip) const {
  uint32_t a = 0;
  return ParseIpv4(ip, &a) && (a & Mask(prefix_length)) == network;
}

Result<Subnet> ParseSubnet(const std::string& cidr) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("subnet '" + cidr + "' " + why + " (example: 10.0.42.0/24)");
  };
  size_t slash = cidr.find('/');
  if (slash == std::string::npos) return bad("has no prefix length");
  uint32_t address = 0;
  if (!ParseIpv4(cidr.substr(0, slash), &address)) return bad("is not an IPv4 address");
  const std::string len = cidr.substr(slash + 1);
  if (len.empty() || len.size() > 2 ||
      !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("has a bad prefix length");
  }
  int prefix = std::stoi(len);
  if (prefix < 8 || prefix > 29) return bad("must have a prefix length from 8 to 29");
  if ((address & ~Mask(prefix)) != 0) return bad("has host bits set");
  return Subnet{address, prefix};
}

Status ValidateNetworkOptions(const NetworkOptions& o) {
  if (!ValidName(o.name)) return InvalidArgumentError("network name '" + o.name + "' is invalid");
  if (!ValidName(o.bridge) || o.bridge.size() > kMaxInterfaceName) {
    return InvalidArgumentError("network.bridge '" + o.bridge +
                                "' must be 1-15 characters of a-z, 0-9, '-', '_', '.'");
  }
  auto subnet = ParseSubnet(o.subnet);
  if (!subnet.ok()) return subnet.status().WithContext("network.subnet");
  if (o.ip_masq && !o.host_gateway) {
    return InvalidArgumentError("network.ip_masq needs network.host_gateway (NAT goes through it)");
  }
  for (const auto* path : {&o.cni_path, &o.ipam_dir, &o.netns_dir}) {
    if (path->empty() || (*path)[0] != '/') {
      return InvalidArgumentError("network path '" + *path + "' must be absolute");
    }
  }
  return Status::Ok();
}

json CniNetworkConfig(const NetworkOptions& o) {
  json ipam = {
      {"type", "host-local"},
      {"ranges", json::array({json::array({{{"subnet", o.subnet}}})})},
      {"dataDir", o.ipam_dir},
  };
  if (o.host_gateway) ipam["routes"] = json::array({{{"dst", "0.0.0.0/0"}}});
  return {
      {"cniVersion", "1.0.0"},
      {"name", o.name},
      {"type", "bridge"},
      {"bridge", o.bridge},
      {"isGateway", o.host_gateway},
      {"ipMasq", o.ip_masq},
      {"hairpinMode", false},
      {"ipam", ipam},
  };
}

Result<NetworkAttachment> ParseCniResult(const std::string& stdout_text,
                                         const std::string& bridge) {
  const std::string what = "parse CNI result";
  json j = json::parse(stdout_text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InternalError(what + ": not a JSON object");
  if (!j.contains("ips") || !j["ips"].is_array()) return InternalError(what + ": no \"ips\"");
  const json interfaces = j.value("interfaces", json::array());
  NetworkAttachment out;
  if (interfaces.is_array()) {
    for (const auto& i : interfaces) {
      if (!i.is_object() || i.contains("sandbox")) continue;
      std::string name = i.value("name", "");
      if (!name.empty() && name != bridge) out.host_interface = name;
    }
  }
  for (const auto& ip : j["ips"]) {
    if (!ip.is_object() || !ip.contains("address") || !ip["address"].is_string()) continue;
    if (ip.contains("version") && ip["version"] != "4") continue;  // CNI 0.3/0.4
    // The address must belong to the sandboxed interface when the result says which.
    if (ip.contains("interface") && ip["interface"].is_number_integer() && interfaces.is_array()) {
      auto index = ip["interface"].get<int64_t>();
      if (index < 0 || static_cast<size_t>(index) >= interfaces.size() ||
          !interfaces[static_cast<size_t>(index)].contains("sandbox")) {
        continue;
      }
    }
    const std::string cidr = ip["address"].get<std::string>();
    size_t slash = cidr.find('/');
    uint32_t unused = 0;
    if (slash == std::string::npos || !ParseIpv4(cidr.substr(0, slash), &unused)) continue;
    out.ip = cidr.substr(0, slash);
    out.prefix_length = std::atoi(cidr.c_str() + slash + 1);
    if (ip.contains("gateway") && ip["gateway"].is_string()) {
      out.gateway = ip["gateway"].get<std::string>();
    }
    return out;
  }
  return InternalError(what + ": no IPv4 address for the container's interface");
}

std::string CniErrorMessage(const std::string& stdout_text) {
  json j = json::parse(stdout_text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("msg") || !j["msg"].is_string()) {
    std::string text = stdout_text;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text;
  }
  std::string msg = j["msg"].get<std::string>();
  if (j.contains("details") && j["details"].is_string() &&
      !j["details"].get<std::string>().empty()) {
    msg += " (" + j["details"].get<std::string>() + ")";
  }
  return msg;
}

Result<int> ParsePeerIndex(const std::string& text) {
  // "<index>: <name>@if<peer index>: <flags> ..."; the name may not hold '@'.
  size_t at = text.find("@if");
  size_t colon = text.find(':');
  if (at == std::string::npos || colon == std::string::npos || at < colon) {
    return InternalError("no veth peer in '" + text.substr(0, 80) + "'");
  }
  size_t begin = at + 3;
  size_t end = begin;
  while (end < text.size() && end - begin < 10 && text[end] >= '0' && text[end] <= '9') ++end;
  if (end == begin || end >= text.size() || text[end] != ':') {
    return InternalError("no veth peer index in '" + text.substr(0, 80) + "'");
  }
  long index = std::strtol(text.substr(begin, end - begin).c_str(), nullptr, 10);
  if (index <= 0 || index > INT32_MAX) return InternalError("bad veth peer index");
  return static_cast<int>(index);
}

std::vector<std::string> ReadLeaseHolders(Env& files, const std::string& dir) {
  std::set<std::string> holders;
  auto names = files.ListDir(dir);
  if (!names.ok()) return {};
  for (const auto& name : *names) {
    uint32_t unused = 0;
    if (!ParseIpv4(name, &unused)) continue;  // lock, last_reserved_ip.0, ...
    auto text = files.ReadFile(dir + "/" + name, kMaxLeaseFileBytes);
    if (!text.ok()) continue;  // released between the listing and the read
    std::string id = text->substr(0, text->find('\n'));
    while (!id.empty() &&
           (id.back() == '\r' || std::isspace(static_cast<unsigned char>(id.back())))) {
      id.pop_back();
    }
    if (!id.empty()) holders.insert(id);
  }
  return {holders.begin(), holders.end()};
}

CniNetwork::CniNetwork(NetworkOptions options, ProcessRunner& processes, Env& files)
    : options_(std::move(options)),
      config_text_(CniNetworkConfig(options_).dump()),
      processes_(processes),
      files_(files) {}

std::string CniNetwork::NetnsPath(const std::string& name) const {
  return options_.netns_dir + "/" + name;
}

bool CniNetwork::Attached(const std::string& name) { return files_.LinkStat(NetnsPath(name)).ok(); }

Result<std::string> CniNetwork::HostInterface(const std::string& name) {
  const std::string what = "find the host end of the network of '" + name + "'";
  if (!Attached(name)) return NotFoundError(what + ": no network namespace");
  NEXUS_ASSIGN_OR_RETURN(ProcessOutcome out,
                         Ip(what, {"-n", name, "-o", "link", "show", "dev", kIfName}));
  auto peer = ParsePeerIndex(out.stdout_data);
  if (!peer.ok()) return peer.status().WithContext(what);
  // The peer is one of the bridge's ports; ifindexes are per namespace, so
  // only nexusd's own interfaces are compared. Asked over netlink (ip), not
  // read from /sys/class/net, which shows the namespace sysfs was mounted
  // in: not nexusd's when it runs in a network namespace of its own.
  auto ports = Ip(what, {"-o", "link", "show", "master", options_.bridge});
  if (!ports.ok()) return NotFoundError(what + ": bridge '" + options_.bridge + "' has no ports");
  std::string_view lines = ports->stdout_data;
  while (!lines.empty()) {
    const size_t eol = lines.find('\n');
    std::string_view line = lines.substr(0, eol);
    lines = eol == std::string_view::npos ? std::string_view() : lines.substr(eol + 1);
    // "<index>: <name>[@<link>]: <flags> ... master <bridge> ..."
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    int index = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + colon, index);
    if (ec != std::errc() || end != line.data() + colon || index != *peer) continue;
    std::string_view name = line.substr(colon + 2);
    name = name.substr(0, std::min(name.find('@'), name.find(':')));
    if (!name.empty()) return std::string(name);
  }
  return NotFoundError(what + ": its veth is not on the bridge");
}

Result<ProcessOutcome> CniNetwork::Ip(const std::string& what, std::vector<std::string> args) {
  SpawnOptions spawn;
  spawn.argv = {options_.ip_tool};
  for (auto& a : args) spawn.argv.push_back(std::move(a));
  spawn.env = {kToolPath};
  CommunicateOptions io;
  io.timeout_ms = options_.timeout_ms;
  io.stdout_limit = 64 << 10;
  io.stderr_limit = 64 << 10;
  auto outcome = processes_.Run(spawn, io);
  if (!outcome.ok()) return outcome.status().WithContext(what);
  if (outcome->timed_out) return InternalError(what + ": ip did not finish in time");
  if (outcome->exit_code != 0) {
    std::string err = outcome->stderr_data;
    while (!err.empty() && std::isspace(static_cast<unsigned char>(err.back()))) err.pop_back();
    return InternalError(
        what + ": " +
        (err.empty() ? "ip exited with status " + std::to_string(outcome->ShellExitCode()) : err));
  }
  return outcome;
}

Result<std::string> CniNetwork::Cni(const std::string& command, const std::string& name,
                                    const std::string& netns_path, const std::string& cni_args) {
  const std::string what = "CNI " + command + " for '" + name + "'";
  SpawnOptions spawn;
  spawn.argv = {options_.cni_path + "/bridge"};
  spawn.env = {kToolPath,
               "CNI_COMMAND=" + command,
               "CNI_CONTAINERID=" + name,
               "CNI_NETNS=" + netns_path,
               std::string("CNI_IFNAME=") + kIfName,
               "CNI_PATH=" + options_.cni_path};
  if (!cni_args.empty()) spawn.env.push_back("CNI_ARGS=" + cni_args);
  CommunicateOptions io;
  io.stdin_data = config_text_;
  io.timeout_ms = options_.timeout_ms;
  io.stdout_limit = 256 << 10;
  io.stderr_limit = 64 << 10;
  auto outcome = processes_.Run(spawn, io);
  if (!outcome.ok()) return outcome.status().WithContext(what);
  if (outcome->timed_out) return InternalError(what + ": the plugin did not finish in time");
  if (outcome->exit_code != 0) {
    std::string msg = CniErrorMessage(outcome->stdout_data);
    if (msg.empty()) msg = CniErrorMessage(outcome->stderr_data);
    if (msg.empty()) msg = "exit status " + std::to_string(outcome->ShellExitCode());
    return InternalError(what + ": " + msg);
  }
  return outcome->stdout_data;
}

Result<NetworkAttachment> CniNetwork::Attach(const std::string& name,
                                             const std::string& requested_ip) {
  const std::string netns = NetnsPath(name);
  if (!Attached(name)) {
    NEXUS_RETURN_IF_ERROR(
        Ip("create network namespace '" + name + "'", {"netns", "add", name}).status());
  }
  auto attached = [&]() -> Result<NetworkAttachment> {
    NEXUS_RETURN_IF_ERROR(
        Ip("bring up loopback in '" + name + "'", {"-n", name, "link", "set", "lo", "up"})
            .status());
    std::string cni_args;
    if (!requested_ip.empty()) {
      // A lease this name still holds from before (its namespace is gone
      // after a reboot) would make host-local refuse the same address.
      NEXUS_RETURN_IF_ERROR(Cni("DEL", name, netns, "").status());
      cni_args = "IgnoreUnknown=1;IP=" + requested_ip;
    }
    NEXUS_ASSIGN_OR_RETURN(std::string out, Cni("ADD", name, netns, cni_args));
    auto result = ParseCniResult(out, options_.bridge);
    if (!result.ok()) return result.status().WithContext("attach '" + name + "'");
    return result;
  }();
  if (!attached.ok()) {
    Status undone = Detach(name);
    if (!undone.ok()) return attached.status().WithContext(undone.message());
  }
  return attached;
}

Status CniNetwork::Detach(const std::string& name) {
  const bool has_netns = Attached(name);
  // DEL with the namespace also removes the veth pair; without it (gone
  // already) it still releases the lease.
  Status first = Cni("DEL", name, has_netns ? NetnsPath(name) : "", "").status();
  if (has_netns) {
    Status deleted =
        Ip("delete network namespace '" + name + "'", {"netns", "delete", name}).status();
    if (first.ok()) first = deleted;
  }
  return first;
}

Result<std::vector<std::string>> CniNetwork::ListNames(const std::string& prefix) {
  std::set<std::string> names;
  if (auto namespaces = files_.ListDir(options_.netns_dir); namespaces.ok()) {
    for (const auto& n : *namespaces) {
      if (n.rfind(prefix, 0) == 0) names.insert(n);
    }
  }
  for (const auto& holder : ReadLeaseHolders(files_, options_.ipam_dir + "/" + options_.name)) {
    if (holder.rfind(prefix, 0) == 0) names.insert(holder);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Status CniNetwork::RemoveBridge() {
  // Over netlink, as HostInterface: /sys/class/net may be another namespace's.
  if (!Ip("find bridge '" + options_.bridge + "'", {"-o", "link", "show", "dev", options_.bridge})
           .ok()) {
    return Status::Ok();  // not there
  }
  return Ip("delete bridge '" + options_.bridge + "'", {"link", "delete", options_.bridge})
      .status();
}

}  // namespace nexus::daemon::runtime
