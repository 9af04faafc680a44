#include "auth/jwt.h"

#include <jwt.h>
#include <sodium.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "auth/crypto.h"
#include "common/key_file.h"

namespace nexus::auth {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

// libjwt 1.10 has no jwt_free_str; its strings come from malloc.
struct CFree {
  void operator()(char* p) const { std::free(p); }
};

// Our tokens are ~300 bytes; the bound keeps a hostile header from costing
// parsing work.
constexpr size_t kMaxTokenBytes = 4096;

Status Invalid(std::string_view why) {
  return UnauthenticatedError("invalid token: " + std::string(why));
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  out->assign(in.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out->data()), out->size(), in.data(),
                        in.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return false;
  }
  out->resize(len);
  return true;
}

// HMAC-SHA256 checked here, in constant time, before libjwt sees the token:
// this pins the algorithm to HS256 whatever the header claims, and does not
// rely on how a given libjwt version compares signatures.
bool SignatureMatches(std::string_view key, std::string_view signing_input,
                      std::string_view sig_b64) {
  std::string sig;
  if (!Base64UrlDecode(sig_b64, &sig) || sig.size() != crypto_auth_hmacsha256_BYTES) return false;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(signing_input.data()),
                                signing_input.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return sodium_memcmp(mac, sig.data(), sizeof mac) == 0;
}

bool GetString(jwt_t* jwt, const char* name, std::string* out) {
  const char* v = jwt_get_grant(jwt, name);
  if (v == nullptr || *v == '\0') return false;
  *out = v;
  return true;
}

bool GetInt(jwt_t* jwt, const char* name, int64_t* out) {
  errno = 0;
  long v = jwt_get_grant_int(jwt, name);
  // A non-integer claim reads as 0 without errno; no valid time is <= 0.
  if (errno != 0 || v <= 0) return false;
  *out = v;
  return true;
}

}  // namespace

JwtSigner::JwtSigner(std::string key, const Clock& clock, int64_t ttl_seconds)
    : key_(std::move(key)), clock_(clock), ttl_seconds_(ttl_seconds) {
  EnsureSodium();
}

Result<SignedToken> JwtSigner::Sign(std::string_view user_id, std::string_view username) const {
  SignedToken out;
  out.claims.user_id = user_id;
  out.claims.username = username;
  out.claims.jti = ToHex(RandomBytes(16));
  out.claims.issued_at = clock_.NowSeconds();
  out.claims.expires_at = out.claims.issued_at + ttl_seconds_;

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return InternalError("jwt_new: out of memory");
  JwtPtr jwt(raw);
  const auto& c = out.claims;
  int rc =
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key_.data()),
                  static_cast<int>(key_.size()));
  if (rc == 0) rc = jwt_add_grant(jwt.get(), "sub", c.user_id.c_str());
  if (rc == 0) rc = jwt_add_grant(jwt.get(), "username", c.username.c_str());
  if (rc == 0) rc = jwt_add_grant(jwt.get(), "jti", c.jti.c_str());
  if (rc == 0) rc = jwt_add_grant_int(jwt.get(), "iat", c.issued_at);
  if (rc == 0) rc = jwt_add_grant_int(jwt.get(), "exp", c.expires_at);
  if (rc != 0) return InternalError("build token claims: error " + std::to_string(rc));
  std::unique_ptr<char, CFree> text(jwt_encode_str(jwt.get()));
  if (!text) return InternalError("encode token: error " + std::to_string(errno));
  out.token = text.get();
  return out;
}

Result<TokenClaims> JwtSigner::Verify(std::string_view token) const {
  if (token.empty()) return Invalid("empty");
  if (token.size() > kMaxTokenBytes) return Invalid("too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Invalid("not a signed JWT");
  }
  if (!SignatureMatches(key_, token.substr(0, dot2), token.substr(dot2 + 1))) {
    return Invalid("bad signature");
  }

  const std::string text(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                 static_cast<int>(key_.size())) != 0) {
    return Invalid("malformed");
  }
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return Invalid("algorithm is not HS256");

  TokenClaims c;
  if (!GetString(jwt.get(), "sub", &c.user_id) || !GetString(jwt.get(), "username", &c.username) ||
      !GetString(jwt.get(), "jti", &c.jti) || !GetInt(jwt.get(), "iat", &c.issued_at) ||
      !GetInt(jwt.get(), "exp", &c.expires_at)) {
    return Invalid("missing claims");
  }
  if (clock_.NowSeconds() >= c.expires_at) return UnauthenticatedError("token expired");
  return c;
}

Result<std::string> LoadOrCreateJwtKey(Env& env, const std::string& path) {
  // Longer keys are fine for HMAC-SHA256; the file holds a few KiB at most.
  const KeyFileRules rules{"JWT key", kJwtKeyBytes, 4096};
  return LoadOrCreateKeyFile(env, path, rules, [] { return RandomBytes(kJwtKeyBytes); });
}

}  // namespace nexus::auth
