// ConnectionPool: up to N connections to one database, each lent to one
// caller at a time. A Connection is not thread-safe, so a store with a single
// one makes every request wait for the one before it, even readers that the
// database would run side by side (SQLite in WAL mode lets readers proceed
// beside a writer; PostgreSQL runs each connection in its own backend).
// With a pool, readers on several threads each get a connection, and
// writers are still serialised by the database's write lock
// (TxMode::kWrite), across connections and processes alike.
//
// The first connection is given (already opened and migrated); the others
// are opened by `open` when first needed and kept for reuse. A PostgreSQL
// connection the server dropped re-establishes itself at its next Begin or
// Prepare (postgres_connection.h), so the pool keeps it; when a new one
// cannot be opened, Acquire answers that error and the slot stays free for
// a later try.
//
// Thread-safe. Every Lease must be gone before the pool is destroyed.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sql/connection.h"
#include "common/sql/database.h"

namespace nexus::sql {

class ConnectionPool {
 public:
  using Opener = std::function<Result<std::unique_ptr<Connection>>()>;

  // `first` and up to max_connections - 1 more made by `open`.
  ConnectionPool(std::unique_ptr<Connection> first, Opener open, int max_connections);
  // A pool of exactly one borrowed connection: a ":memory:" database (which
  // a second connection would not see), or a caller that owns its one.
  explicit ConnectionPool(Connection& only);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // One connection, the holder's alone until the Lease is destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), c_(other.c_) { other.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() const { return *c_; }
    Connection* operator->() const { return c_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, Connection* c) : pool_(pool), c_(c) {}
    ConnectionPool* pool_;
    Connection* c_;
  };

  // An idle connection, a new one while fewer than max_connections are
  // open, or else waits for one to come back. The error of opening a new
  // connection otherwise (kUnavailable for an unreachable server).
  Result<Lease> Acquire();

  int max_connections() const { return max_; }
  // How many are open now (lent or idle).
  int open_connections() const;

 private:
  void Return(Connection* c);

  const Opener opener_;
  const int max_;
  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Connection>> owned_;  // guarded by mu_
  std::vector<Connection*> idle_;                   // guarded by mu_
  // Owned plus borrowed plus being opened (each constructor gives one);
  // guarded by mu_.
  int open_count_ = 1;
};

// A pool on the metadata database `target` (OpenMetadataDatabase): its
// first connection applies `migrations`, the others only connect. A
// ":memory:" target gets a pool of one whatever `max_connections` says.
Result<std::unique_ptr<ConnectionPool>> OpenMetadataPool(const std::string& target,
                                                         std::vector<Migration> migrations,
                                                         int max_connections);

}  // namespace nexus::sql
