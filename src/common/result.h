// Result<T>: either a value or a non-ok Status.
//
// The return type of every fallible function that produces something. Built on
// std::variant; access the value only after checking ok(). Thread-compatible.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/status.h"

namespace nexus {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; an ok Status when there is a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace nexus

// NEXUS_ASSIGN_OR_RETURN(lhs, expr): evaluates expr (a Result<T>); on error
// returns its Status, otherwise moves the value into lhs (which may declare).
#define NEXUS_ASSIGN_OR_RETURN(lhs, expr) \
  NEXUS_ASSIGN_OR_RETURN_IMPL_(NEXUS_STATUS_CONCAT_(_nexus_result_, __LINE__), lhs, expr)
#define NEXUS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

// The same pair for coroutines (asio::awaitable<Result<T>> or
// awaitable<Status>), which must co_return: `expr` may co_await.
#define NEXUS_CO_ASSIGN_OR_RETURN(lhs, expr) \
  NEXUS_CO_ASSIGN_OR_RETURN_IMPL_(NEXUS_STATUS_CONCAT_(_nexus_result_, __LINE__), lhs, expr)
#define NEXUS_CO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) co_return tmp.status();                \
  lhs = std::move(tmp).value()
#define NEXUS_CO_RETURN_IF_ERROR(expr)                \
  do {                                                \
    ::nexus::Status _nexus_status = (expr);           \
    if (!_nexus_status.ok()) co_return _nexus_status; \
  } while (0)
