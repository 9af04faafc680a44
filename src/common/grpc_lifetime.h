// How a Nexus service process holds and leaves the gRPC library.
//
// Hold a GrpcLibraryHold for the whole time the service runs (declared before
// anything that owns host state: the lambda runner, nodes, the database) and
// end the process with ExitWithoutGrpcShutdown. Why: with this gRPC (1.51),
// the library's final shutdown — run by whichever gRPC object releases the
// last reference, e.g. the ServerBuilder at the end of Run — sometimes waits
// up to ~10 s for an internal executor thread still in a poll after a sync
// server stopped (seen after bursts of concurrent uploads). Run's own
// teardown then happened only after that wait, or never, when a supervisor
// gave up and killed the process first: lambda cgroups were left on the
// host. With the hold the library stays initialised until exit, every
// destructor of ours runs at once, and the process leaves without gRPC's
// shutdown: the kernel closes its sockets and ends its threads.
#pragma once

namespace nexus {

class GrpcLibraryHold {
 public:
  GrpcLibraryHold();
  ~GrpcLibraryHold() = default;  // no grpc_shutdown: see above
  GrpcLibraryHold(const GrpcLibraryHold&) = delete;
  GrpcLibraryHold& operator=(const GrpcLibraryHold&) = delete;
};

// Flushes the logs and stdio and ends the process with `code`, skipping
// static destructors (gRPC's threads are still running).
[[noreturn]] void ExitWithoutGrpcShutdown(int code);

}  // namespace nexus
