// Runs a compiled seccomp program in a forked child and makes syscalls
// under it: what a profile really answers, asked of the kernel itself.
// Header-only; for tests of the profiles (lambda's and the nodes').
#pragma once

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace nexus::testing {

// One syscall a filtered process makes, and what it must get back: a
// non-negative result, or -1 with this errno.
struct Probe {
  const char* what;
  long nr;
  long args[4];
  int expect_errno;  // 0: must succeed
};

// Where a socketpair probe writes its descriptors.
inline int socket_pair[2];
inline const long kPair = reinterpret_cast<long>(socket_pair);

// Installs `program` in a forked child (as the sandbox's init does: no new
// privileges, then the filter) and makes the probes there. The child's exit
// status is 0 when every probe answered as expected, else 1 + the index of
// the first that did not; a signal that killed it comes back as -signal.
inline int RunProbes(const std::vector<sock_filter>& program, const std::vector<Probe>& probes) {
  pid_t pid = fork();
  if (pid == 0) {
    sock_fprog prog{static_cast<unsigned short>(program.size()),
                    const_cast<sock_filter*>(program.data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(100);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(101);
    for (size_t i = 0; i < probes.size(); ++i) {
      const Probe& p = probes[i];
      long r = syscall(p.nr, p.args[0], p.args[1], p.args[2], p.args[3]);
      bool ok = p.expect_errno == 0 ? r >= 0 : (r == -1 && errno == p.expect_errno);
      if (!ok) _exit(static_cast<int>(1 + i));
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace nexus::testing
