// The key download links are signed with, kept in a file so that every
// nexus-api of an installation shares it: several gateways side by side
// (behind one load balancer) each honour the links the others mint, and a
// restart voids none of them.
//
// The first process that finds the file missing creates it with a fresh
// random key, mode 0600; one that loses that race reads the winner's key.
// A file whose mode is wider than 0600, or that does not hold exactly
// DownloadLinks::kKeyBytes, is refused: the gateway does not start with a
// key someone else may have read or one it did not write.
#pragma once

#include <string>

#include "common/env.h"
#include "common/result.h"

namespace nexus::gateway {

// The key in `path`, created first if missing (its parent directories too,
// mode 0700). kInvalidArgument when its mode is wider than 0600 or its size
// wrong.
Result<std::string> LoadOrCreateDownloadLinkKey(Env& env, const std::string& path);

}  // namespace nexus::gateway
