// One-time codes: generation, keyed hashing, and the checking policy.
//
// Codes are 6 decimal digits drawn uniformly from the CSPRNG. Only a keyed
// BLAKE2b hash of a code is stored: with 10^6 possible codes an unkeyed hash
// in a leaked database would fall to brute force in a second, but without the
// server secret (which lives outside the database) it cannot be checked.
//
// CheckOtp applies the rules in one place: a code is accepted only before its
// expiry, while fewer than `max_attempts_total` wrong tries have been made at
// it from all client addresses together, and while the caller's address has
// made fewer than `max_attempts_per_address`. Wrong tries from one address
// therefore cannot void the code for another, yet the total bounds the odds
// of guessing it at max_attempts_total / 10^6. The comparison is
// constant-time. Callers persist the counts. OtpHasher is immutable after
// construction and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nexus::auth {

inline constexpr int kOtpDigits = 6;

// A fresh code, exactly kOtpDigits digits (leading zeros kept).
std::string GenerateOtp();

class OtpHasher {
 public:
  // `secret` keys the hash; at least 16 bytes (libsodium's generichash
  // minimum key), at most 64 are used.
  explicit OtpHasher(std::string_view secret);

  // Hex of BLAKE2b-256 keyed with the secret.
  std::string Hash(std::string_view code) const;
  // Constant-time comparison of Hash(code) with `stored_hash`.
  bool Matches(std::string_view stored_hash, std::string_view code) const;

 private:
  std::string key_;
};

struct OtpPolicy {
  int64_t ttl_seconds = 300;
  int64_t max_attempts_per_address = 5;
  int64_t max_attempts_total = 500;
};

// What a stored code looks like to the policy, seen from one client address.
struct OtpState {
  std::string otp_hash;
  int64_t expires_at = 0;        // unix seconds
  int64_t attempts = 0;          // wrong tries so far, from every address
  int64_t address_attempts = 0;  // wrong tries so far from the caller's address
};

enum class OtpVerdict {
  kAccepted,
  kWrong,             // counts as an attempt (total and address); the code stays usable
  kAddressExhausted,  // this address has no tries left: refused, nothing counted
  kExhausted,         // this wrong try used the last of the total, or none was left: void
  kExpired,           // void the code
};

OtpVerdict CheckOtp(const OtpHasher& hasher, const OtpPolicy& policy, const OtpState& state,
                    std::string_view code, int64_t now_seconds);

}  // namespace nexus::auth
