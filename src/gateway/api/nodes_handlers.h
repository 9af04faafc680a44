// The Nodes and Metrics routes of the HTTP contract, proxied to nexusd's node
// RPCs with the validated username as owner (another user's node is 404).
//
//   POST   /api/nodes              {"name","memory_mb"?,"cpu_shares"?,"storage_size"?}
//                                  → 201 node
//   GET    /api/nodes              → 200 [node, ...] (the caller's, oldest first)
//   GET    /api/nodes/:id          → 200 node
//   POST   /api/nodes/:id/start    → 200 node (a running node is returned as is)
//   POST   /api/nodes/:id/stop     → 200 node (a stopped node is returned as is)
//   DELETE /api/nodes/:id          → 200 {"message":"Node deleted","id"}
//   POST   /api/nodes/:id/exec     {"command":[argv...],"timeout_ms"?} → 200
//                                  {"stdout","stderr","exit_code","timed_out",
//                                   "stdout_truncated","stderr_truncated"}
//   GET    /api/nodes/:id/metrics[?history=1]
//                                  → 200 {"node_id","memory_usage","memory_limit",
//                                         "cpu_percent"[,"history":[{"timestamp_ms",
//                                         "memory_usage","cpu_percent"}, ...]]}
//
// A node is {"id","name","ip","status","memory_mb","cpu_shares","storage_size",
// "created" (RFC 3339),"created_at" (unix seconds)}. Request field names match
// case-insensitively; a field of the wrong type, an explicit 0 or less for a
// number, or a value nexusd refuses is a 400 naming the field. storage_size
// may be a size string ("1G", "512M") or a number of bytes. Exec output is
// UTF-8 with invalid bytes replaced by U+FFFD.
//
// A 503 from the node engine (no root, runc or CNI plugins) reads "nodes need
// root and runc with the CNI plugins; they are unavailable on this host": its
// own message may name host paths.
//
// `daemon` and `req` must outlive the returned coroutine. Stateless;
// thread-safe.
#pragma once

#include "common/result.h"
#include "gateway/backends/daemon_client.h"
#include "gateway/http/http_types.h"

namespace nexus::gateway {

asio::awaitable<Result<Response>> CreateNodeHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> ListNodesHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> GetNodeHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> StartNodeHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> StopNodeHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> DeleteNodeHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> ExecNodeHandler(DaemonClient& daemon, Request& req);
asio::awaitable<Result<Response>> NodeMetricsHandler(DaemonClient& daemon, Request& req);

}  // namespace nexus::gateway
