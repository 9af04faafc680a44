// A secret key kept in a file of its own (the JWT signing key, the download
// link key, ...): read it, or on the first start create it.
//
// The first process that finds the file missing writes a fresh key beside
// the path (mode 0600, parent directories 0700) and links it into place
// without replacing anything, so the file appears whole or not at all; one
// that loses that race reads the winner's key. A file whose mode is wider
// than 0600 (group, others, execute, set-id bits) or whose size is outside
// the key's bounds is refused: a service does not start with a key someone
// else may have read, or one it did not write.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/result.h"

namespace nexus {

// What a key file must hold.
struct KeyFileRules {
  std::string_view what;  // names the key in errors: "JWT key"
  size_t min_bytes = 0;
  size_t max_bytes = 0;  // equal to min_bytes: exactly that many
};

// The key in `path`; created from `new_key()` first when missing.
// kInvalidArgument when the file's mode or size breaks `rules`.
Result<std::string> LoadOrCreateKeyFile(Env& env, const std::string& path,
                                        const KeyFileRules& rules,
                                        const std::function<std::string()>& new_key);

}  // namespace nexus
