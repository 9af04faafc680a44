// nexus-lambda-init: the init process (pid 1) of every lambda sandbox.
//
// A small static program, bind-mounted read-only into the sandbox at
// /sandbox/init, that replaces a Python supervisor: a cold run then starts
// one interpreter (the program's), not two, and a pool sandbox holds one.
// Linked statically so that starting it costs an exec and nothing else (no
// dynamic loader, no libraries to map). It uses libc only; nothing here may
// throw.
//
// Protocol (sandbox.h is the host side). Descriptors, passed through runc:
// 3 the control pipe (reports), 4 and 5 nexusd's own stdout and stderr pipes,
// which become the program's 1 and 2 (so its output reaches nexusd directly,
// not through runc's relay, and is all there when the exit report arrives), 6
// the sandbox's seccomp program (see below). stdin starts with a one-line order
// "<runtime> <timeout_ms>"; the rest of stdin is the program's. Reports go
// to fd 3, a pipe separate from the program's output, one line each:
//
//   ready                  up, and (pool) the interpreter is waiting for code
//   exit <code> <ms>       the program exited
//   signal <n> <ms>        a signal killed it
//   timeout <ms>           it ran out of time; every process was SIGKILLed
//
// <ms> is the time the user's code ran: from the moment a started
// interpreter is told to run /sandbox/main.py (cold: from the moment it is
// up, its go byte already waiting) or `sh` is started, to the
// program's exit. Started as `init pool` (a pool sandbox, whose order comes
// later), it starts the Python interpreter at once and says "ready" when that
// is up and waiting on a pipe, so a warm run pays neither the container's nor
// the interpreter's start-up; started as `init` (a cold run, whose order is
// already written), it reads the order first and starts only what it needs.
//
// Why a supervisor at all: as pid 1 of its pid namespace the user's program
// would ignore signals it has no handler for (its own SIGTERM), and its exit
// status would reach the host through runc folded into 128+n; here it is an
// ordinary child with default signal dispositions, and "killed by signal 9"
// stays distinct from "exit(137)". As pid 1 it also reaps orphans, so dead
// grandchildren never hold pids of the sandbox's pids limit.
//
// The seccomp filter: nexusd compiles the sandbox's profile once
// (seccomp_bpf.h) instead of runc compiling it at every start; the init
// installs it before anything else — nothing in the sandbox runs unfiltered
// but these few lines of ours — and its children inherit it. Without a
// valid program it exits and never says "ready".
//
// It runs with the user's uid, so it makes itself non-dumpable first: its
// /proc/1 entries then belong to root, and the program (same uid, no
// capabilities) can neither reopen fd 3 through /proc/1/fd/3 nor ptrace it
// to forge a report. exec makes the program dumpable again, so it runs as
// usual. Even a forged report only misreports the snippet's own run (the
// host clamps every value); what protects the host (namespaces, cgroup
// limits, seccomp, the host-side deadline) is outside its reach.
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace {

constexpr int kControlFd = 3;
constexpr int kStdoutFd = 4;
constexpr int kStderrFd = 5;
constexpr int kSeccompFd = 6;
constexpr const char kPython[] = "/usr/bin/python3";
constexpr const char kShell[] = "/bin/sh";
constexpr const char kMainSh[] = "/sandbox/main.sh";

// Run by `python3 -u -c kBoot <go> <up>`: says it is up on <up>, waits for
// one byte on <go>, then runs /sandbox/main.py as __main__ the way `python3
// /sandbox/main.py` would (argv, sys.path[0], tracebacks that start at the
// user's code).
constexpr const char kBoot[] = R"PY(
import os, sys
_go, _up = int(sys.argv[1]), int(sys.argv[2])
os.write(_up, b"u")
os.close(_up)
if not os.read(_go, 1):
    os._exit(0)
os.close(_go)
_path = "/sandbox/main.py"
def _hook(kind, value, tb):
    while tb is not None and tb.tb_frame.f_code.co_filename != _path:
        tb = tb.tb_next
    sys.__excepthook__(kind, value.with_traceback(tb), tb)
sys.excepthook = _hook
sys.argv = [_path]
sys.path[0] = "/sandbox"
_main = type(sys)("__main__")
_main.__file__ = _path
_main.__builtins__ = __builtins__
sys.modules["__main__"] = _main
with open(_path, "rb") as _f:
    _code = compile(_f.read(), _path, "exec")
exec(_code, _main.__dict__)
)PY";

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void Report(const char* line) {
  size_t len = strlen(line);
  while (write(kControlFd, line, len) < 0 && errno == EINTR) {
  }
}

void WriteAll(int fd, const char* text) {
  size_t len = strlen(text);
  while (len > 0) {
    ssize_t n = write(fd, text, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    len -= static_cast<size_t>(n);
  }
}

// Reads the BPF program from kSeccompFd (pread: the descriptor's offset is
// shared with every other sandbox's) and installs it. False on any failure.
bool InstallSeccomp() {
  static sock_filter program[BPF_MAXINSNS + 1];
  ssize_t n = pread(kSeccompFd, program, sizeof program, 0);
  close(kSeccompFd);
  if (n <= 0 || n % static_cast<ssize_t>(sizeof(sock_filter)) != 0 ||
      n > static_cast<ssize_t>(BPF_MAXINSNS * sizeof(sock_filter))) {
    return false;
  }
  sock_fprog prog = {static_cast<unsigned short>(n / sizeof(sock_filter)), program};
  // runc already set no_new_privs (noNewPrivileges); the kernel requires it.
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// Reads the order byte by byte, so that everything after its newline stays
// in the pipe for the program. False at end of input or on a line too long.
bool ReadOrder(char* line, size_t size) {
  size_t len = 0;
  for (;;) {
    char c;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (c == '\n') break;
    if (len + 1 >= size) return false;
    line[len++] = c;
  }
  line[len] = '\0';
  return true;
}

// fork + exec with the dispositions and mask a shell would give the program:
// everything default, nothing blocked. `keep` are descriptors to pass on.
pid_t Spawn(const char* const argv[], const int* keep, int nkeep) {
  pid_t pid = fork();
  if (pid != 0) return pid;  // parent, or -1
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int i = 0; i < nkeep; ++i) fcntl(keep[i], F_SETFD, 0);
  execv(argv[0], const_cast<char* const*>(argv));
  char msg[256];
  snprintf(msg, sizeof msg, "cannot start %s: %s\n", argv[0], strerror(errno));
  WriteAll(STDERR_FILENO, msg);
  _exit(127);
}

struct Python {
  pid_t pid = -1;
  int go = -1;  // write end: one byte starts the code, closing ends it
  int up = -1;  // read end: a byte (or EOF) once the interpreter is up
};

Python StartPython() {
  Python py;
  int go[2], up[2];
  if (pipe2(go, O_CLOEXEC) != 0) return py;
  if (pipe2(up, O_CLOEXEC) != 0) {
    close(go[0]);
    close(go[1]);
    return py;
  }
  char go_arg[16], up_arg[16];
  snprintf(go_arg, sizeof go_arg, "%d", go[0]);
  snprintf(up_arg, sizeof up_arg, "%d", up[1]);
  const char* argv[] = {kPython, "-u", "-c", kBoot, go_arg, up_arg, nullptr};
  const int keep[] = {go[0], up[1]};
  py.pid = Spawn(argv, keep, 2);
  close(go[0]);
  close(up[1]);
  if (py.pid < 0) {
    close(go[1]);
    close(up[0]);
    return py;
  }
  py.go = go[1];
  py.up = up[0];
  return py;
}

// Tells the interpreter to run the code (a closed pipe would tell it to quit).
void Go(Python& py) {
  if (py.go < 0) return;
  while (write(py.go, "g", 1) < 0 && errno == EINTR) {
  }
  close(py.go);
  py.go = -1;
}

// Blocks until the interpreter says it is up, or has died trying.
void AwaitUp(Python& py) {
  if (py.up < 0) return;
  char c;
  while (read(py.up, &c, 1) < 0 && errno == EINTR) {
  }
  close(py.up);
  py.up = -1;
}

// Waits for `pid` until `deadline_ms` (monotonic), reaping every other child
// (orphans re-parented to us) on the way. SIGCHLD is blocked, so it queues
// for sigtimedwait. Returns false on timeout.
bool WaitFor(pid_t pid, int64_t deadline_ms, int* status) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  for (;;) {
    int st;
    pid_t done;
    while ((done = waitpid(-1, &st, WNOHANG)) > 0) {
      if (done == pid) {
        *status = st;
        return true;
      }
    }
    if (done < 0 && errno == ECHILD) {  // cannot happen while pid runs
      *status = 0;
      return true;
    }
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) return false;
    timespec ts = {static_cast<time_t>(left / 1000), static_cast<long>(left % 1000) * 1000000};
    sigtimedwait(&chld, nullptr, &ts);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Before any child exists: /proc/1/* owned by root, not by the program's
  // uid (see the header). A child inherits this until its exec.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    WriteAll(STDERR_FILENO, "cannot make the init non-dumpable\n");
    return 1;
  }
  if (!InstallSeccomp()) {
    WriteAll(STDERR_FILENO, "cannot install the sandbox's seccomp filter\n");
    return 1;
  }
  if (dup2(kStdoutFd, STDOUT_FILENO) < 0 || dup2(kStderrFd, STDERR_FILENO) < 0) {
    WriteAll(STDERR_FILENO, "cannot take the output descriptors\n");
    return 1;
  }
  close(kStdoutFd);
  close(kStderrFd);
  // fd 3 must not reach the program: it could write reports of its own.
  fcntl(kControlFd, F_SETFD, FD_CLOEXEC);
  // Writing to a pipe whose reader is gone (an interpreter that died before
  // its go byte) must fail with EPIPE here, not kill us.
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);

  // A pool sandbox gets its interpreter ready before its order comes.
  Python python;
  if (argc > 1 && strcmp(argv[1], "pool") == 0) {
    python = StartPython();
    AwaitUp(python);
  }
  Report("ready\n");

  char order[64];
  char runtime[32];
  long long timeout_ms = 0;
  if (!ReadOrder(order, sizeof order) || sscanf(order, "%31s %lld", runtime, &timeout_ms) != 2 ||
      timeout_ms <= 0) {
    return 0;  // no order (a pool sandbox discarded): leave quietly
  }

  pid_t pid;
  int64_t started;
  if (strcmp(runtime, "python3") == 0) {
    if (python.pid < 0) {
      // Cold: the go byte waits in the pipe, so the interpreter runs the
      // code as soon as it is up instead of waiting for us to be scheduled
      // again; its "up" still marks the start of the code.
      python = StartPython();
      Go(python);
      AwaitUp(python);
      started = NowMs();
    } else {
      started = NowMs();
      Go(python);
    }
    pid = python.pid;
  } else if (strcmp(runtime, "sh") == 0) {
    if (python.pid > 0) {
      kill(python.pid, SIGKILL);
      close(python.go);
      int st;
      int64_t forever = NowMs() + 3600 * 1000;
      WaitFor(python.pid, forever, &st);
    }
    const char* argv[] = {kShell, kMainSh, nullptr};
    started = NowMs();
    pid = Spawn(argv, nullptr, 0);
  } else {
    WriteAll(STDERR_FILENO, "unknown runtime\n");
    return 0;
  }
  if (pid < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "cannot start the program: %s\n", strerror(errno));
    WriteAll(STDERR_FILENO, msg);
    Report("exit 127 0\n");
    return 0;
  }

  int status = 0;
  char line[64];
  if (!WaitFor(pid, started + timeout_ms, &status)) {
    // Every process of the namespace but us; then the program's status.
    kill(-1, SIGKILL);
    WaitFor(pid, NowMs() + 3600 * 1000, &status);
    snprintf(line, sizeof line, "timeout %lld\n", static_cast<long long>(NowMs() - started));
  } else if (WIFSIGNALED(status)) {
    snprintf(line, sizeof line, "signal %d %lld\n", WTERMSIG(status),
             static_cast<long long>(NowMs() - started));
  } else {
    snprintf(line, sizeof line, "exit %d %lld\n", WEXITSTATUS(status),
             static_cast<long long>(NowMs() - started));
  }
  Report(line);
  // Our exit ends the namespace: the kernel kills whatever is left in it.
  return 0;
}
