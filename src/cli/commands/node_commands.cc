// node create|ls|info|start|stop|rm|exec|metrics: users' containers
// (/api/nodes). `exec` exits with the command's exit code, so scripts can
// test it; `metrics --watch` redraws one line with a small CPU chart.
#include <CLI/CLI.hpp>
#include <chrono>
#include <deque>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/commands/commands.h"
#include "cli/errors.h"
#include "cli/interrupt.h"
#include "cli/output.h"
#include "cli/terminal.h"
#include "cli/units.h"
#include "common/percent_encode.h"

namespace nexus::cli {
namespace {

struct NodeOptions {
  std::string name;                // commands on one node
  std::vector<std::string> names;  // start, stop, rm; also holds `name` once parsed
  std::string memory = "256M";
  int64_t cpu_shares = 512;
  std::string disk = "1G";
  std::string timeout;  // exec
  bool json = false;
  bool watch = false;
  std::string interval = "2s";
};

std::string NodeTarget(const std::string& name) { return "/api/nodes/" + PercentEncode(name); }

std::vector<std::string> NodeRow(const nlohmann::json& n) {
  return {Cell(Field(n, "id")),         Cell(Field(n, "status")),
          Cell(Field(n, "ip")),         Cell(Field(n, "memory_mb")) + " MiB",
          Cell(Field(n, "cpu_shares")), Cell(Field(n, "storage_size"))};
}

Result<int> PrintNodes(const nlohmann::json& nodes, bool json) {
  if (json) {
    PrintJson(nodes);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATUS", "IP", "MEMORY", "CPU", "DISK"}};
  if (nodes.is_array()) {
    for (const auto& n : nodes) rows.push_back(NodeRow(n));
  } else {
    rows.push_back(NodeRow(nodes));
  }
  std::cout << FormatTable(rows);
  return 0;
}

Result<int> Create(const Context& ctx, const NodeOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(int64_t memory_mb, ParseMebibytes(opts.memory));
  // The disk size goes as the user wrote it ("1G"): the server parses sizes.
  nlohmann::json body = {{"name", opts.names[0]},
                         {"memory_mb", memory_mb},
                         {"cpu_shares", opts.cpu_shares},
                         {"storage_size", opts.disk}};
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json node, client->Call("POST", "/api/nodes", &body));
  return PrintNodes(node, opts.json);
}

Result<int> Ls(const Context& ctx, const bool& json) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json nodes, client->Call("GET", "/api/nodes"));
  return PrintNodes(nodes, json);
}

Result<int> Info(const Context& ctx, const NodeOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json node, client->Call("GET", NodeTarget(opts.names[0])));
  PrintObject(node, opts.json);
  return 0;
}

// start, stop and rm: one call per named node.
Result<int> Each(const Context& ctx, const NodeOptions& opts, const char* method,
                 const char* suffix, const char* verb) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  for (const auto& name : opts.names) {
    Result<nlohmann::json> r = client->Call(method, NodeTarget(name) + suffix);
    if (!r.ok()) return r.status().WithContext(std::string("node ") + verb + " '" + name + "'");
  }
  return 0;
}

Result<int> Exec(const Context& ctx, const NodeOptions& opts) {
  const std::vector<std::string>& command = ctx.after_double_dash();
  if (command.empty()) return UsageError("node exec: give a command after --");
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  nlohmann::json body = {{"command", command}};
  if (!opts.timeout.empty()) {
    NEXUS_ASSIGN_OR_RETURN(int64_t ms, ParseDurationMs(opts.timeout));
    body["timeout_ms"] = ms;
  }
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json run,
                         client->Call("POST", NodeTarget(opts.names[0]) + "/exec", &body));
  std::cout << Cell(Field(run, "stdout")) << std::flush;
  std::cerr << Cell(Field(run, "stderr"));
  if (Field(run, "timed_out") == true) std::cerr << "nexus: node exec: the command timed out\n";
  if (Field(run, "stdout_truncated") == true || Field(run, "stderr_truncated") == true) {
    std::cerr << "nexus: node exec: output was cut at the server's limit\n";
  }
  const nlohmann::json& code = Field(run, "exit_code");
  return code.is_number_integer() ? code.get<int>() : 1;
}

// ▁▂▃▄▅▆▇█ for the last samples of CPU use, scaled to the highest one.
std::string Sparkline(const std::deque<double>& samples) {
  static const char* kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  double top = 1.0;
  for (double s : samples) top = std::max(top, s);
  std::string out;
  for (double s : samples) out += kBlocks[std::min(7, static_cast<int>(s / top * 7.999))];
  return out;
}

std::string MetricsLine(const nlohmann::json& m) {
  const nlohmann::json& used = Field(m, "memory_usage");
  const nlohmann::json& limit = Field(m, "memory_limit");
  const nlohmann::json& cpu = Field(m, "cpu_percent");
  std::string line = "memory " + (used.is_number() ? FormatBytes(used.get<uint64_t>()) : "-");
  if (limit.is_number() && limit.get<double>() > 0) {
    line += " / " + FormatBytes(limit.get<uint64_t>());
  }
  char cpu_text[32];
  std::snprintf(cpu_text, sizeof cpu_text, "  cpu %5.1f%%",
                cpu.is_number() ? cpu.get<double>() : 0);
  return line + cpu_text;
}

Result<int> Metrics(const Context& ctx, const NodeOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(int64_t interval_ms, ParseDurationMs(opts.interval));
  const std::string target = NodeTarget(opts.names[0]) + "/metrics";
  const bool redraw = StdoutIsTerminal() && !opts.json;
  std::deque<double> cpu;
  while (true) {
    NEXUS_ASSIGN_OR_RETURN(nlohmann::json m, client->Call("GET", target));
    if (opts.json) {
      std::cout << m.dump() << "\n" << std::flush;
    } else {
      cpu.push_back(Field(m, "cpu_percent").is_number() ? m["cpu_percent"].get<double>() : 0);
      if (cpu.size() > 30) cpu.pop_front();
      std::string line = opts.names[0] + "  " + MetricsLine(m);
      if (opts.watch) line += "  " + Sparkline(cpu);
      std::cout << (redraw && opts.watch ? "\r\x1b[2K" : "") << line
                << (redraw && opts.watch ? "" : "\n") << std::flush;
    }
    if (!opts.watch) return 0;
    // Ctrl-C is how a watch ends: a normal exit, not an error.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms);
    while (std::chrono::steady_clock::now() < until) {
      if (InterruptRequested()) {
        if (redraw) std::cout << "\n";
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

CLI::App* AddNodeCommand(CLI::App& node, Action& chosen, const char* name, const char* help,
                         std::shared_ptr<NodeOptions> opts,
                         std::function<Result<int>(const Context&, const NodeOptions&)> run,
                         bool many = false) {
  CLI::App* sub = node.add_subcommand(name, help);
  if (many) {
    sub->add_option("names", opts->names, "Node names")->required();
  } else {
    sub->add_option("name", opts->names, "Node name")->required()->expected(1);
  }
  sub->callback(
      [opts, &chosen, run] { chosen = [opts, run](const Context& c) { return run(c, *opts); }; });
  return sub;
}

}  // namespace

void RegisterNodeCommands(CLI::App& app, Action& chosen) {
  CLI::App* node = app.add_subcommand("node", "Containers with their own IP, limits and disk");
  node->require_subcommand(1, 1);

  auto create = std::make_shared<NodeOptions>();
  CLI::App* c = AddNodeCommand(*node, chosen, "create", "Create and start a node", create, &Create);
  c->add_option("--memory", create->memory, "Memory limit (e.g. 256M, 1G)")->capture_default_str();
  c->add_option("--cpu-shares", create->cpu_shares, "CPU shares (weight)")->capture_default_str();
  c->add_option("--disk", create->disk, "Disk size (e.g. 1G)")->capture_default_str();
  c->add_flag("--json", create->json, "Print JSON for scripts");

  AddJsonCommand(*node, chosen, "ls", "List your nodes", &Ls);

  auto info = std::make_shared<NodeOptions>();
  AddNodeCommand(*node, chosen, "info", "A node's settings and state", info, &Info)
      ->add_flag("--json", info->json, "Print JSON for scripts");

  auto each = [&](const char* name, const char* help, const char* method, const char* suffix) {
    AddNodeCommand(
        *node, chosen, name, help, std::make_shared<NodeOptions>(),
        [method, suffix, name](const Context& ctx, const NodeOptions& o) {
          return Each(ctx, o, method, suffix, name);
        },
        /*many=*/true);
  };
  each("start", "Start stopped nodes", "POST", "/start");
  each("stop", "Stop nodes (SIGTERM, then SIGKILL)", "POST", "/stop");
  each("rm", "Delete nodes and their disks", "DELETE", "");

  auto exec = std::make_shared<NodeOptions>();
  CLI::App* e = AddNodeCommand(
      *node, chosen, "exec",
      "Run a command in a node: exec NAME -- CMD ARGS... (exits with its code)", exec, &Exec);
  e->add_option("--timeout", exec->timeout, "Time limit (e.g. 30s)");

  auto metrics = std::make_shared<NodeOptions>();
  CLI::App* m = AddNodeCommand(*node, chosen, "metrics", "Memory and CPU use", metrics, &Metrics);
  m->add_flag("-w,--watch", metrics->watch, "Keep showing, until Ctrl-C");
  m->add_option("--interval", metrics->interval, "Time between samples with --watch")
      ->capture_default_str();
  m->add_flag("--json", metrics->json, "Print JSON (one line per sample) for scripts");
}

}  // namespace nexus::cli
