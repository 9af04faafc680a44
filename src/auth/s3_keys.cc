#include "auth/s3_keys.h"

#include <sodium.h>

#include "auth/crypto.h"

namespace nexus::auth {
namespace {

// `n` characters drawn uniformly from `alphabet`.
std::string RandomString(std::string_view alphabet, size_t n) {
  EnsureSodium();
  std::string out(n, '\0');
  for (char& c : out) {
    c = alphabet[randombytes_uniform(static_cast<uint32_t>(alphabet.size()))];
  }
  return out;
}

constexpr std::string_view kAccessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace

Result<UserRecord> S3Keys::FindUser(std::string_view username) {
  NEXUS_ASSIGN_OR_RETURN(std::optional<UserRecord> user, d_.users.FindUserByUsername(username));
  if (!user) return NotFoundError("user '" + std::string(username) + "' not found");
  return std::move(*user);
}

Result<NewS3Key> S3Keys::Create(std::string_view username) {
  NEXUS_ASSIGN_OR_RETURN(UserRecord user, FindUser(username));
  NewS3Key key;
  key.info.id = NewUuid();
  key.info.access_key = "NX" + RandomString(kAccessKeyAlphabet, kS3AccessKeyLength - 2);
  key.info.created_at = d_.clock.NowSeconds();
  key.secret_key = RandomString(kSecretAlphabet, kS3SecretKeyLength);
  S3KeyRecord record{key.info.id, user.id, key.info.access_key, d_.box.Seal(key.secret_key),
                     key.info.created_at};
  NEXUS_ASSIGN_OR_RETURN(bool inserted, d_.store.InsertIfUnderCap(record, policy_.max_per_user));
  if (!inserted) {
    return PermissionDeniedError("at most " + std::to_string(policy_.max_per_user) +
                                 " S3 keys per user");
  }
  return key;
}

Result<std::vector<S3KeyInfo>> S3Keys::List(std::string_view username) {
  NEXUS_ASSIGN_OR_RETURN(UserRecord user, FindUser(username));
  NEXUS_ASSIGN_OR_RETURN(std::vector<S3KeyRecord> records, d_.store.ListForUser(user.id));
  std::vector<S3KeyInfo> out;
  out.reserve(records.size());
  for (S3KeyRecord& r : records) {
    out.push_back(S3KeyInfo{std::move(r.id), std::move(r.access_key), r.created_at});
  }
  return out;
}

Status S3Keys::Delete(std::string_view username, std::string_view id) {
  NEXUS_ASSIGN_OR_RETURN(UserRecord user, FindUser(username));
  return d_.store.Delete(user.id, id);
}

Result<S3KeyIdentity> S3Keys::Lookup(std::string_view access_key) {
  NEXUS_ASSIGN_OR_RETURN(std::optional<S3KeyOwner> owner, d_.store.FindByAccessKey(access_key));
  if (!owner) return NotFoundError("unknown S3 access key");
  NEXUS_ASSIGN_OR_RETURN(std::string secret, d_.box.Open(owner->sealed_secret));
  return S3KeyIdentity{std::move(owner->username), std::move(owner->user_id),
                       std::move(owner->email), owner->user_created_at, std::move(secret)};
}

}  // namespace nexus::auth
