#include "cli/interrupt.h"

#include <signal.h>

#include <atomic>

namespace nexus::cli {
namespace {

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnSigint(int) {
  g_interrupted.store(true);
  // The next Ctrl-C is not caught: someone pressing it twice wants out now.
  ::signal(SIGINT, SIG_DFL);
}

}  // namespace

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnSigint;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: a prompt blocked in read() returns EINTR and sees the flag.
  sa.sa_flags = 0;
  ::sigaction(SIGINT, &sa, nullptr);
}

bool InterruptRequested() { return g_interrupted.load(); }

}  // namespace nexus::cli
