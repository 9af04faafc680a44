// S3SecretBox: how nexus-auth keeps S3 secret keys at rest.
//
// Unlike an app password, an S3 secret key cannot be stored as a hash: the
// gateway needs the secret itself to recompute each request's SigV4
// signature. So it is sealed with libsodium's secretbox (XSalsa20-Poly1305,
// a fresh random nonce per secret) under a server key kept in a file of its
// own beside jwt.key (0600, created on first start), and auth.db holds only
// the sealed form: a copy of the database alone reveals no secret. Losing or
// replacing the key file voids every S3 key.
//
// Immutable after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/env.h"
#include "common/result.h"

namespace nexus::auth {

// Reads the key file at `path`, creating it (0600, random) when absent. A
// file readable by group or others, or not exactly kKeyBytes long, is
// refused (see common/key_file.h).
Result<std::string> LoadOrCreateS3SecretBoxKey(Env& env, const std::string& path);

class S3SecretBox {
 public:
  static constexpr size_t kKeyBytes = 32;

  // `key`: at least kKeyBytes (only the first kKeyBytes are used).
  explicit S3SecretBox(std::string_view key);

  // Hex of nonce || ciphertext.
  std::string Seal(std::string_view secret) const;
  // The secret, or kInternal when `sealed` was not sealed under this key.
  Result<std::string> Open(std::string_view sealed) const;

 private:
  std::string key_;
};

}  // namespace nexus::auth
