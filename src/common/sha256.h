// Sha256: streaming SHA-256 through OpenSSL EVP (which uses SHA-NI/AVX2 where
// the CPU has them; Debian's sha256sum is several times slower here).
//
// Feed bytes with Update as they arrive, then Finish once. The object owns one
// EVP_MD_CTX. Not thread-safe; movable, not copyable.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace nexus {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Returns the digest of everything fed since construction or the last
  // Finish; the object is then ready for a new message.
  Sha256Digest Finish();

  // One-shot helpers.
  static Sha256Digest Digest(std::string_view bytes);
  static std::string HexDigest(std::string_view bytes);

 private:
  evp_md_ctx_st* ctx_;
};

// Lowercase hex of a digest (64 characters).
std::string ToHex(const Sha256Digest& digest);

// True for exactly 64 lowercase hex characters: the only form a chunk hash
// takes on disk and in the database, so it is safe to use in a path.
bool IsSha256Hex(std::string_view hex);

}  // namespace nexus
