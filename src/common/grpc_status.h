// Conversion between nexus::Status and grpc::Status, used only by service
// adapters and gRPC clients (domain code never includes grpcpp).
//
// The Nexus code travels in the gRPC status details as "<code_name>", then
// optional ";key=value" fields: ";retry_after=<seconds>" and
// ";reason=<reason_name>". It rides next to the closest gRPC code, so a
// generic gRPC client still sees a sensible code. Unknown keys are skipped, so
// a peer one version apart still reads the code and the fields it knows. A gRPC status with no
// Nexus details (a transport failure) maps from its gRPC code: UNAVAILABLE, DEADLINE_EXCEEDED and
// CANCELLED become kUnavailable ("backend down").
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace nexus {

// A status whose reason has a ReasonClientMessage crosses the wire with that
// text instead of its own: such messages name host details (paths, uids,
// missing programs) that stay in the sender's log.
grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

// ToGrpcStatus for an answer to a client of a service: a kInternal message
// (a bug, host paths, runc output) becomes "internal error" as well, and
// what is hidden is logged first as "<what>: <message>".
grpc::Status ToGrpcStatusForClient(std::string_view what, const Status& status);

}  // namespace nexus
