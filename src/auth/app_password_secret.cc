#include "auth/app_password_secret.h"

#include <cassert>
#include <cstdint>

#include "auth/crypto.h"

namespace nexus::auth {
namespace {

constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kGroupLength = 4;

std::string Base32(std::string_view bytes) {
  assert(bytes.size() % 5 == 0);
  std::string out;
  out.reserve(bytes.size() / 5 * 8);
  for (size_t i = 0; i < bytes.size(); i += 5) {
    uint64_t block = 0;
    for (size_t j = 0; j < 5; ++j) block = (block << 8) | static_cast<unsigned char>(bytes[i + j]);
    for (int shift = 35; shift >= 0; shift -= 5) out += kBase32[(block >> shift) & 31];
  }
  return out;
}

}  // namespace

std::string GenerateAppPassword() {
  const std::string canonical = Base32(RandomBytes(kAppPasswordRandomBytes));
  std::string out;
  for (size_t i = 0; i < canonical.size(); i += kGroupLength) {
    if (i > 0) out += '-';
    out += canonical.substr(i, kGroupLength);
  }
  return out;
}

std::optional<std::string> CanonicalAppPassword(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (kBase32.find(c) == std::string_view::npos) return std::nullopt;
    if (out.size() == kAppPasswordCanonicalLength) return std::nullopt;
    out += c;
  }
  if (out.size() != kAppPasswordCanonicalLength) return std::nullopt;
  return out;
}

AppPasswordHasher::AppPasswordHasher(std::string_view key) : key_(key) {}

std::string AppPasswordHasher::Hash(std::string_view canonical) const {
  return KeyedHashHex(key_, canonical);
}

}  // namespace nexus::auth
