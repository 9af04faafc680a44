// SeccompBpf: compiles a seccomp profile in the OCI runtime spec's form (the
// `linux.seccomp` section oci_spec.h builds) into a classic BPF program the
// kernel takes as is, for the native ABI.
//
// runc compiles a bundle's profile with libseccomp at every container start,
// inside the container's init — for the lambda sandbox's allowlist that is
// ~4.5 ms of CPU on the cold path, every run. nexusd compiles the same
// profile once, with the same libseccomp, and the sandbox's own init
// (lambda_init.cc) installs the program before it runs anything else; the
// rules, actions and errno values are the profile's.
//
// Like runc, a syscall numbered above every syscall the profile names gets
// ENOSYS instead of the default action, so libc's fallbacks for system calls
// newer than the list still work (a kernel's EPERM would look like a real
// refusal). Names the host's libseccomp does not know, and names that are no
// syscall of the native ABI (socketcall on x86-64), are skipped, as runc does.
// Only what our profiles use is supported: ALLOW and ERRNO actions, EQ, GT
// and MASKED_EQ conditions; anything else is an error, not a silently weaker
// filter. Pure functions; thread-safe.
#pragma once

#include <linux/filter.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace nexus::daemon::runtime {

// The BPF instructions, ready for seccomp(SECCOMP_SET_MODE_FILTER) or
// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER).
Result<std::vector<sock_filter>> CompileSeccompProfile(const nlohmann::json& profile);

// The program's bytes, as the sandbox's init reads them from its descriptor.
std::string SeccompProgramBytes(const std::vector<sock_filter>& program);

// A read-only descriptor (close-on-exec; the caller owns it) of a sealed
// memfd holding the program's bytes: one per runner, handed to every
// sandbox, which can neither change it nor see a half-written one.
Result<int> SeccompProgramFd(const std::vector<sock_filter>& program);

}  // namespace nexus::daemon::runtime
