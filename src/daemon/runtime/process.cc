#include "daemon/runtime/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>

#include "common/fd.h"
#include "daemon/runtime/posix_child.h"

namespace nexus::daemon::runtime {
namespace {

struct Pipe {
  Fd read;
  Fd write;
};

// Pipe ends live above the descriptors a child is given (0-3): were one of
// them, say, fd 0 (a daemon started with stdin closed), an earlier dup2 in the
// spawn actions would overwrite it before it is used.
constexpr int kLowestPipeFd = 10;

Result<Fd> RaiseFd(Fd fd) {
  if (fd.get() >= kLowestPipeFd) return fd;
  int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, kLowestPipeFd);
  if (high < 0) return ErrnoError(StatusCode::kInternal, "fcntl F_DUPFD_CLOEXEC", errno);
  return Fd(high);
}

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(StatusCode::kInternal, "pipe2", errno);
  Fd r(fds[0]), w(fds[1]);
  Pipe p;
  NEXUS_ASSIGN_OR_RETURN(p.read, RaiseFd(std::move(r)));
  NEXUS_ASSIGN_OR_RETURN(p.write, RaiseFd(std::move(w)));
  return p;
}

// A pidfd turns "the child exited" into a readable descriptor, so one poll()
// waits for output, stdin space, exit and the deadline at once. Kernels
// without pidfd_open (< 5.3) fall back to short poll slices and WNOHANG.
int OpenPidFd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  errno = ENOSYS;
  return -1;
#endif
}

// The posix_spawn plumbing; frees its attribute objects on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions_);
    ::posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t* actions() { return &actions_; }
  posix_spawnattr_t* attr() { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

class PosixProcessRunner final : public ProcessRunner {
 public:
  Result<std::unique_ptr<Child>> Spawn(const SpawnOptions& options) override;
};

Result<std::unique_ptr<Child>> PosixProcessRunner::Spawn(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty() || options.argv[0][0] != '/') {
    return InvalidArgumentError("spawn: argv[0] must be an absolute path");
  }
  const std::string& program = options.argv[0];
  SpawnSetup setup;
  Pipe in, out, err, ctl;
  const bool pipes = options.output_file.empty();
  if (pipes) {
    NEXUS_ASSIGN_OR_RETURN(in, MakePipe());
    NEXUS_ASSIGN_OR_RETURN(out, MakePipe());
    NEXUS_ASSIGN_OR_RETURN(err, MakePipe());
    ::posix_spawn_file_actions_adddup2(setup.actions(), in.read.get(), 0);
    ::posix_spawn_file_actions_adddup2(setup.actions(), out.write.get(), 1);
    ::posix_spawn_file_actions_adddup2(setup.actions(), err.write.get(), 2);
  } else {
    ::posix_spawn_file_actions_addopen(setup.actions(), 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(setup.actions(), 1, options.output_file.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0640);
    ::posix_spawn_file_actions_adddup2(setup.actions(), 1, 2);
  }
  int next_fd = 3;
  if (options.control_pipe) {
    NEXUS_ASSIGN_OR_RETURN(ctl, MakePipe());
    ::posix_spawn_file_actions_adddup2(setup.actions(), ctl.write.get(), next_fd++);
  }
  // A caller's descriptor below kLowestPipeFd could be one an earlier dup2
  // of these actions overwrites; such ones are passed through a high copy.
  std::vector<Fd> raised;
  for (const SpawnOptions::ExtraFd& extra : options.extra_fds) {
    int source = -1;
    switch (extra.kind) {
      case SpawnOptions::ExtraFd::Kind::kStdoutPipe:
        source = out.write.get();
        break;
      case SpawnOptions::ExtraFd::Kind::kStderrPipe:
        source = err.write.get();
        break;
      case SpawnOptions::ExtraFd::Kind::kCallers:
        source = extra.fd;
        if (source >= 0 && source < kLowestPipeFd) {
          int high = ::fcntl(source, F_DUPFD_CLOEXEC, kLowestPipeFd);
          if (high < 0) return ErrnoError(StatusCode::kInternal, "fcntl F_DUPFD_CLOEXEC", errno);
          raised.emplace_back(high);
          source = high;
        }
        break;
    }
    if (source < 0) {
      return InvalidArgumentError("spawn '" + program +
                                  "': an extra descriptor needs pipes or a caller's fd");
    }
    ::posix_spawn_file_actions_adddup2(setup.actions(), source, next_fd++);
  }
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
  // Our own descriptors are close-on-exec; this also drops any a library or
  // our parent left inheritable, so the child sees exactly 0-2 and those above.
  ::posix_spawn_file_actions_addclosefrom_np(setup.actions(), next_fd);
#endif

  // Its own process group, so a Ctrl-C meant for nexusd does not reach runc
  // (which would forward it into the sandbox): nexusd decides teardown. An
  // empty signal mask and default dispositions, whatever this thread has.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  ::posix_spawnattr_setsigmask(setup.attr(), &none);
  ::posix_spawnattr_setsigdefault(setup.attr(), &all);
  ::posix_spawnattr_setpgroup(setup.attr(), 0);
  ::posix_spawnattr_setflags(
      setup.attr(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc =
      ::posix_spawn(&pid, program.c_str(), setup.actions(), setup.attr(), argv.data(), envp.data());
  if (rc != 0) return ErrnoError(StatusCode::kInternal, "spawn '" + program + "'", rc);

  Fd pidfd(OpenPidFd(pid));
  return std::unique_ptr<Child>(
      std::make_unique<PosixChild>(pid, std::move(pidfd), std::move(in.write), std::move(out.read),
                                   std::move(err.read), std::move(ctl.read)));
}

}  // namespace

Result<ProcessOutcome> ProcessRunner::Run(const SpawnOptions& spawn, const CommunicateOptions& io) {
  NEXUS_ASSIGN_OR_RETURN(auto child, Spawn(spawn));
  return child->Communicate(io);
}

std::unique_ptr<ProcessRunner> NewPosixProcessRunner() {
  return std::make_unique<PosixProcessRunner>();
}

std::string FindExecutable(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? name : "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path
                              : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

}  // namespace nexus::daemon::runtime
