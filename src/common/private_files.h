// Private files: what the services keep on disk (the data dir, nexus.db and
// auth.db, the chunk store) holds every user's files, accounts and the
// metadata that names them, so other local users must not read any of it.
//
// MakePrivateDirectory creates a directory with mode 0700 from the start (its
// missing parents get the usual mode under the umask), or takes group and
// other permissions away from one that exists: an installation made by an
// older version, or by `mkdir` under a umask of 022, becomes private at the
// next start. The services are its only readers and run as its owner (or as
// root), so nothing they need is lost. A directory with the sticky bit is a
// shared one such as /tmp: refused, never changed.
//
// Plain system calls; thread-compatible.
#pragma once

#include <string>

#include "common/status.h"

namespace nexus {

Status MakePrivateDirectory(const std::string& dir);

// Takes group and other permissions away from the file at `path` if it has
// any; a missing file is fine.
Status MakeFilePrivate(const std::string& path);

// fsync of the directory `dir`: makes the entries created in it durable.
Status SyncDirectory(const std::string& dir);

}  // namespace nexus
