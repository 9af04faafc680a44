#include "daemon/runtime/seccomp_bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "daemon/runtime/oci_spec.h"
#include "support/seccomp_probes.h"

namespace nexus::daemon::runtime {
namespace {

using nlohmann::json;
using testing::kPair;
using testing::Probe;
using testing::RunProbes;

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

constexpr int kAfUnix = 1, kAfInet = 2, kAfInet6 = 10, kAfNetlink = 16, kAfPacket = 17, kAfKey = 15,
              kAfBluetooth = 31, kAfAlg = 38, kAfVsock = 40, kAfXdp = 44;

// socket() and socketpair() of the lambda sandbox's families work; every
// other family, however it is spelled, answers EAFNOSUPPORT.
TEST(SeccompBpf, TheSandboxProfileOpensSocketsOfItsThreeFamiliesOnly) {
  auto program = CompileSeccompProfile(SandboxSeccomp());
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  std::vector<Probe> probes = {
      {"AF_UNIX stream", SYS_socket, {kAfUnix, SOCK_STREAM, 0}, 0},
      {"AF_UNIX datagram", SYS_socket, {kAfUnix, SOCK_DGRAM | SOCK_CLOEXEC, 0}, 0},
      {"AF_INET tcp", SYS_socket, {kAfInet, SOCK_STREAM, 0}, 0},
      {"AF_INET udp", SYS_socket, {kAfInet, SOCK_DGRAM, IPPROTO_UDP}, 0},
      {"AF_INET6 tcp", SYS_socket, {kAfInet6, SOCK_STREAM, IPPROTO_TCP}, 0},
      {"socketpair AF_UNIX", SYS_socketpair, {kAfUnix, SOCK_STREAM, 0, kPair}, 0},
      {"socketpair AF_VSOCK", SYS_socketpair, {kAfVsock, SOCK_STREAM, 0, kPair}, EAFNOSUPPORT},
      {"socketpair AF_NETLINK", SYS_socketpair, {kAfNetlink, SOCK_RAW, 0, kPair}, EAFNOSUPPORT},
      {"AF_UNIX in the low half, garbage above",
       SYS_socket,
       {(1L << 32) | kAfUnix, SOCK_STREAM, 0},
       EAFNOSUPPORT},
      {"a negative family", SYS_socket, {-1, SOCK_STREAM, 0}, EAFNOSUPPORT},
      {"a family beyond any", SYS_socket, {1000, SOCK_STREAM, 0}, EAFNOSUPPORT},
  };
  // Every family but the three, and the ones past AF_MAX.
  for (int family = 0; family < 64; ++family) {
    if (family == kAfUnix || family == kAfInet || family == kAfInet6) continue;
    probes.push_back({"another family", SYS_socket, {family, SOCK_DGRAM, 0}, EAFNOSUPPORT});
  }
  int result = RunProbes(*program, probes);
  EXPECT_EQ(result, 0) << (result > 0 ? probes[result - 1].what : "killed") << " "
                       << (result > 0 ? probes[result - 1].args[0] : 0);
}

// What the kernel hands a seccomp filter, and the classic BPF subset
// libseccomp emits, interpreted: enough to ask what the compiled program
// answers for an ABI this host cannot run (x86-32's int 0x80 faults here).
uint32_t Verdict(const std::vector<sock_filter>& program, const seccomp_data& data) {
  uint32_t a = 0;
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& f = program[pc];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + f.k, sizeof a);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= f.k;
        break;
      case BPF_JMP | BPF_JA:
        pc += f.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += (a == f.k) ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += (a > f.k) ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += (a >= f.k) ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & f.k) ? f.jt : f.jf;
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        ADD_FAILURE() << "instruction 0x" << std::hex << f.code << " not interpreted";
        return SECCOMP_RET_ALLOW;
    }
  }
  ADD_FAILURE() << "the program ran off its end";
  return SECCOMP_RET_ALLOW;
}

// The sandbox's program is for the native ABI: socketcall(SYS_SOCKET, ...)
// through int 0x80 cannot name its family to seccomp, and kills the process
// like every other 32-bit syscall, as an x32 one does.
TEST(SeccompBpf, AnotherAbisSocketCallKillsTheProcessWhateverTheFamily) {
  auto program = CompileSeccompProfile(SandboxSeccomp());
  ASSERT_TRUE(program.ok()) << program.status().ToString();
  auto kills = [](uint32_t verdict) {
    const uint32_t action = verdict & SECCOMP_RET_ACTION_FULL;
    return action == SECCOMP_RET_KILL_PROCESS || action == SECCOMP_RET_KILL_THREAD;
  };
  constexpr uint32_t kI386Socketcall = 102, kI386Socket = 359, kSysSocket = 1;
  for (uint32_t nr : {kI386Socketcall, kI386Socket}) {
    for (uint64_t family : {uint64_t{kAfUnix}, uint64_t{kAfVsock}}) {
      seccomp_data data{};
      data.nr = static_cast<int>(nr);
      data.arch = AUDIT_ARCH_I386;
      data.args[0] = nr == kI386Socketcall ? kSysSocket : family;
      EXPECT_TRUE(kills(Verdict(*program, data))) << "i386 syscall " << nr;
    }
  }
  seccomp_data x32{};
  x32.nr = 0x40000000 | SYS_socket;
  x32.arch = AUDIT_ARCH_X86_64;
  x32.args[0] = kAfVsock;
  EXPECT_TRUE(kills(Verdict(*program, x32)));
  // The interpreter agrees with the kernel where both can be asked.
  seccomp_data native{};
  native.nr = SYS_socket;
  native.arch = AUDIT_ARCH_X86_64;
  native.args[0] = kAfVsock;
  EXPECT_EQ(Verdict(*program, native), SECCOMP_RET_ERRNO | EAFNOSUPPORT);
  native.args[0] = kAfInet;
  EXPECT_EQ(Verdict(*program, native), SECCOMP_RET_ALLOW);
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
       [](json& p) { p["syscalls"][2]["args"][0]["op"] = "SCMP_CMP_LE"; }},
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
