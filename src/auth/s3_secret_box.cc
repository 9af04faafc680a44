#include "auth/s3_secret_box.h"

#include <sodium.h>

#include <cassert>

#include "auth/crypto.h"
#include "common/key_file.h"

namespace nexus::auth {

Result<std::string> LoadOrCreateS3SecretBoxKey(Env& env, const std::string& path) {
  return LoadOrCreateKeyFile(env, path,
                             KeyFileRules{.what = "S3 secret key file",
                                          .min_bytes = S3SecretBox::kKeyBytes,
                                          .max_bytes = S3SecretBox::kKeyBytes},
                             [] { return RandomBytes(S3SecretBox::kKeyBytes); });
}

S3SecretBox::S3SecretBox(std::string_view key) : key_(key.substr(0, kKeyBytes)) {
  assert(key_.size() == kKeyBytes);
  static_assert(kKeyBytes == crypto_secretbox_KEYBYTES);
  EnsureSodium();
}

std::string S3SecretBox::Seal(std::string_view secret) const {
  std::string out = RandomBytes(crypto_secretbox_NONCEBYTES);
  out.resize(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + secret.size());
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nonce,
                        reinterpret_cast<const unsigned char*>(key_.data()));
  return ToHex(out);
}

Result<std::string> S3SecretBox::Open(std::string_view sealed) const {
  std::string raw(sealed.size() / 2, '\0');
  size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), sealed.data(),
                     sealed.size(), nullptr, &len, nullptr) != 0 ||
      len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return InternalError("open S3 secret: malformed sealed form");
  }
  raw.resize(len);
  const auto* nonce = reinterpret_cast<const unsigned char*>(raw.data());
  const size_t box = len - crypto_secretbox_NONCEBYTES;
  std::string secret(box - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(secret.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, box, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return InternalError("open S3 secret: not sealed under this server's key");
  }
  return secret;
}

}  // namespace nexus::auth
