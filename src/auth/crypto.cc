#include "auth/crypto.h"

#include <sodium.h>
#include <uuid/uuid.h>

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace nexus::auth {

void EnsureSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fputs("nexus-auth: libsodium initialisation failed (no randomness?)\n", stderr);
      std::abort();
    }
  });
}

std::string RandomBytes(size_t n) {
  EnsureSodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

std::string ToHex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();  // sodium_bin2hex writes a terminating NUL
  return out;
}

std::string NewUuid() {
  uuid_t id;
  uuid_generate_random(id);
  char text[37];
  uuid_unparse_lower(id, text);
  return text;
}

std::string DeriveSubkey(std::string_view key, std::string_view context) {
  EnsureSodium();
  assert(key.size() >= crypto_generichash_KEYBYTES_MIN &&
         key.size() <= crypto_generichash_KEYBYTES_MAX);
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(context.data()), context.size(),
                     reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return out;
}

std::string KeyedHashHex(std::string_view key, std::string_view data) {
  EnsureSodium();
  assert(key.size() >= crypto_generichash_KEYBYTES_MIN &&
         key.size() <= crypto_generichash_KEYBYTES_MAX);
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return ToHex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

}  // namespace nexus::auth
