#include "daemon/rpc/reply.h"

#include <spdlog/spdlog.h>

#include "common/grpc_status.h"
#include "common/insufficient_storage.h"

namespace nexus::daemon {

// kInternal messages can name host paths, chunk hashes or runc output: the
// client gets a fixed text instead (ARCHITECTURE.md "Errors": a 500 never
// leaks internals). Callers log the real message. A full disk needs nothing
// here: its reason fixes the client's text in ToGrpcStatus.
grpc::Status ToClient(const Status& status) {
  if (status.code() == StatusCode::kInternal) return ToGrpcStatus(InternalError("internal error"));
  return ToGrpcStatus(status);
}

grpc::Status Reply(std::string_view rpc, const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() == StatusCode::kInternal) {
    spdlog::error("{}: {}", rpc, status.message());
  } else if (status.code() == StatusCode::kUnavailable || IsInsufficientStorage(status)) {
    spdlog::warn("{}: {}", rpc, status.message());
  }
  return ToClient(status);
}

grpc::Status Cancelled(std::string_view what) {
  return grpc::Status(grpc::StatusCode::CANCELLED, std::string(what) + " cancelled by the client");
}

Status CheckOwner(std::string_view rpc, const std::string& owner) {
  if (owner.empty()) return InvalidArgumentError(std::string(rpc) + ": owner is empty");
  return Status::Ok();
}

Result<UserSlots::Lease> Admit(std::string_view rpc, UserSlots& slots, const std::string& owner) {
  Result<UserSlots::Lease> lease = slots.TryAcquire(owner);
  if (!lease.ok()) spdlog::debug("{} for '{}' refused: {}", rpc, owner, lease.status().message());
  return lease;
}

}  // namespace nexus::daemon
