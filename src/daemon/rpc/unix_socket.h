// Unix-domain listen addresses for nexusd's gRPC server: parsing "unix:PATH"
// and making PATH free for bind without stealing it from a live server.
//
// gRPC unlinks whatever socket file sits at the path before it binds, so two
// daemons started on one data dir would silently take the socket from each
// other; ClearStaleSocket refuses when someone still answers there.
// Free functions touching the filesystem; thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus::daemon {

// The filesystem path of a "unix:PATH" or "unix://PATH" address;
// kInvalidArgument for anything else.
Result<std::string> UnixSocketPath(std::string_view address);

// Nothing at `path`: ok. A socket nobody accepts on (left by a crash): removed.
// A socket a live process accepts on: kAlreadyExists. Anything that is not a
// socket: kInvalidArgument (never deleted).
Status ClearStaleSocket(const std::string& path);

}  // namespace nexus::daemon
