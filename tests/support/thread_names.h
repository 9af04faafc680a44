// The names of this process's threads, from /proc/self/task: for tests that
// check which threads a component starts (or never starts).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace nexus::testing {

inline std::vector<std::string> ThreadNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name)) names.push_back(name);
  }
  return names;
}

// Threads named `name` (its first 15 bytes: what the kernel keeps).
inline int ThreadsNamed(const std::string& name) {
  int n = 0;
  for (const std::string& t : ThreadNames()) n += t == name.substr(0, 15) ? 1 : 0;
  return n;
}

}  // namespace nexus::testing
