#include "daemon/runtime/seccomp_bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "daemon/runtime/oci_spec.h"

namespace nexus::daemon::runtime {
namespace {

using nlohmann::json;

// One syscall a filtered process makes, and what it must get back: a
// non-negative result, or -1 with this errno.
struct Probe {
  const char* what;
  long nr;
  long args[3];
  int expect_errno;  // 0: must succeed
};

// Installs `program` in a forked child (as the sandbox's init does: no new
// privileges, then the filter) and makes the probes there. The child's exit
// status is 0 when every probe answered as expected, else 1 + the index of
// the first that did not; a signal that killed it comes back as -signal.
int RunProbes(const std::vector<sock_filter>& program, const std::vector<Probe>& probes) {
  pid_t pid = fork();
  if (pid == 0) {
    sock_fprog prog{static_cast<unsigned short>(program.size()),
                    const_cast<sock_filter*>(program.data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(100);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(101);
    for (size_t i = 0; i < probes.size(); ++i) {
      const Probe& p = probes[i];
      long r = syscall(p.nr, p.args[0], p.args[1], p.args[2]);
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

// A profile small enough to reason about: the highest syscall it names is
// exit_group (231 on x86-64), so unshare (272) is above it and mount (165)
// below.
json SmallProfile() {
  return {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", EPERM},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"}},
      {"syscalls",
       {{{"names", {"write", "getpid", "exit_group", "no_such_syscall", "socketcall"}},
         {"action", "SCMP_ACT_ALLOW"}},
        {{"names", {"kill"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", EACCES}},
        {{"names", {"personality"}},
         {"action", "SCMP_ACT_ALLOW"},
         {"args", {{{"index", 0}, {"value", 0xffffffffu}, {"op", "SCMP_CMP_EQ"}}}}},
        {{"names", {"getpriority"}},
         {"action", "SCMP_ACT_ALLOW"},
         {"args",
          {{{"index", 0}, {"value", 0x2}, {"valueTwo", 0}, {"op", "SCMP_CMP_MASKED_EQ"}}}}}}},
  };
}

#if defined(__x86_64__)
TEST(SeccompBpf, TheCompiledProgramAppliesEachRuleActionAndCondition) {
  auto program = CompileSeccompProfile(SmallProfile());
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  const std::vector<Probe> probes = {
      {"allowed", SYS_getpid, {0, 0, 0}, 0},
      {"not listed, below the highest named: the default", SYS_mount, {0, 0, 0}, EPERM},
      {"not listed, above the highest named: ENOSYS", SYS_unshare, {CLONE_NEWUSER, 0, 0}, ENOSYS},
      {"an ERRNO rule's own errno", SYS_kill, {0, 0, 0}, EACCES},
      {"EQ condition met", SYS_personality, {0xffffffff, 0, 0}, 0},
      {"EQ condition not met", SYS_personality, {ADDR_NO_RANDOMIZE, 0, 0}, EPERM},
      {"MASKED_EQ condition met", SYS_getpriority, {PRIO_PROCESS, 0, 0}, 0},
      {"MASKED_EQ condition not met", SYS_getpriority, {PRIO_USER, 0, 0}, EPERM},
  };
  EXPECT_EQ(RunProbes(*program, probes), 0);
}

TEST(SeccompBpf, ASyscallThroughAnAbiTheProfileDoesNotCoverKillsTheProcess) {
  json profile = SmallProfile();
  profile["architectures"] = {"SCMP_ARCH_X86_64"};
  auto program = CompileSeccompProfile(profile);
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  constexpr long kX32Bit = 0x40000000;
  EXPECT_EQ(RunProbes(*program, {{"x32 getpid", kX32Bit | 39, {0, 0, 0}, 0}}), -SIGSYS);
}

TEST(SeccompBpf, TheSandboxProfileRefusesWhatASnippetMustNotDo) {
  auto program = CompileSeccompProfile(SandboxSeccomp());
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  EXPECT_LE(program->size(), static_cast<size_t>(BPF_MAXINSNS));
  const std::vector<Probe> probes = {
      {"getpid", SYS_getpid, {0, 0, 0}, 0},
      {"write to stdout", SYS_write, {1, reinterpret_cast<long>(""), 0}, 0},
      {"unshare a user namespace", SYS_unshare, {CLONE_NEWUSER, 0, 0}, EPERM},
      {"mount", SYS_mount, {0, 0, 0}, EPERM},
      {"ptrace", SYS_ptrace, {0, 0, 0}, EPERM},
      {"bpf", SYS_bpf, {0, 0, 0}, EPERM},
      {"keyctl", SYS_keyctl, {0, 0, 0}, EPERM},
      {"clone3: libc falls back to clone", SYS_clone3, {0, 0, 0}, ENOSYS},
      {"clone with a namespace flag", SYS_clone, {CLONE_NEWNET, 0, 0}, EPERM},
      {"personality that disables ASLR", SYS_personality, {ADDR_NO_RANDOMIZE, 0, 0}, EPERM},
      {"personality query", SYS_personality, {0xffffffff, 0, 0}, 0},
  };
  EXPECT_EQ(RunProbes(*program, probes), 0);
}
#endif

TEST(SeccompBpf, ProfilesItCannotCompileFaithfullyAreErrors) {
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
  } cases[] = {
      {"an unsupported action", [](json& p) { p["syscalls"][0]["action"] = "SCMP_ACT_TRACE"; }},
      {"an unsupported default action", [](json& p) { p["defaultAction"] = "SCMP_ACT_LOG"; }},
      {"an unsupported comparison",
       [](json& p) { p["syscalls"][2]["args"][0]["op"] = "SCMP_CMP_GT"; }},
      {"two conditions on one argument",
       [](json& p) {
         p["syscalls"][2]["args"].push_back({{"index", 0}, {"value", 0}, {"op", "SCMP_CMP_EQ"}});
       }},
      {"an argument index past the sixth",
       [](json& p) { p["syscalls"][2]["args"][0]["index"] = 6; }},
      {"an errno out of range", [](json& p) { p["syscalls"][1]["errnoRet"] = 5000; }},
      {"no native architecture", [](json& p) { p["architectures"] = {"SCMP_ARCH_PPC64LE"}; }},
      {"not an object", [](json& p) { p = json::array(); }},
  };
  for (const auto& c : cases) {
    json profile = SmallProfile();
    c.edit(profile);
    EXPECT_FALSE(CompileSeccompProfile(profile).ok()) << c.what;
  }
}

TEST(SeccompBpf, ProgramBytesAreTheInstructionsInOrder) {
  std::vector<sock_filter> program = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                                      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4)};
  std::string bytes = SeccompProgramBytes(program);
  ASSERT_EQ(bytes.size(), 2 * sizeof(sock_filter));
  EXPECT_EQ(std::memcmp(bytes.data(), program.data(), bytes.size()), 0);
}

TEST(SeccompBpf, TheProgramFdIsReadOnlySealedAndHoldsTheProgram) {
  auto program = CompileSeccompProfile(SmallProfile());
  ASSERT_TRUE(program.ok());
  auto fd = SeccompProgramFd(*program);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  std::string bytes(64 << 10, '\0');
  ssize_t n = ::pread(*fd, bytes.data(), bytes.size(), 0);
  ASSERT_GT(n, 0);
  bytes.resize(static_cast<size_t>(n));
  EXPECT_EQ(bytes, SeccompProgramBytes(*program));
  EXPECT_EQ(::fcntl(*fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_TRUE(::fcntl(*fd, F_GETFD) & FD_CLOEXEC);
  // Sealed: not even a writable reopening could change it.
  const int seals = ::fcntl(*fd, F_GET_SEALS);
  const int all = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
  EXPECT_EQ(seals & all, all);
  ::close(*fd);
}

}  // namespace
}  // namespace nexus::daemon::runtime
