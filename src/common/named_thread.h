// Threads that carry a name (what /proc/<pid>/task/*/comm, `top -H` and gdb
// show) from their first step.
#pragma once

#include <pthread.h>

#include <string>
#include <thread>
#include <utility>

namespace nexus {

// Starts `fn` on a new thread that names itself `name` before anything else.
// Naming it from the creator once std::thread has returned would race the
// thread's start: work it does before the name is set would be seen under
// the parent's name. The kernel keeps the first 15 bytes. Throws what
// std::thread throws.
template <typename Fn>
std::thread StartNamedThread(std::string name, Fn&& fn) {
  return std::thread([name = std::move(name), fn = std::forward<Fn>(fn)]() mutable {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    fn();
  });
}

}  // namespace nexus
