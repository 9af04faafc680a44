// Conversion between nexus::Status and grpc::Status, used only by service
// adapters and gRPC clients (domain code never includes grpcpp).
//
// The Nexus code travels in the gRPC status details as "<code_name>" or
// "<code_name>;retry_after=<seconds>", next to the closest gRPC code, so a
// generic gRPC client still sees a sensible code. A gRPC status with no Nexus
// details (a transport failure) maps from its gRPC code: UNAVAILABLE,
// DEADLINE_EXCEEDED and CANCELLED become kUnavailable ("backend down").
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace nexus {

grpc::Status ToGrpcStatus(const Status& status);
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace nexus
