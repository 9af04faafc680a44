#include "daemon/nodes/node_firewall.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

namespace nexus::daemon::runtime {
namespace {

constexpr size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
constexpr const char* kToolPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

bool SafeInterfaceName(const std::string& name) {
  if (name.empty() || name.size() > kMaxInterfaceName) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string Quoted(const std::string& name) { return "\"" + name + "\""; }

std::string QuotedList(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + Quoted(n);
  return out;
}

// "table F T; delete table F T" removes T whether or not it exists, in the
// same transaction as whatever follows.
std::string Reset(const std::string& family, const std::string& table) {
  return "table " + family + " " + table + "\ndelete table " + family + " " + table + "\n";
}

std::string Trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

Result<std::vector<int>> ParseHostPorts(const std::string& text) {
  std::set<int> ports;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item = Trimmed(item);
    if (item.empty() && text.find_first_not_of(" \t") == std::string::npos) continue;
    bool digits =
        !item.empty() && item.size() <= 5 &&
        std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
    int port = digits ? std::stoi(item) : 0;
    if (port < 1 || port > 65535) {
      return InvalidArgumentError(
          "network.host_ports must be a comma-separated list of ports "
          "1-65535 (example: \"53,8080\"), not '" +
          text + "'");
    }
    ports.insert(port);
  }
  return std::vector<int>(ports.begin(), ports.end());
}

std::string NftRemoveScript(const FirewallOptions& o) {
  return Reset("bridge", o.table) + Reset("inet", o.table);
}

Result<std::string> NftRuleset(const FirewallOptions& o, const std::vector<FirewallPort>& ports) {
  if (ports.empty()) return NftRemoveScript(o);
  std::map<std::string, std::set<std::string>> by_owner;
  for (const auto& p : ports) {
    if (!SafeInterfaceName(p.interface)) {
      return InternalError("node firewall: '" + p.interface + "' is not an interface name");
    }
    by_owner[p.owner].insert(p.interface);
  }
  if (!SafeInterfaceName(o.bridge)) {
    return InternalError("node firewall: '" + o.bridge + "' is not an interface name");
  }

  std::ostringstream s;
  s << Reset("bridge", o.table);
  s << "table bridge " << o.table << " {\n";
  // One chain per owner, numbered: user names never enter the script.
  std::vector<std::string> all;
  std::vector<std::string> jumps;
  size_t n = 0;
  for (const auto& [owner, interfaces] : by_owner) {
    const std::string chain = "owner_" + std::to_string(n++);
    std::vector<std::string> mine(interfaces.begin(), interfaces.end());
    s << "\tchain " << chain << " {\n"
      << "\t\toifname { " << QuotedList(mine) << " } accept\n"
      << "\t\tdrop\n"
      << "\t}\n";
    for (const auto& i : mine) {
      all.push_back(i);
      jumps.push_back(Quoted(i) + " : jump " + chain);
    }
  }
  std::sort(all.begin(), all.end());
  std::sort(jumps.begin(), jumps.end());
  std::string jump_list;
  for (const auto& j : jumps) jump_list += (jump_list.empty() ? "" : ", ") + j;
  s << "\tset ports {\n"
    << "\t\ttype ifname\n"
    << "\t\telements = { " << QuotedList(all) << " }\n"
    << "\t}\n"
    << "\tmap owners {\n"
    << "\t\ttype ifname : verdict\n"
    << "\t\telements = { " << jump_list << " }\n"
    << "\t}\n"
    << "\tchain forward {\n"
    << "\t\ttype filter hook forward priority filter; policy accept;\n"
    << "\t\tiifname vmap @owners\n"
    << "\t\toifname @ports drop\n"
    << "\t}\n"
    << "}\n";

  const std::string bridge = Quoted(o.bridge);
  s << Reset("inet", o.table);
  s << "table inet " << o.table << " {\n"
    << "\tchain input {\n"
    << "\t\ttype filter hook input priority filter; policy accept;\n"
    << "\t\tiifname != " << bridge << " accept\n"
    << "\t\tct state established,related accept\n";
  if (!o.host_ports.empty()) {
    std::string list;
    for (int p : o.host_ports) list += (list.empty() ? "" : ", ") + std::to_string(p);
    s << "\t\ttcp dport { " << list << " } accept\n"
      << "\t\tudp dport { " << list << " } accept\n";
  }
  s << "\t\tdrop\n"
    << "\t}\n"
    << "\tchain forward {\n"
    << "\t\ttype filter hook forward priority filter; policy accept;\n"
    << "\t\tiifname " << bridge << " oifname " << bridge << " accept\n"
    << "\t\toifname " << bridge << " ct state established,related accept\n"
    << "\t\toifname " << bridge << " drop\n";
  if (!o.outbound) s << "\t\tiifname " << bridge << " drop\n";
  s << "\t}\n"
    << "}\n";
  return s.str();
}

NftFirewall::NftFirewall(FirewallOptions options, ProcessRunner& processes)
    : options_(std::move(options)), processes_(processes) {}

Status NftFirewall::Run(const std::string& what, const std::string& script) {
  SpawnOptions spawn;
  spawn.argv = {options_.nft_tool, "-f", "-"};
  spawn.env = {kToolPath};
  CommunicateOptions io;
  io.stdin_data = script;
  io.timeout_ms = options_.timeout_ms;
  io.stdout_limit = 64 << 10;
  io.stderr_limit = 64 << 10;
  auto outcome = processes_.Run(spawn, io);
  if (!outcome.ok()) return outcome.status().WithContext(what);
  if (outcome->timed_out) return InternalError(what + ": nft did not finish in time");
  if (outcome->exit_code != 0) {
    std::string err = Trimmed(outcome->stderr_data);
    if (err.empty()) err = "nft exited with status " + std::to_string(outcome->ShellExitCode());
    return InternalError(what + ": " + err);
  }
  return Status::Ok();
}

Status NftFirewall::Apply(const std::vector<FirewallPort>& ports) {
  NEXUS_ASSIGN_OR_RETURN(std::string script, NftRuleset(options_, ports));
  return Run("apply the nodes' firewall (nftables table " + options_.table + ")", script);
}

Status NftFirewall::Remove() {
  return Run("remove the nodes' firewall (nftables table " + options_.table + ")",
             NftRemoveScript(options_));
}

}  // namespace nexus::daemon::runtime
