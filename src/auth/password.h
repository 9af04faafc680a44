// PasswordHasher: argon2id password hashes (libsodium crypto_pwhash_str).
//
// Hashes are self-describing PHC strings ("$argon2id$v=19$m=...,t=...,p=1$...")
// so verification uses the parameters a hash was made with, and limits can be
// raised later without invalidating stored hashes.
//
// For unknown users, VerifyAgainstDummy() does the same argon2 work against a
// hash computed once at construction, so "no such user" and "wrong password"
// cost the same time and cannot be told apart.
//
// argon2 needs `memlimit` bytes per running hash; a semaphore caps how many
// run at once (default: one per core) so a burst of logins can neither exhaust
// memory nor starve the cheap requests of CPU. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <semaphore>
#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus::auth {

struct PasswordHashLimits {
  uint64_t opslimit;
  size_t memlimit;

  // t=2, m=32 MiB: about 70-100 ms per hash on the 2-core reference machine,
  // above the OWASP minimum for argon2id (t=2, m=19 MiB) and half of
  // libsodium's "interactive" memory so two concurrent hashes stay cheap.
  static PasswordHashLimits Production() { return {2, 32u << 20}; }
  // libsodium's minimum (t=1, m=8 KiB): for unit tests only.
  static PasswordHashLimits ForTests();
};

class PasswordHasher {
 public:
  // `max_concurrent` = 0 means one per hardware thread.
  explicit PasswordHasher(PasswordHashLimits limits = PasswordHashLimits::Production(),
                          unsigned max_concurrent = 0);

  // A new random-salted argon2id hash of `password`.
  Result<std::string> Hash(std::string_view password) const;

  // True when `password` matches `hash`. A malformed hash is a mismatch.
  bool Verify(std::string_view hash, std::string_view password) const;

  // Does Verify's work against the dummy hash and returns false: the path for
  // a user that does not exist.
  bool VerifyAgainstDummy(std::string_view password) const;

 private:
  PasswordHashLimits limits_;
  // By pointer: a semaphore is neither copyable nor movable.
  std::unique_ptr<std::counting_semaphore<>> slots_;
  std::string dummy_hash_;
};

}  // namespace nexus::auth
