// JwtSigner: issues and checks the service's bearer tokens (HS256 JWTs).
//
// A token carries sub (user id), username, iat, exp and a random jti (for
// revocation). Verify accepts only what Sign could have produced: exactly
// three parts, alg HS256, a valid HMAC-SHA256 under our key (compared in
// constant time), all five claims present and exp in the future. Anything
// else, including alg "none" and other algorithms, is kUnauthenticated.
// Revocation is not checked here (see AuthService).
//
// The key is 32 random bytes in a file created on first start with mode 0600
// (LoadOrCreateJwtKey). Immutable after construction; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/env.h"
#include "common/result.h"

namespace nexus::auth {

inline constexpr size_t kJwtKeyBytes = 32;

struct TokenClaims {
  std::string user_id;  // "sub"
  std::string username;
  std::string jti;
  int64_t issued_at = 0;   // unix seconds
  int64_t expires_at = 0;  // unix seconds
};

struct SignedToken {
  std::string token;
  TokenClaims claims;
};

class JwtSigner {
 public:
  // `key` must be at least kJwtKeyBytes bytes.
  JwtSigner(std::string key, const Clock& clock, int64_t ttl_seconds);

  Result<SignedToken> Sign(std::string_view user_id, std::string_view username) const;
  Result<TokenClaims> Verify(std::string_view token) const;

 private:
  std::string key_;
  const Clock& clock_;
  int64_t ttl_seconds_;
};

// Reads the key at `path`, or creates it (common/key_file.h: parent
// directories 0700, file 0600, linked into place whole so a crash never
// leaves a short key and two racing starts agree on one key). Refuses a key
// file shorter than kJwtKeyBytes or with a mode wider than 0600.
Result<std::string> LoadOrCreateJwtKey(Env& env, const std::string& path);

}  // namespace nexus::auth
