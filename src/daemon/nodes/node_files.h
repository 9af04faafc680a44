// The few file operations of nodes/ on the host: private directories,
// small whole files, tree removal, and a runtime's log folded into its
// failure, all through an Env. Thread-safe as the Env is.
#pragma once

#include <cstdint>
#include <string>

#include "common/env.h"
#include "common/status.h"

namespace nexus::daemon::runtime {

// The whole file at `path`; "" when it cannot be read.
std::string ReadFileOrEmpty(Env& env, const std::string& path);

// The host's memory in bytes: MemTotal of /proc/meminfo (in `env`); 0 when
// that cannot be read.
int64_t HostMemoryBytes(Env& env);

// A directory only root may enter: made 0700 (so it is never open, whatever
// the umask) or, when an older version made it, narrowed to 0700.
Status MakeRootOnlyDir(Env& env, const std::string& path);

// Removes `path` and everything below it; absent is success.
Status RemoveDirTree(Env& env, const std::string& path);

// A failed `runc create` says why only in its log file (the container's
// stdio goes there too); the last error line is worth keeping in the Status.
Status WithRuntimeLog(Env& env, Status failed, const std::string& log_path);

}  // namespace nexus::daemon::runtime
