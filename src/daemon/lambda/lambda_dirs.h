// The lambda runner's directories on the host: made private and ours,
// removed only when empty, and the check that keeps them away from "/" and
// relative paths. Every touch goes through the Env it is given;
// thread-compatible.
#pragma once

#include <string>

#include "common/env.h"
#include "common/status.h"

namespace nexus::daemon::runtime {

// Makes `path` a directory of ours, mode 0700, creating it (and missing
// parents) if needed: not a symlink, not someone else's, whatever it was.
Status MakeOwnPrivateDir(Env& env, const std::string& path);

// Removes the directory `path` if it is empty; anything else stays, quietly
// when it is still in use or already gone.
void RemoveIfEmpty(Env& env, const std::string& path);

// kInternal unless `dir` is an absolute directory other than "/".
Status RuntimeDirUsable(const std::string& dir);

// `failure` as kInternal, its message kept. A file the runner cannot write or
// find is the host's trouble, never the caller's: Env's kNotFound or
// kAlreadyExists must not read as an answer about the request.
Status AsInternal(const Status& failure);

}  // namespace nexus::daemon::runtime
