#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <utility>

namespace nexus {

namespace {

// EVP failures here mean the process is out of memory or OpenSSL is broken;
// neither is an expected failure a caller could handle.
void CheckEvp(int rc) {
  if (rc != 1) std::abort();
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) std::abort();
  CheckEvp(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr));
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  std::swap(ctx_, other.ctx_);
  return *this;
}

void Sha256::Update(std::string_view bytes) {
  if (bytes.empty()) return;
  CheckEvp(EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()));
}

Sha256Digest Sha256::Finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  CheckEvp(EVP_DigestFinal_ex(ctx_, out.data(), &len));
  CheckEvp(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr));
  return out;
}

Sha256Digest Sha256::Digest(std::string_view bytes) {
  Sha256Digest out{};
  unsigned int len = 0;
  CheckEvp(EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr));
  return out;
}

std::string Sha256::HexDigest(std::string_view bytes) { return ToHex(Digest(bytes)); }

std::string ToHex(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digest.size() * 2, '\0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

bool IsSha256Hex(std::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace nexus
