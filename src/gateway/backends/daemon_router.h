// DaemonRouter: one DaemonClient over several nexusd (gateway.daemons) that
// share one metadata database and one chunk store, so that any gateway
// serves any user whichever daemons are up (ARCHITECTURE.md "Scale-out").
//
// - Files, tree, lambda, health: any daemon, in turn (round robin), skipping
//   those whose connection is known to be down. A call that only reads and
//   fails in transport (backend_down) is tried once more on another daemon;
//   one that changes something is not (it may have been carried out).
//   Streams pick their daemon when they start; an upload refused at its
//   start, or a download whose first read finds its daemon down (nothing
//   sent or received yet), starts again on another.
// - Nodes: a node lives on the host that made it; only that host's daemon
//   may touch it (any daemon reads it from the shared table). A call sent elsewhere comes back
//   kNodeOnOtherHost naming the host (NodeManager), and is sent again to the daemon of that host:
//   host names are learned by asking each daemon (GetHost) and kept. The
//   daemon that answered for a node is remembered, so later calls for it go
//   there first. A node whose host no daemon here answers for is 503.
// - New nodes go to the daemon with the most free memory that has room for
//   the node's memory limit (GetHost of each, at create time); none with
//   room is 507, none reachable 503.
// - nexusd's own figures (/metrics): the first listed daemon that answers.
//
// Thread-safe: calls come from every I/O thread; the shared state is under
// one mutex, never held across a suspension.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/backends/daemon_client.h"

namespace nexus::gateway {

// One daemon of the router: its address (for logs and errors), its client,
// and its channel (whose state says whether it is reachable); the channel
// may be null (tests), meaning "assume reachable".
struct RoutedDaemon {
  std::string address;
  std::unique_ptr<DaemonClient> client;
  std::shared_ptr<grpc::Channel> channel;
};

std::unique_ptr<DaemonClient> MakeDaemonRouter(std::vector<RoutedDaemon> daemons);

}  // namespace nexus::gateway
