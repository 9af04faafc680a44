// The lambda runner's directories on the host: made private and ours,
// removed only when empty, and the check that keeps them away from "/" and
// relative paths. Plain system calls; thread-compatible.
#pragma once

#include <string>

#include "common/status.h"

namespace nexus::daemon::runtime {

// Makes `path` a directory of ours, mode 0700, creating it (and missing
// parents) if needed: not a symlink, not someone else's, whatever it was.
Status MakeOwnPrivateDir(const std::string& path);

// Removes the directory `path` if it is empty; anything else stays, quietly
// when it is still in use (ENOTEMPTY) or already gone.
void RemoveIfEmpty(const std::string& path);

// kInternal unless `dir` is an absolute directory other than "/".
Status RuntimeDirUsable(const std::string& dir);

}  // namespace nexus::daemon::runtime
