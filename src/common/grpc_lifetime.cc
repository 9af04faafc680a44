#include "common/grpc_lifetime.h"

#include <grpc/grpc.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace nexus {

GrpcLibraryHold::GrpcLibraryHold() { grpc_init(); }

void ExitWithoutGrpcShutdown(int code) {
  spdlog::shutdown();
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace nexus
