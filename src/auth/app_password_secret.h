// App password secrets: generation, the canonical form, and the stored hash.
//
// A secret is 160 bits from the CSPRNG, written as 32 characters of
// lower-case base32 (RFC 4648 alphabet) in eight dash-separated groups of
// four ("abcd-efgh-..."), so it can be read out and typed into a mount
// dialog. What a client sends is first put in canonical form (dashes and
// spaces dropped, letters lower-cased: the alphabet has one case), so a
// secret typed without its dashes still works.
//
// Only a keyed BLAKE2b-256 hash of the canonical form is stored. The secret
// is high-entropy, so a slow password hash (argon2) would add nothing
// against guessing 2^160 values and would cost ~100 ms on every WebDAV
// request; a fast hash lets a request be checked by one indexed lookup. The
// key (a subkey of the server secret, outside the database) means a leaked
// auth.db alone cannot even confirm a secret seen elsewhere. Rotating that
// server secret therefore voids every app password, as it voids every token.
//
// Pure functions and an immutable hasher; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nexus::auth {

inline constexpr size_t kAppPasswordRandomBytes = 20;  // 160 bits
inline constexpr size_t kAppPasswordCanonicalLength = 32;

// A fresh secret in its display form: 8 groups of 4 base32 characters.
std::string GenerateAppPassword();

// The canonical form of a secret as a client sent it, or nullopt when it
// cannot be one (wrong length or characters): no lookup is needed then.
std::optional<std::string> CanonicalAppPassword(std::string_view typed);

class AppPasswordHasher {
 public:
  // `key`: 16..64 bytes.
  explicit AppPasswordHasher(std::string_view key);

  // Hex of the keyed hash of a canonical secret.
  std::string Hash(std::string_view canonical) const;

 private:
  std::string key_;
};

}  // namespace nexus::auth
