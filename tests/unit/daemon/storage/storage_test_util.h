// Helpers shared by the storage tests: a per-test temp directory, fast
// deterministic pseudo-random bytes, a count of files under a directory, and
// a wait for what another thread does (an upload's chunk writer).
#pragma once

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "support/temp_dir.h"

namespace nexus::daemon::storage::testing {

using ::nexus::testing::TempDir;

// xorshift64*: reproducible from `seed`, ~GB/s, good enough to look random
// to a content-defined chunker.
inline std::string PseudoRandomBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15 + 1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    const uint64_t v = x * 0x2545f4914f6cdd1d;
    std::memcpy(out.data() + i, &v, 8);
  }
  for (; i < n; ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    out[i] = static_cast<char>(x * 0x2545f4914f6cdd1d >> 56);
  }
  return out;
}

// Regular files anywhere below `dir`, optionally only those whose name
// starts with `prefix`.
inline int CountFiles(const std::string& dir, const std::string& prefix = "") {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().filename().string().starts_with(prefix)) ++n;
  }
  return n;
}

// True as soon as `done` is, false if it is still not after 10 s.
inline bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace nexus::daemon::storage::testing
