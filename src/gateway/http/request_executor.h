// RequestIdExecutor: an Asio executor adapter that runs every function it is
// given with a request's id bound as the thread's request id (logging.h),
// and RequestIdCell, the id it binds.
//
// Why an executor: many connections' coroutines share an I/O thread and take
// turns at every wait (the socket, a timer, a transfer slot, a backend call,
// another request's validation to join). Each turn, whatever it waited for,
// begins with a handler that Asio runs through the coroutine's executor, so
// binding the id there, around each handler, gives every line a request logs
// and every backend call it starts (grpc_call.h) that request's id, whatever
// the thread ran in between; and a turn leaves the thread as it found it.
// Binding is two pointer writes: the cell is referenced, never copied.
//
// The listener spawns each connection's coroutine on a RequestIdExecutor over
// its I/O context's executor, with the connection's cell; the session sets
// the cell when it has a request's head and clears it once the response is
// out. A coroutine spawned from a request's (this_coro::executor) inherits it.
//
// Lifetime: the cell must outlive every function run through an executor
// that refers to it (copies that are only destroyed may outlive it; the
// function is what reads the cell, when it runs). The cell lives in the
// Connection, which the coroutine's completion handler owns. Threads: a cell
// is read and written on its executor's thread only (one I/O thread per
// context); the executor itself is as thread-safe as the one it adapts.
#pragma once

#include <boost/asio/execution.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/logging.h"

namespace nexus::gateway {

// The id of the request a connection is serving ("" between requests).
class RequestIdCell {
 public:
  void Set(std::string_view id) { id_.assign(id); }
  void Clear() { id_.clear(); }
  const std::string& id() const { return id_; }

 private:
  std::string id_;
};

template <typename Inner>
class RequestIdExecutor {
 public:
  RequestIdExecutor(Inner inner, const RequestIdCell* cell) noexcept
      : inner_(std::move(inner)), cell_(cell) {}

  const Inner& inner() const noexcept { return inner_; }
  const RequestIdCell* cell() const noexcept { return cell_; }

  template <typename Function>
  void execute(Function&& f) const {
    inner_.execute(Bound<std::decay_t<Function>>{cell_, std::forward<Function>(f)});
  }

  // Every property is the inner executor's; require and prefer keep the id.
  template <typename Property>
  requires boost::asio::can_query<const Inner&, Property>::value decltype(auto) query(
      const Property& p) const
      noexcept(boost::asio::is_nothrow_query<const Inner&, Property>::value) {
    return boost::asio::query(inner_, p);
  }

  template <typename Property>
  requires boost::asio::can_require<const Inner&, Property>::value auto require(const Property& p)
      const noexcept(boost::asio::is_nothrow_require<const Inner&, Property>::value) {
    return Rebind(boost::asio::require(inner_, p));
  }

  template <typename Property>
  requires boost::asio::can_prefer<const Inner&, Property>::value auto prefer(const Property& p)
      const noexcept(boost::asio::is_nothrow_prefer<const Inner&, Property>::value) {
    return Rebind(boost::asio::prefer(inner_, p));
  }

  friend bool operator==(const RequestIdExecutor& a, const RequestIdExecutor& b) noexcept {
    return a.inner_ == b.inner_ && a.cell_ == b.cell_;
  }
  friend bool operator!=(const RequestIdExecutor& a, const RequestIdExecutor& b) noexcept {
    return !(a == b);
  }

 private:
  template <typename Function>
  struct Bound {
    const RequestIdCell* cell;
    Function f;
    void operator()() {
      const RequestIdScope scope(cell->id());
      f();
    }
  };

  template <typename Other>
  RequestIdExecutor<std::decay_t<Other>> Rebind(Other&& other) const noexcept {
    return RequestIdExecutor<std::decay_t<Other>>(std::forward<Other>(other), cell_);
  }

  Inner inner_;
  const RequestIdCell* cell_;
};

}  // namespace nexus::gateway
