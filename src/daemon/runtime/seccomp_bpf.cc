#include "daemon/runtime/seccomp_bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>

#include "common/fd.h"

namespace nexus::daemon::runtime {
namespace {

using json = nlohmann::json;

// x32 syscalls share x86-64's audit arch and carry this bit in their number;
// libseccomp's own checks decide them (not listed: not allowed).
constexpr uint32_t kX32SyscallBit = 0x40000000;
constexpr int kDefaultErrno = EPERM;  // runc's errno for an ERRNO action without errnoRet

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

std::string NativeArchName() {
#if defined(__x86_64__)
  return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
  return "SCMP_ARCH_AARCH64";
#else
  return "";
#endif
}

Result<uint32_t> Action(const json& rule, const std::string& action_key,
                        const std::string& errno_key) {
  const std::string action = rule.value(action_key, "");
  if (action == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (action == "SCMP_ACT_ERRNO") {
    int err = rule.value(errno_key, kDefaultErrno);
    if (err <= 0 || err > 4095) return InvalidArgumentError("seccomp errno out of range");
    return SCMP_ACT_ERRNO(static_cast<uint16_t>(err));
  }
  return InvalidArgumentError("seccomp action '" + action + "' is not supported");
}

Result<std::vector<scmp_arg_cmp>> Conditions(const json& rule) {
  std::vector<scmp_arg_cmp> conds;
  if (!rule.contains("args")) return conds;
  const json& args = rule["args"];
  if (!args.is_array()) return InvalidArgumentError("seccomp rule args must be an array");
  uint32_t seen = 0;  // one condition per argument: libseccomp cannot AND two on one
  for (const json& a : args) {
    unsigned index = a.value("index", 6u);
    if (index > 5) return InvalidArgumentError("seccomp argument index out of range");
    if (seen & (1u << index)) {
      return InvalidArgumentError("seccomp rule has two conditions on one argument");
    }
    seen |= 1u << index;
    const std::string op = a.value("op", "");
    const uint64_t value = a.value("value", uint64_t{0});
    const uint64_t value_two = a.value("valueTwo", uint64_t{0});
    if (op == "SCMP_CMP_EQ") {
      conds.push_back({index, SCMP_CMP_EQ, value, 0});
    } else if (op == "SCMP_CMP_GT") {
      conds.push_back({index, SCMP_CMP_GT, value, 0});
    } else if (op == "SCMP_CMP_MASKED_EQ") {
      conds.push_back({index, SCMP_CMP_MASKED_EQ, value, value_two});  // mask, then datum
    } else {
      return InvalidArgumentError("seccomp comparison '" + op + "' is not supported");
    }
  }
  return conds;
}

// Prepended to libseccomp's program: syscalls of the native ABI numbered
// above `max_named` answer ENOSYS; everything else falls through to it.
std::vector<sock_filter> EnosysAbove(uint32_t native_arch, uint32_t max_named) {
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native_arch, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max_named, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
  };
}

Result<std::vector<sock_filter>> Export(void* ctx) {
  int fd = ::memfd_create("nexus-seccomp", MFD_CLOEXEC);
  if (fd < 0) return ErrnoError(StatusCode::kInternal, "memfd_create", errno);
  std::string bytes;
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc == 0) {
    off_t size = ::lseek(fd, 0, SEEK_END);
    if (size < 0) {
      rc = -errno;
    } else {
      bytes.resize(static_cast<size_t>(size));
      ssize_t n = ::pread(fd, bytes.data(), bytes.size(), 0);
      if (n != size) rc = n < 0 ? -errno : -EIO;
    }
  }
  ::close(fd);
  if (rc != 0) return ErrnoError(StatusCode::kInternal, "export seccomp filter", -rc);
  if (bytes.size() % sizeof(sock_filter) != 0) {
    return InternalError("export seccomp filter: not a whole number of instructions");
  }
  std::vector<sock_filter> program(bytes.size() / sizeof(sock_filter));
  std::memcpy(program.data(), bytes.data(), bytes.size());
  return program;
}

}  // namespace

Result<std::vector<sock_filter>> CompileSeccompProfile(const json& profile) {
  if (!profile.is_object()) return InvalidArgumentError("seccomp profile must be an object");
  const std::string native = NativeArchName();
  if (native.empty()) return UnimplementedError("seccomp: this architecture is not supported");
  const json archs = profile.value("architectures", json::array());
  bool lists_native = archs.empty();
  for (const json& a : archs) lists_native |= a.is_string() && a.get<std::string>() == native;
  if (!lists_native) return InvalidArgumentError("seccomp profile does not list " + native);

  NEXUS_ASSIGN_OR_RETURN(uint32_t default_action,
                         Action(profile, "defaultAction", "defaultErrnoRet"));
  Context ctx(seccomp_init(default_action));
  if (!ctx) return InternalError("seccomp_init failed");
  // A binary tree over the syscall numbers instead of a linear list: a
  // syscall of a long allowlist is decided in a handful of comparisons.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);

  int max_named = -1;
  const json rules = profile.value("syscalls", json::array());
  for (const json& rule : rules) {
    NEXUS_ASSIGN_OR_RETURN(uint32_t action, Action(rule, "action", "errnoRet"));
    NEXUS_ASSIGN_OR_RETURN(std::vector<scmp_arg_cmp> conds, Conditions(rule));
    for (const json& name : rule.value("names", json::array())) {
      if (!name.is_string()) return InvalidArgumentError("seccomp syscall names must be strings");
      int nr = seccomp_syscall_resolve_name(name.get<std::string>().c_str());
      if (nr < 0) continue;  // unknown here, or no syscall of the native ABI
      if (action == default_action) continue;
      max_named = std::max(max_named, nr);
      int rc = seccomp_rule_add_array(ctx.get(), action, nr, static_cast<unsigned>(conds.size()),
                                      conds.empty() ? nullptr : conds.data());
      if (rc != 0) {
        return ErrnoError(StatusCode::kInvalidArgument,
                          "seccomp rule for '" + name.get<std::string>() + "'", -rc);
      }
    }
  }
  NEXUS_ASSIGN_OR_RETURN(std::vector<sock_filter> body, Export(ctx.get()));
  std::vector<sock_filter> program;
  if (max_named >= 0) {
    program = EnosysAbove(seccomp_arch_native(), static_cast<uint32_t>(max_named));
  }
  program.insert(program.end(), body.begin(), body.end());
  if (program.size() > BPF_MAXINSNS) {
    return InvalidArgumentError("seccomp program has " + std::to_string(program.size()) +
                                " instructions, more than the kernel takes");
  }
  return program;
}

std::string SeccompProgramBytes(const std::vector<sock_filter>& program) {
  return std::string(reinterpret_cast<const char*>(program.data()),
                     program.size() * sizeof(sock_filter));
}

Result<int> SeccompProgramFd(const std::vector<sock_filter>& program) {
  const std::string bytes = SeccompProgramBytes(program);
  Fd fd(::memfd_create("nexus-lambda-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return ErrnoError(StatusCode::kInternal, "memfd_create", errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return ErrnoError(StatusCode::kInternal, "write seccomp program", n < 0 ? errno : EIO);
    }
    done += static_cast<size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return ErrnoError(StatusCode::kInternal, "seal seccomp program", errno);
  }
  // A read-only open file description of the same memfd: what the sandbox
  // gets cannot even be written to (the seals aside).
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  Fd read_only(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
  if (!read_only.valid()) {
    return ErrnoError(StatusCode::kInternal, "reopen seccomp program read-only", errno);
  }
  return read_only.release();
}

}  // namespace nexus::daemon::runtime
