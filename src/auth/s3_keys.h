// S3Keys: the S3 access keys of nexus-auth, free of gRPC.
//
// A user creates up to Policy::max_per_user access keys for S3 clients
// (awscli, boto3, rclone), sees each secret key once, lists them without
// secrets and deletes them; a deleted key fails the very next request, as
// nothing is cached. The gateway verifies SigV4 itself, so Lookup hands it
// the secret of an access key with its owner: the secret crosses only the
// gateway's private channel to nexus-auth and is never logged. At rest it is
// sealed (s3_secret_box.h).
//
// Owns nothing it is given: the collaborators must outlive it. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/s3_key_store.h"
#include "auth/s3_secret_box.h"
#include "auth/user_store.h"
#include "common/clock.h"
#include "common/result.h"

namespace nexus::auth {

// An access key id is "NX" and 18 characters of upper-case base32 (20 in
// all, as AWS's); a secret is 40 characters of [A-Za-z0-9] (238 bits).
inline constexpr size_t kS3AccessKeyLength = 20;
inline constexpr size_t kS3SecretKeyLength = 40;

struct S3KeyInfo {
  std::string id;
  std::string access_key;
  int64_t created_at = 0;  // unix seconds
};

struct NewS3Key {
  S3KeyInfo info;
  std::string secret_key;  // the only copy in clear
};

struct S3KeyIdentity {
  std::string username;
  std::string user_id;
  std::string email;
  int64_t created_at = 0;
  std::string secret_key;
};

class S3Keys {
 public:
  struct Policy {
    int64_t max_per_user = 100;
  };
  struct Deps {
    const Clock& clock;
    UserStore& users;
    S3KeyStore& store;
    const S3SecretBox& box;
  };

  S3Keys(Policy policy, Deps deps) : policy_(policy), d_(deps) {}

  // kPermissionDenied once the user has max_per_user, kNotFound for an
  // unknown user.
  Result<NewS3Key> Create(std::string_view username);
  // Oldest first.
  Result<std::vector<S3KeyInfo>> List(std::string_view username);
  // kNotFound unless `id` is one of the user's keys.
  Status Delete(std::string_view username, std::string_view id);
  // kNotFound for an access key nobody has.
  Result<S3KeyIdentity> Lookup(std::string_view access_key);

 private:
  Result<UserRecord> FindUser(std::string_view username);

  const Policy policy_;
  Deps d_;
};

}  // namespace nexus::auth
