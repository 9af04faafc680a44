// DaemonServices: nexusd's gRPC services, one per capability — Health,
// Files, Tree, Nodes, Lambda, Metrics (proto/nexus/daemon/v1/) — built over the
// domain objects nexusd has and registered on one server. A service whose
// domain object is absent is not registered, so gRPC itself answers its
// methods UNIMPLEMENTED (the gateway's 501). The services share one
// CallControl: the per-user shares of the long calls and the stream
// watchdog.
//
// The domain objects arrive in DomainObjects (non-owning pointers that must
// outlive this object and the server it registered on). Thread-safe as long
// as the domain objects are: gRPC calls methods from its own thread pool
// concurrently.
//
// Every method runs on gRPC's sync server threads. nexusd registers no
// callback-API method: with one, gRPC 1.51 polls the whole server through
// its callback threads, which sleep 100 ms after each idle second, and any
// call arriving then (sync ones included) waits.
#pragma once

#include <grpcpp/server_builder.h>

#include <memory>

#include "daemon/rpc/call_admission.h"
#include "daemon/rpc/call_control.h"
#include "daemon/rpc/files_rpc.h"
#include "daemon/rpc/health_rpc.h"
#include "daemon/rpc/lambda_rpc.h"
#include "daemon/rpc/metrics_rpc.h"
#include "daemon/rpc/nodes_rpc.h"
#include "daemon/rpc/tree_rpc.h"

namespace nexus::daemon {

// The largest message nexusd accepts (gRPC's default is 4 MiB): an upload's
// data message of ~1 MiB, or a RunLambda request of 1 MiB code + 1 MiB stdin,
// with room to spare.
inline constexpr int kMaxReceiveMessageBytes = 8 << 20;
// Long calls (downloads, uploads, lambda runs, execs, node changes) each
// have an overall cap and a per-user share (call_admission.h): a call over
// either is refused at once (RESOURCE_EXHAUSTED, a 429 at the gateway) before
// it does any work. The sync server runs each call in progress on its own
// thread from one pool of ServerThreadsFor(limits): the long calls' caps plus
// kShortCallThreads, so the short calls always find a thread whatever the
// long ones do, and no user holds more than their share of any kind.
// Streams are also cancelled when a Read or Write waits longer than
// limits.stream_idle_timeout (stream_watchdog.h): a stalled peer cannot hold
// its thread and slot forever either.

// Threads the sync server keeps waiting for work once their call ended.
// gRPC's default keeps two and ends every other thread when its call ends,
// so under concurrent calls each call paid for a thread's creation and exit:
// under 64 concurrent /api/me nexusd spent 205-280 us of CPU per GetUsage,
// 92-131 us with up to 64 threads kept (7,000-9,300 instead of 4,000-5,200
// requests/s through the gateway). An idle thread costs its stack and no CPU: one
// polls, the others sleep until work arrives.
inline constexpr int kMaxIdleServerThreads = 64;

// Applies the server settings the services rely on: kMaxReceiveMessageBytes
// and a thread limit of ServerThreadsFor(limits). DaemonServices::RegisterOn
// calls it; tests that register a service alone call it themselves.
void ConfigureServer(grpc::ServerBuilder& builder, const CallLimits& limits = CallLimits{});

struct DomainObjects {
  const Health* health = nullptr;              // required
  storage::FileService* files = nullptr;       // Files
  storage::TreeService* tree = nullptr;        // Tree, and Files' uploads to a path
  runtime::LambdaRunner* lambda = nullptr;     // Lambda
  runtime::NodeManager* nodes = nullptr;       // Nodes
  const metrics::Registry* metrics = nullptr;  // Metrics
  LambdaMetrics* lambda_metrics = nullptr;     // counts Lambda's runs when set
};

class DaemonServices {
 public:
  // `limits`: the shares of the long calls and the idle timeout of streams.
  explicit DaemonServices(DomainObjects domain, const CallLimits& limits = CallLimits{});

  // Registers every service that has its domain object, and configures the
  // server (ConfigureServer with this object's limits).
  void RegisterOn(grpc::ServerBuilder& builder);

  // The shares of the long calls, as they stand (read-only: how many of each
  // kind are in progress, overall and per user).
  const CallAdmission& admission() const { return calls_.admission; }

 private:
  const CallLimits limits_;
  CallControl calls_;  // before the services, which use it
  HealthRpc health_;
  std::unique_ptr<FilesRpc> files_;
  std::unique_ptr<TreeRpc> tree_;
  std::unique_ptr<NodesRpc> nodes_;
  std::unique_ptr<LambdaRpc> lambda_;
  std::unique_ptr<MetricsRpc> metrics_;
};

}  // namespace nexus::daemon
