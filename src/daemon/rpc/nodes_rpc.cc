#include "daemon/rpc/nodes_rpc.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/nodes/node_manager.h"
#include "daemon/rpc/reply.h"

namespace nexus::daemon {
namespace {

void FillNode(const runtime::NodeInfo& node, v1::Node* out) {
  out->set_id(node.id);
  out->set_ip(node.ip);
  out->set_status(node.status);
  out->set_memory_mb(node.memory_mb);
  out->set_cpu_shares(node.cpu_shares);
  out->set_storage_size(node.storage_size);
  out->set_created_at(node.created_at);
}

// The owner check the node manager leaves to its callers, and the slot of
// the call's kind when it holds one (`slots` non-null; else an empty lease).
Result<UserSlots::Lease> Enter(std::string_view rpc, const std::string& owner, UserSlots* slots) {
  NEXUS_RETURN_IF_ERROR(CheckOwner(rpc, owner));
  if (slots == nullptr) return UserSlots::Lease();
  return Admit(rpc, *slots, owner);
}

// One shape for the RPCs that answer a Node.
template <typename Fn>
grpc::Status AnswerNode(std::string_view rpc, const std::string& owner, UserSlots* slots,
                        v1::Node* resp, Fn fn) {
  Result<UserSlots::Lease> entered = Enter(rpc, owner, slots);
  if (!entered.ok()) return Reply(rpc, entered.status());
  Result<runtime::NodeInfo> node = fn();
  if (!node.ok()) return Reply(rpc, node.status());
  FillNode(*node, resp);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status NodesRpc::CreateNode(grpc::ServerContext*, const v1::CreateNodeRequest* req,
                                  v1::Node* resp) {
  return AnswerNode("create node", req->owner(), &admission_.node_changes, resp, [&] {
    return nodes_.Create(
        {req->owner(), req->name(), req->memory_mb(), req->cpu_shares(), req->storage_size()});
  });
}

grpc::Status NodesRpc::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* req,
                                 v1::ListNodesResponse* resp) {
  constexpr std::string_view kRpc = "list nodes";
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<std::vector<runtime::NodeInfo>> nodes = nodes_.List(req->owner());
  if (!nodes.ok()) return Reply(kRpc, nodes.status());
  for (const runtime::NodeInfo& n : *nodes) FillNode(n, resp->add_nodes());
  return grpc::Status::OK;
}

grpc::Status NodesRpc::GetNode(grpc::ServerContext*, const v1::NodeRef* req, v1::Node* resp) {
  return AnswerNode("get node", req->owner(), nullptr, resp,
                    [&] { return nodes_.Get(req->owner(), req->id()); });
}

grpc::Status NodesRpc::StartNode(grpc::ServerContext*, const v1::NodeRef* req, v1::Node* resp) {
  return AnswerNode("start node", req->owner(), &admission_.node_changes, resp,
                    [&] { return nodes_.Start(req->owner(), req->id()); });
}

grpc::Status NodesRpc::StopNode(grpc::ServerContext*, const v1::NodeRef* req, v1::Node* resp) {
  return AnswerNode("stop node", req->owner(), &admission_.node_changes, resp,
                    [&] { return nodes_.Stop(req->owner(), req->id()); });
}

grpc::Status NodesRpc::DeleteNode(grpc::ServerContext*, const v1::NodeRef* req,
                                  v1::DeleteNodeResponse*) {
  constexpr std::string_view kRpc = "delete node";
  Result<UserSlots::Lease> entered = Enter(kRpc, req->owner(), &admission_.node_changes);
  if (!entered.ok()) return Reply(kRpc, entered.status());
  return Reply(kRpc, nodes_.Delete(req->owner(), req->id()));
}

grpc::Status NodesRpc::ExecNode(grpc::ServerContext*, const v1::ExecNodeRequest* req,
                                v1::ExecNodeResponse* resp) {
  constexpr std::string_view kRpc = "exec in node";
  Result<UserSlots::Lease> entered = Enter(kRpc, req->owner(), &admission_.execs);
  if (!entered.ok()) return Reply(kRpc, entered.status());
  runtime::ExecNodeRequest exec;
  exec.owner = req->owner();
  exec.id = req->id();
  exec.command.assign(req->command().begin(), req->command().end());
  exec.timeout_ms = req->timeout_ms();
  Result<runtime::ExecNodeResult> result = nodes_.Exec(exec);
  if (!result.ok()) return Reply(kRpc, result.status());
  resp->set_stdout(std::move(result->stdout_data));
  resp->set_stderr(std::move(result->stderr_data));
  resp->set_exit_code(result->exit_code);
  resp->set_stdout_truncated(result->stdout_truncated);
  resp->set_stderr_truncated(result->stderr_truncated);
  resp->set_timed_out(result->timed_out);
  return grpc::Status::OK;
}

grpc::Status NodesRpc::GetNodeMetrics(grpc::ServerContext*, const v1::GetNodeMetricsRequest* req,
                                      v1::NodeMetrics* resp) {
  constexpr std::string_view kRpc = "node metrics";
  if (Status s = CheckOwner(kRpc, req->owner()); !s.ok()) return Reply(kRpc, s);
  Result<runtime::NodeMetrics> m = nodes_.GetMetrics(req->owner(), req->id(), req->history());
  if (!m.ok()) return Reply(kRpc, m.status());
  resp->set_node_id(m->node_id);
  resp->set_memory_usage(m->memory_usage);
  resp->set_memory_limit(m->memory_limit);
  resp->set_cpu_percent(m->cpu_percent);
  for (const runtime::MetricsPoint& p : m->history) {
    v1::MetricsSample* out = resp->add_history();
    out->set_timestamp_ms(p.timestamp_ms);
    out->set_memory_usage(p.memory_usage);
    out->set_cpu_percent(p.cpu_percent);
  }
  return grpc::Status::OK;
}

grpc::Status NodesRpc::GetHost(grpc::ServerContext*, const v1::GetHostRequest*,
                               v1::HostInfo* resp) {
  Result<runtime::HostInfo> h = nodes_.Host();
  if (!h.ok()) return Reply("host info", h.status());
  resp->set_host(h->host);
  resp->set_nodes_available(h->nodes_available);
  resp->set_memory_bytes(h->memory_bytes);
  resp->set_memory_reserved_bytes(h->memory_reserved_bytes);
  resp->set_memory_committed_bytes(h->memory_committed_bytes);
  resp->set_memory_free_bytes(h->memory_free_bytes);
  return grpc::Status::OK;
}

}  // namespace nexus::daemon
