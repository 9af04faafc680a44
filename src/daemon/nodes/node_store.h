// NodeStore: the `nodes` table — who owns which node, on which host it
// lives, what it was created with, its address and the state it should be
// in. The table is in nexus.db, or in the PostgreSQL database of [storage]
// metadata, where several daemons share it.
//
// Schema (NodeMigrations, versions 200..299 belong to the nodes):
//   nodes(uid, owner, name, state, ip, memory_mb, cpu_shares, storage_size,
//         storage_bytes, created_at, host)   UNIQUE(owner, name)
//   node_hosts(host, seen_at)   when each daemon last said it was alive
// `uid` is the node's identity on its host (runc id, netns, cgroup and data
// dir derive from it); (owner, name) is its identity in the API, unique
// across hosts. `host` names the daemon's host that runs it: a store sees
// every host's rows by owner, but ListOnHost() only its own, so a daemon
// reconciles, samples and counts disk for its own nodes alone. Rows written
// before there was a host column are adopted by the first daemon to open
// the table. `state` is what the node should be: "creating" while Create()
// runs (the row reserves the name, and a row still "creating" at start-up is
// a crashed create to undo), then "running" or "stopped".
//
// The store does not own the connection; it serialises its own use with a
// mutex, so it is thread-safe, but nothing else may use the same connection
// concurrently. SQL errors become a Status at this edge (sql::GuardSql).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/sql/connection.h"
#include "common/sql/database.h"

namespace nexus::daemon::runtime {

std::vector<sql::Migration> NodeMigrations();

inline constexpr const char* kNodeCreating = "creating";
inline constexpr const char* kNodeRunning = "running";
inline constexpr const char* kNodeStopped = "stopped";

struct NodeRecord {
  std::string uid;
  std::string owner;
  std::string name;
  std::string state;  // kNodeCreating, kNodeRunning, kNodeStopped
  std::string ip;     // "" until the network is attached
  int64_t memory_mb = 0;
  int64_t cpu_shares = 0;
  std::string storage_size;  // as the user wrote it ("1G")
  int64_t storage_bytes = 0;
  int64_t created_at = 0;  // unix seconds
  std::string host;        // set by the store: the host it was inserted on
};

class NodeStore {
 public:
  // The store of daemon host `host` (non-empty) on `db`, whose schema has
  // NodeMigrations applied; adopts rows that have no host yet. `db` must
  // outlive the store.
  static Result<std::unique_ptr<NodeStore>> Open(sql::Connection& db, std::string host);

  const std::string& host() const { return host_; }

  // Inserts `node` on this store's host. kAlreadyExists when the owner has a
  // node of that name on any host (or the uid is taken).
  Status Insert(const NodeRecord& node);
  // Sets state and ip of node `uid`; kNotFound when there is none.
  Status Update(const std::string& uid, const std::string& state, const std::string& ip);
  // kNotFound also when a node of that name belongs to someone else.
  Result<NodeRecord> Get(const std::string& owner, const std::string& name);
  Result<NodeRecord> GetByUid(const std::string& uid);
  // The owner's nodes by name, on every host.
  Result<std::vector<NodeRecord>> List(const std::string& owner);
  // Every owner's nodes on this store's host (Reconcile, metrics, disk).
  Result<std::vector<NodeRecord>> ListOnHost();
  // Absent is not an error.
  Status Delete(const std::string& uid);

  // Records that this store's daemon is alive at `now` (unix seconds).
  Status MarkHostSeen(int64_t now);
  // When each host was last seen alive.
  Result<std::map<std::string, int64_t>> HostsSeen();

 private:
  NodeStore(sql::Connection& db, std::string host) : db_(db), host_(std::move(host)) {}

  sql::Connection& db_;
  const std::string host_;
  std::mutex mu_;  // guards every use of db_
};

}  // namespace nexus::daemon::runtime
