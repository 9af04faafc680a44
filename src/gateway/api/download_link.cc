#include "gateway/api/download_link.h"

#include <sodium.h>

#include <cassert>
#include <charconv>

namespace nexus::gateway {
namespace {

constexpr int kBase64Variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

std::string ToBase64Url(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), kBase64Variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), kBase64Variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

Result<std::string> FromBase64Url(std::string_view text) {
  std::string out(text.size(), '\0');
  std::size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, nullptr, kBase64Variant) != 0) {
    return UnauthenticatedError("invalid download link");
  }
  out.resize(len);
  return out;
}

Status InvalidLink() { return UnauthenticatedError("invalid or expired download link"); }

}  // namespace

DownloadLinks::DownloadLinks(const Clock& clock, std::string key, int64_t lifetime_seconds)
    : clock_(clock), key_(std::move(key)), lifetime_seconds_(lifetime_seconds) {
  assert(key_.size() == kKeyBytes);
}

std::string DownloadLinks::RandomKey() {
  // sodium_init only fails when no entropy source can be opened at all.
  [[maybe_unused]] const int started = sodium_init();
  assert(started >= 0 && "libsodium failed to start");
  std::string key(kKeyBytes, '\0');
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string DownloadLinks::Mac(std::string_view payload) const {
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key_.data()),
                              key_.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(payload.data()),
                                payload.size());
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(mac.data()));
  return mac;
}

DownloadLink DownloadLinks::Mint(std::string_view owner, std::string_view path) const {
  DownloadLink link;
  link.expires_at = clock_.NowSeconds() + lifetime_seconds_;
  std::string payload = "v1\n" + std::to_string(link.expires_at) + "\n";
  payload += owner;
  payload += '\n';
  payload += path;
  link.token = ToBase64Url(payload) + "." + ToBase64Url(Mac(payload));
  return link;
}

Result<DownloadGrant> DownloadLinks::Verify(std::string_view token) const {
  const std::size_t dot = token.find('.');
  if (dot == std::string_view::npos) return InvalidLink();
  NEXUS_ASSIGN_OR_RETURN(std::string payload, FromBase64Url(token.substr(0, dot)));
  NEXUS_ASSIGN_OR_RETURN(std::string mac, FromBase64Url(token.substr(dot + 1)));
  const std::string want = Mac(payload);
  if (mac.size() != want.size() || sodium_memcmp(mac.data(), want.data(), want.size()) != 0) {
    return InvalidLink();
  }
  // Signed by us, so well-formed; parsed with care all the same.
  if (!payload.starts_with("v1\n")) return InvalidLink();
  std::string_view rest = std::string_view(payload).substr(3);
  const std::size_t nl1 = rest.find('\n');
  if (nl1 == std::string_view::npos) return InvalidLink();
  DownloadGrant grant;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + nl1, grant.expires_at);
  if (ec != std::errc() || end != rest.data() + nl1) return InvalidLink();
  rest.remove_prefix(nl1 + 1);
  // Usernames hold no newline; the path is everything after the owner's.
  const std::size_t nl2 = rest.find('\n');
  if (nl2 == std::string_view::npos || nl2 == 0) return InvalidLink();
  grant.owner = std::string(rest.substr(0, nl2));
  grant.path = std::string(rest.substr(nl2 + 1));
  if (clock_.NowSeconds() >= grant.expires_at) return InvalidLink();
  return grant;
}

}  // namespace nexus::gateway
