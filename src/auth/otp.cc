#include "auth/otp.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>

#include "auth/crypto.h"

namespace nexus::auth {

std::string GenerateOtp() {
  EnsureSodium();
  // randombytes_uniform avoids the modulo bias of `random % 10^6`.
  uint32_t n = randombytes_uniform(1'000'000);
  std::string code(kOtpDigits, '0');
  for (int i = kOtpDigits - 1; i >= 0; --i, n /= 10) code[i] = static_cast<char>('0' + n % 10);
  return code;
}

OtpHasher::OtpHasher(std::string_view secret) {
  EnsureSodium();
  assert(secret.size() >= crypto_generichash_KEYBYTES_MIN);
  key_ = std::string(secret.substr(0, crypto_generichash_KEYBYTES_MAX));
}

std::string OtpHasher::Hash(std::string_view code) const { return KeyedHashHex(key_, code); }

bool OtpHasher::Matches(std::string_view stored_hash, std::string_view code) const {
  std::string h = Hash(code);
  // Lengths are public (always 64 hex digits); only the contents are compared
  // in constant time.
  if (stored_hash.size() != h.size()) return false;
  return sodium_memcmp(stored_hash.data(), h.data(), h.size()) == 0;
}

OtpVerdict CheckOtp(const OtpHasher& hasher, const OtpPolicy& policy, const OtpState& state,
                    std::string_view code, int64_t now_seconds) {
  if (now_seconds >= state.expires_at) return OtpVerdict::kExpired;
  if (state.attempts >= policy.max_attempts_total) return OtpVerdict::kExhausted;
  // Before the comparison: an address out of tries learns nothing, not even
  // that it finally guessed right.
  if (state.address_attempts >= policy.max_attempts_per_address) {
    return OtpVerdict::kAddressExhausted;
  }
  if (hasher.Matches(state.otp_hash, code)) return OtpVerdict::kAccepted;
  return state.attempts + 1 >= policy.max_attempts_total ? OtpVerdict::kExhausted
                                                         : OtpVerdict::kWrong;
}

}  // namespace nexus::auth
