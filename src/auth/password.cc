#include "auth/password.h"

#include <sodium.h>

#include <thread>

#include "auth/crypto.h"

namespace nexus::auth {
namespace {

// Releases a semaphore slot on every exit path.
class SlotGuard {
 public:
  explicit SlotGuard(std::counting_semaphore<>& s) : s_(s) { s_.acquire(); }
  ~SlotGuard() { s_.release(); }
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;

 private:
  std::counting_semaphore<>& s_;
};

// Longer passwords are rejected by the service; this bound only keeps a
// direct caller from feeding argon2 megabytes.
constexpr size_t kMaxPasswordBytes = 4096;

}  // namespace

PasswordHashLimits PasswordHashLimits::ForTests() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

PasswordHasher::PasswordHasher(PasswordHashLimits limits, unsigned max_concurrent)
    : limits_(limits) {
  EnsureSodium();
  if (max_concurrent == 0) max_concurrent = std::max(1u, std::thread::hardware_concurrency());
  slots_ = std::make_unique<std::counting_semaphore<>>(max_concurrent);
  // The dummy is a hash of random bytes nobody knows, made with the current
  // limits so that verifying against it costs what a real verify costs.
  auto dummy = Hash(ToHex(RandomBytes(16)));
  if (dummy.ok()) dummy_hash_ = std::move(dummy).value();
}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) return InvalidArgumentError("password is too long");
  char out[crypto_pwhash_STRBYTES];
  SlotGuard slot(*slots_);
  if (crypto_pwhash_str(out, password.data(), password.size(), limits_.opslimit,
                        limits_.memlimit) != 0) {
    // libsodium fails here only when it cannot allocate memlimit bytes.
    return InternalError("argon2id hash: out of memory");
  }
  return std::string(out);
}

bool PasswordHasher::Verify(std::string_view hash, std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) return false;
  // crypto_pwhash_str_verify wants a NUL-terminated string.
  std::string h(hash);
  SlotGuard slot(*slots_);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

bool PasswordHasher::VerifyAgainstDummy(std::string_view password) const {
  if (dummy_hash_.empty()) {
    // The dummy could not be made (out of memory at start): hashing costs
    // the same as verifying, so the timing still says nothing.
    (void)Hash(password);
  } else {
    (void)Verify(dummy_hash_, password);
  }
  return false;
}

}  // namespace nexus::auth
