// ReadFileToString: all of a real file, or "" when it cannot be read; for
// tests that look at what code under test wrote to disk (or at testdata).
// Thread-safe.
#pragma once

#include <string>

#include "common/env.h"

namespace nexus::testing {

inline std::string ReadFileToString(const std::string& path) {
  constexpr size_t kMaxTestFileBytes = 256 << 20;
  PosixEnv env;
  auto contents = env.ReadFile(path, kMaxTestFileBytes);
  return contents.ok() ? std::move(contents).value() : std::string();
}

}  // namespace nexus::testing
