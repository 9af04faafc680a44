// NodeStore: the `nodes` table of nexusd's SQLite database — who owns which
// node, what it was created with, its address and the state it should be in.
//
// Schema (NodeMigrations, versions 200..299 belong to the nodes):
//   nodes(uid, owner, name, state, ip, memory_mb, cpu_shares, storage_size,
//         storage_bytes, created_at)   UNIQUE(owner, name)
// `uid` is the node's host-wide identity (runc id, netns, cgroup and data
// dir derive from it); (owner, name) is its identity in the API. `state` is
// what the node should be: "creating" while Create() runs (the row reserves
// the name, and a row still "creating" at start-up is a crashed create to
// undo), then "running" or "stopped".
//
// The store does not own the connection; it serialises its own use with a
// mutex, so it is thread-safe, but nothing else may use the same connection
// concurrently. SQLite exceptions become kInternal at this edge.
#pragma once

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "daemon/database.h"

namespace nexus::daemon::runtime {

std::vector<Migration> NodeMigrations();

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
};

class NodeStore {
 public:
  explicit NodeStore(SQLite::Database& db) : db_(db) {}

  // kAlreadyExists when the owner has a node of that name (or the uid is taken).
  Status Insert(const NodeRecord& node);
  // Sets state and ip of node `uid`; kNotFound when there is none.
  Status Update(const std::string& uid, const std::string& state, const std::string& ip);
  // kNotFound also when a node of that name belongs to someone else.
  Result<NodeRecord> Get(const std::string& owner, const std::string& name);
  Result<NodeRecord> GetByUid(const std::string& uid);
  // The owner's nodes by name.
  Result<std::vector<NodeRecord>> List(const std::string& owner);
  // Every node of every owner (for Reconcile).
  Result<std::vector<NodeRecord>> ListAll();
  // Absent is not an error.
  Status Delete(const std::string& uid);

 private:
  SQLite::Database& db_;
  std::mutex mu_;  // guards every use of db_
};

}  // namespace nexus::daemon::runtime
