// The request log of nexus-auth and nexusd: a gRPC server interceptor that
// takes the request id the gateway sends with each call (x-request-id
// metadata), makes it the serving thread's request id (logging.h) so the
// lines the call logs carry it, and logs one line when the call ends:
// method, status, duration. Successful calls are logged at debug level,
// failed ones at info: with the default level a failure is traceable to its
// HTTP request, and a busy server does not write a line per call.
//
// Install with ServerBuilder::experimental().SetInterceptorCreators(...).
// Thread-safe: one interceptor per call.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <vector>

namespace nexus {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RequestLogInterceptors();

}  // namespace nexus
