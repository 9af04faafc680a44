// The edge between nexusd's domain Status and the gRPC status a client sees,
// shared by every adapter (health_rpc.h, files_rpc.h, tree_rpc.h,
// nodes_rpc.h, lambda_rpc.h), and the small steps each call starts with:
// taking a slot of a long call, timing a stream's Read and Write.
//
// Conventions every RPC follows (the gateway relies on them):
// - Errors carry the Nexus code in the status details (common/grpc_status.h).
//   A kInternal status never reaches the client with its message (it may name
//   host paths or chunk hashes): it is logged and answered "internal error".
// - The gateway fills `owner` from the validated token; nexusd scopes every
//   lookup to it, so another owner's file or path is NOT_FOUND. An empty one
//   is a bug on the gateway's side, never "everybody's": the domain refuses
//   it where it checks owners (tree, uploads), the adapter (CheckOwner)
//   where it does not.
// Pure functions; thread-safe.
#pragma once

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/user_slots.h"
#include "daemon/rpc/stream_watchdog.h"

namespace nexus::daemon {

// `status` as the client may see it: kInternal reduced to "internal error",
// a full disk to "insufficient storage" alone, whatever context (file names,
// chunk hashes) was added on the way up.
grpc::Status ToClient(const Status& status);

// The one exit for domain errors: logs what the client will not see (or
// what an operator should), then converts. OK for an ok status.
grpc::Status Reply(std::string_view rpc, const Status& status);

// CANCELLED has no Nexus code: the client that cancelled never reads it.
grpc::Status Cancelled(std::string_view what);

// kInvalidArgument "<rpc>: owner is empty" for an empty owner.
Status CheckOwner(std::string_view rpc, const std::string& owner);

// A slot of `slots` for `owner`: the refusal (kRateLimited) when the owner
// holds their share or the server its cap of that kind of call.
Result<UserSlots::Lease> Admit(std::string_view rpc, UserSlots& slots, const std::string& owner);

// A stream's Read and Write, timed by the call's idle watch.
template <typename Stream, typename Message>
bool WatchedRead(StreamWatchdog::Watch& watch, Stream* stream, Message* msg) {
  watch.Waiting();
  const bool ok = stream->Read(msg);
  watch.Done();
  return ok;
}
template <typename Stream>
bool WatchedWrite(StreamWatchdog::Watch& watch, Stream* stream, const grpc::ByteBuffer& msg) {
  watch.Waiting();
  const bool ok = stream->Write(msg);
  watch.Done();
  return ok;
}

}  // namespace nexus::daemon
