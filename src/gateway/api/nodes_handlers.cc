#include "gateway/api/nodes_handlers.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/json_response.h"
#include "gateway/formats/json_fields.h"
#include "gateway/formats/utf8.h"
#include "gateway/http/middleware.h"

namespace nexus::gateway {
namespace {

Result<daemonpb::NodeRef> NodeRefOf(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  const std::string* id = req.Param("id");
  if (!id || id->empty()) return InvalidArgumentError("missing node id");
  daemonpb::NodeRef ref;
  ref.set_owner(std::move(owner));
  ref.set_id(*id);
  return ref;
}

nlohmann::json NodeJson(const daemonpb::Node& node) {
  nlohmann::json j;
  j["id"] = node.id();
  j["name"] = node.id();
  j["ip"] = node.ip();
  j["status"] = node.status();
  j["memory_mb"] = node.memory_mb();
  j["cpu_shares"] = node.cpu_shares();
  j["storage_size"] = node.storage_size();
  j["created"] = FormatRfc3339Utc(node.created_at());
  j["created_at"] = node.created_at();
  return j;
}

// An optional number field that must be positive when present: nexusd reads
// 0 as "the default", which a client's explicit 0 does not mean.
Result<int64_t> PositiveOrAbsent(const JsonFields& fields, std::string_view name) {
  NEXUS_ASSIGN_OR_RETURN(std::optional<int64_t> v, fields.OptionalInt(name));
  if (!v) return 0;
  if (*v <= 0) {
    return InvalidArgumentError("field '" + std::string(name) + "' must be a positive integer");
  }
  return *v;
}

Result<daemonpb::CreateNodeRequest> DecodeCreate(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  NEXUS_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_ASSIGN_OR_RETURN(std::string name, fields.String("name"));
  NEXUS_ASSIGN_OR_RETURN(int64_t memory_mb, PositiveOrAbsent(fields, "memory_mb"));
  NEXUS_ASSIGN_OR_RETURN(int64_t cpu_shares, PositiveOrAbsent(fields, "cpu_shares"));
  // A size string ("1G") or plain bytes; nexusd parses and bounds it.
  std::string storage_size;
  Result<std::optional<std::string>> size_text = fields.OptionalString("storage_size");
  if (size_text.ok()) {
    if (*size_text) {
      if (size_text->value().empty()) {
        return InvalidArgumentError("field 'storage_size' must not be empty");
      }
      storage_size = std::move(**size_text);
    }
  } else {
    Result<std::optional<int64_t>> size_bytes = fields.OptionalInt("storage_size");
    if (!size_bytes.ok() || !*size_bytes || **size_bytes <= 0) {
      return InvalidArgumentError(
          "field 'storage_size' must be a size such as \"1G\" or a positive number of bytes");
    }
    storage_size = std::to_string(**size_bytes);
  }
  daemonpb::CreateNodeRequest call;
  call.set_owner(std::move(owner));
  call.set_name(std::move(name));
  call.set_memory_mb(memory_mb);
  call.set_cpu_shares(cpu_shares);
  call.set_storage_size(std::move(storage_size));
  return call;
}

// The member named `name` of `object`, matched as JsonFields does (an exact
// match wins over a case-insensitive one). JsonFields has no array accessor.
const nlohmann::json* FindField(const nlohmann::json& object, std::string_view name) {
  const nlohmann::json* folded = nullptr;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key() == name) return &it.value();
    if (!folded && EqualsIgnoreCase(it.key(), name)) folded = &it.value();
  }
  return folded;
}

Result<std::vector<std::string>> DecodeCommand(std::string_view body) {
  // JsonFields::Parse accepted the body, so it parses as an object.
  nlohmann::json object = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* command = object.is_object() ? FindField(object, "command") : nullptr;
  if (!command) return InvalidArgumentError("missing field 'command'");
  const Status wrong = InvalidArgumentError(
      "field 'command' must be a non-empty array of strings (the program and its arguments)");
  if (!command->is_array() || command->empty()) return wrong;
  std::vector<std::string> argv;
  for (const nlohmann::json& arg : *command) {
    if (!arg.is_string()) return wrong;
    argv.push_back(arg.get<std::string>());
  }
  if (argv[0].empty()) return wrong;
  return argv;
}

Result<daemonpb::ExecNodeRequest> DecodeExec(const Request& req) {
  NEXUS_ASSIGN_OR_RETURN(daemonpb::NodeRef ref, NodeRefOf(req));
  NEXUS_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Parse(req.body));
  NEXUS_ASSIGN_OR_RETURN(std::vector<std::string> argv, DecodeCommand(req.body));
  NEXUS_ASSIGN_OR_RETURN(int64_t timeout_ms, PositiveOrAbsent(fields, "timeout_ms"));
  daemonpb::ExecNodeRequest call;
  call.set_owner(ref.owner());
  call.set_id(ref.id());
  for (std::string& arg : argv) call.add_command(std::move(arg));
  call.set_timeout_ms(timeout_ms);
  return call;
}

Result<bool> HistoryWanted(const Request& req) {
  const std::string* v = req.QueryParam("history");
  if (!v) return false;
  if (*v == "1" || *v == "true" || v->empty()) return true;
  if (*v == "0" || *v == "false") return false;
  return InvalidArgumentError("query parameter 'history' must be 1 or 0");
}

// Get, Start and Stop: a NodeRef in, a node out.
using NodeRefCall = asio::awaitable<Result<daemonpb::Node>> (DaemonClient::*)(daemonpb::NodeRef);

asio::awaitable<Result<Response>> NodeRefHandler(DaemonClient& daemon, Request& req,
                                                 NodeRefCall call) {
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::NodeRef ref, NodeRefOf(req));
  Result<daemonpb::Node> node = co_await (daemon.*call)(std::move(ref));
  if (!node.ok()) co_return node.status();
  co_return JsonValueResponse(200, NodeJson(*node));
}

}  // namespace

asio::awaitable<Result<Response>> CreateNodeHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::CreateNodeRequest call, DecodeCreate(req));
  Result<daemonpb::Node> node = co_await daemon.CreateNode(std::move(call));
  if (!node.ok()) co_return node.status();
  co_return JsonValueResponse(201, NodeJson(*node));
}

asio::awaitable<Result<Response>> ListNodesHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(std::string owner, AuthenticatedOwner(req));
  daemonpb::ListNodesRequest call;
  call.set_owner(owner);
  Result<daemonpb::ListNodesResponse> answer = co_await daemon.ListNodes(std::move(call));
  if (!answer.ok()) co_return answer.status();
  std::vector<const daemonpb::Node*> nodes;
  for (const auto& n : answer->nodes()) nodes.push_back(&n);
  // Oldest first whatever order nexusd used; ties by id, for a stable order.
  std::stable_sort(nodes.begin(), nodes.end(), [](const auto* a, const auto* b) {
    if (a->created_at() != b->created_at()) return a->created_at() < b->created_at();
    return a->id() < b->id();
  });
  nlohmann::json out = nlohmann::json::array();
  for (const auto* n : nodes) out.push_back(NodeJson(*n));
  co_return JsonValueResponse(200, out);
}

asio::awaitable<Result<Response>> GetNodeHandler(DaemonClient& daemon, Request& req) {
  return NodeRefHandler(daemon, req, &DaemonClient::GetNode);
}

asio::awaitable<Result<Response>> StartNodeHandler(DaemonClient& daemon, Request& req) {
  return NodeRefHandler(daemon, req, &DaemonClient::StartNode);
}

asio::awaitable<Result<Response>> StopNodeHandler(DaemonClient& daemon, Request& req) {
  return NodeRefHandler(daemon, req, &DaemonClient::StopNode);
}

asio::awaitable<Result<Response>> DeleteNodeHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::NodeRef ref, NodeRefOf(req));
  const std::string id = ref.id();
  Result<daemonpb::DeleteNodeResponse> done = co_await daemon.DeleteNode(std::move(ref));
  if (!done.ok()) co_return done.status();
  co_return JsonValueResponse(200, {{"message", "Node deleted"}, {"id", id}});
}

asio::awaitable<Result<Response>> ExecNodeHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::ExecNodeRequest call, DecodeExec(req));
  Result<daemonpb::ExecNodeResponse> run = co_await daemon.ExecNode(std::move(call));
  if (!run.ok()) co_return run.status();
  nlohmann::json j;
  j["stdout"] = ToValidUtf8(run->stdout());
  j["stderr"] = ToValidUtf8(run->stderr());
  j["exit_code"] = run->exit_code();
  j["timed_out"] = run->timed_out();
  j["stdout_truncated"] = run->stdout_truncated();
  j["stderr_truncated"] = run->stderr_truncated();
  co_return JsonValueResponse(200, j);
}

asio::awaitable<Result<Response>> NodeMetricsHandler(DaemonClient& daemon, Request& req) {
  NEXUS_CO_ASSIGN_OR_RETURN(daemonpb::NodeRef ref, NodeRefOf(req));
  NEXUS_CO_ASSIGN_OR_RETURN(bool history, HistoryWanted(req));
  daemonpb::GetNodeMetricsRequest call;
  call.set_owner(ref.owner());
  call.set_id(ref.id());
  call.set_history(history);
  Result<daemonpb::NodeMetrics> m = co_await daemon.GetNodeMetrics(std::move(call));
  if (!m.ok()) co_return m.status();
  nlohmann::json j;
  j["node_id"] = m->node_id();
  j["memory_usage"] = m->memory_usage();
  j["memory_limit"] = m->memory_limit();
  j["cpu_percent"] = m->cpu_percent();
  if (history) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : m->history()) {
      samples.push_back({{"timestamp_ms", s.timestamp_ms()},
                         {"memory_usage", s.memory_usage()},
                         {"cpu_percent", s.cpu_percent()}});
    }
    j["history"] = std::move(samples);
  }
  co_return JsonValueResponse(200, j);
}

}  // namespace nexus::gateway
