#include "common/sql/connection_pool.h"

#include <utility>

namespace nexus::sql {

ConnectionPool::ConnectionPool(std::unique_ptr<Connection> first, Opener open, int max_connections)
    : opener_(std::move(open)), max_(max_connections < 1 ? 1 : max_connections) {
  idle_.push_back(first.get());
  owned_.push_back(std::move(first));
}

ConnectionPool::ConnectionPool(Connection& only) : max_(1) { idle_.push_back(&only); }

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Return(c_);
}

void ConnectionPool::Return(Connection* c) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(c);
  }
  returned_.notify_one();
}

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  returned_.wait(lock, [&] { return !idle_.empty() || open_count_ < max_; });
  if (!idle_.empty()) {
    Connection* c = idle_.back();
    idle_.pop_back();
    return Lease(this, c);
  }
  // Open a new one outside the lock (a PostgreSQL connect is a round trip or
  // more), holding its slot so that no other caller opens one past max_.
  ++open_count_;
  lock.unlock();
  Result<std::unique_ptr<Connection>> opened = opener_();
  lock.lock();
  if (!opened.ok()) {
    --open_count_;
    lock.unlock();
    // The slot is free again: a waiter may now try to open one itself.
    returned_.notify_one();
    return opened.status();
  }
  Connection* c = opened->get();
  owned_.push_back(std::move(*opened));
  return Lease(this, c);
}

int ConnectionPool::open_connections() const {
  std::lock_guard lock(mu_);
  return open_count_;
}

Result<std::unique_ptr<ConnectionPool>> OpenMetadataPool(const std::string& target,
                                                         std::vector<Migration> migrations,
                                                         int max_connections) {
  NEXUS_ASSIGN_OR_RETURN(std::unique_ptr<Connection> first,
                         OpenMetadataDatabase(target, std::move(migrations)));
  // Migrated already: the others only connect.
  ConnectionPool::Opener open = [target]() { return ConnectMetadataDatabase(target); };
  return std::make_unique<ConnectionPool>(std::move(first), std::move(open),
                                          target == ":memory:" ? 1 : max_connections);
}

}  // namespace nexus::sql
