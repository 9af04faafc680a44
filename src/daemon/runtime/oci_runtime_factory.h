// MakeOciRuntime: the OCI engines nexusd can drive, one row each of a table
// (name, what the host must offer, how to make it), as crun picks its cgroup
// manager; adding an engine is adding a row.
//
// Both engines today speak runc's command line, so both rows make a
// RuncRuntime; crun additionally needs a pure cgroup v2 host. A configured
// binary ("runc", "crun" or a path to either) names its engine by its file
// name; any other binary is driven as runc, as it always has been.
//
// Pure functions; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "daemon/runtime/cgroups.h"
#include "daemon/runtime/oci_runtime.h"
#include "daemon/runtime/process.h"

namespace nexus::daemon::runtime {

// The engine (a row of the table) that drives `binary`: "crun" when its file
// name is crun, else "runc".
std::string OciEngineFor(const std::string& binary);

// Whether the host's cgroups suit `engine`: kUnavailable saying what to
// select instead when they do not, kInvalidArgument for an unknown engine.
Status CheckOciEngineFits(std::string_view engine, const CgroupFs& cgroups);

// The runtime of `engine` with `options` (the binary, its --root), running
// its commands through `processes`, which must outlive it. kInvalidArgument
// naming the known engines when `engine` is none of them.
Result<std::unique_ptr<OciRuntime>> MakeOciRuntime(std::string_view engine, RuncOptions options,
                                                   ProcessRunner& processes);

}  // namespace nexus::daemon::runtime
