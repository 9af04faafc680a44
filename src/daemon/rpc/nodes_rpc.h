// NodesRpc: the gRPC adapter for nexus.daemon.v1.Nodes over the node
// manager (nodes/node_manager.h). Each method unpacks the request, calls the
// manager and converts the Status (reply.h). The calls that change a node
// (create, start, stop, delete) take a node-change slot, ExecNode an exec
// slot (call_admission.h), before they do any work.
//
// Thread-safe as long as the NodeManager is. The NodeManager and the
// CallAdmission must outlive the service.
#pragma once

#include "daemon/rpc/call_admission.h"
#include "nexus/daemon/v1/nodes.grpc.pb.h"

namespace nexus::daemon {

namespace runtime {
class NodeManager;
}

class NodesRpc final : public v1::Nodes::Service {
 public:
  NodesRpc(runtime::NodeManager& nodes, CallAdmission& admission)
      : nodes_(nodes), admission_(admission) {}

  grpc::Status CreateNode(grpc::ServerContext* ctx, const v1::CreateNodeRequest* req,
                          v1::Node* resp) override;
  grpc::Status ListNodes(grpc::ServerContext* ctx, const v1::ListNodesRequest* req,
                         v1::ListNodesResponse* resp) override;
  grpc::Status GetNode(grpc::ServerContext* ctx, const v1::NodeRef* req, v1::Node* resp) override;
  grpc::Status StartNode(grpc::ServerContext* ctx, const v1::NodeRef* req, v1::Node* resp) override;
  grpc::Status StopNode(grpc::ServerContext* ctx, const v1::NodeRef* req, v1::Node* resp) override;
  grpc::Status DeleteNode(grpc::ServerContext* ctx, const v1::NodeRef* req,
                          v1::DeleteNodeResponse* resp) override;
  grpc::Status ExecNode(grpc::ServerContext* ctx, const v1::ExecNodeRequest* req,
                        v1::ExecNodeResponse* resp) override;
  grpc::Status GetNodeMetrics(grpc::ServerContext* ctx, const v1::GetNodeMetricsRequest* req,
                              v1::NodeMetrics* resp) override;
  grpc::Status GetHost(grpc::ServerContext* ctx, const v1::GetHostRequest* req,
                       v1::HostInfo* resp) override;

 private:
  runtime::NodeManager& nodes_;
  CallAdmission& admission_;
};

}  // namespace nexus::daemon
