// The names of this process's threads, from /proc/self/task: for tests that
// check which threads a component starts (or never starts).
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>
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

// Threads named `name` once those that were joined have left
// /proc/self/task. pthread_join returns when the exiting thread clears its
// tid, which the kernel does before it removes the thread's /proc entry, so
// a thread joined a moment ago can still be listed for a short while. Polls
// for up to `within`; returns the last count seen.
inline int ThreadsNamedAfterJoins(const std::string& name,
                                  std::chrono::milliseconds within = std::chrono::seconds(1)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  int n = ThreadsNamed(name);
  while (n != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    n = ThreadsNamed(name);
  }
  return n;
}

}  // namespace nexus::testing
