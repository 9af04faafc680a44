// AppPasswords: the app password logic of nexus-auth, free of gRPC.
//
// An app password lets a client that cannot do the emailed code (a WebDAV
// mount in Finder, Windows, davfs2, rclone) sign in with the username and a
// generated secret instead of the account password. A user creates up to
// Policy::max_per_user of them, named, sees each secret once (only its keyed
// hash is stored, see app_password_secret.h), lists them without secrets and
// deletes them; a deleted one fails the very next validation, as nothing is
// cached.
//
// Validate never looks at the account password and costs one keyed hash and
// one indexed read (plus, at most once a minute per app password, a write of
// its last use). Failed validations are charged to the client address (an
// IPv6 client per /64, see ClientBucket) in `failure_limiter`; once its
// bucket is empty every validation from there is refused with kRateLimited
// until it refills, whether or not the secret is right. A right secret costs
// nothing, so a working client is never slowed by its own use; concurrent
// failures may overshoot the burst by the number of calls in flight.
//
// Owns nothing it is given: the collaborators must outlive it. Thread-safe
// (the stores and the limiter are; this class holds no state of its own).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/app_password_secret.h"
#include "auth/app_password_store.h"
#include "auth/rate_limiter.h"
#include "auth/user_store.h"
#include "common/clock.h"
#include "common/result.h"

namespace nexus::auth {

inline constexpr std::string_view kInvalidAppPasswordMessage = "invalid username or app password";

// The failure limit per client address nexus-auth uses: 10 failures at once,
// then one more every 6 s. Guessing a 160-bit secret is hopeless anyway; the
// limit keeps a misconfigured or hostile client from spending the service.
inline constexpr BucketPolicy kAppPasswordFailurePolicy{10, 6};

struct AppPasswordInfo {
  std::string id;
  std::string name;
  int64_t created_at = 0;    // unix seconds
  int64_t last_used_at = 0;  // unix seconds, to Policy::last_used_resolution_seconds; 0: never
};

struct NewAppPassword {
  AppPasswordInfo info;
  std::string password;  // the secret, in display form; the only copy
};

// Who a valid app password belongs to (the user's stored spelling of the
// username), with the profile.
struct AppPasswordIdentity {
  std::string username;
  std::string user_id;
  std::string email;
  int64_t created_at = 0;
  std::string app_password_id;
};

class AppPasswords {
 public:
  struct Policy {
    int64_t max_per_user = 100;
    // A use is written only when the stored one is at least this old, so a
    // busy mount does not cost a database write per request.
    int64_t last_used_resolution_seconds = 60;
  };
  struct Deps {
    const Clock& clock;
    UserStore& users;
    AppPasswordStore& store;
    const AppPasswordHasher& hasher;
    RateLimiter& failure_limiter;  // failed validations, keyed by client address
  };

  AppPasswords(Policy policy, Deps deps) : policy_(policy), d_(deps) {}

  // kInvalidArgument for a bad name, kPermissionDenied once the user has
  // max_per_user, kNotFound for an unknown user.
  Result<NewAppPassword> Create(std::string_view username, std::string_view name);
  // Oldest first.
  Result<std::vector<AppPasswordInfo>> List(std::string_view username);
  // kNotFound unless `id` is one of the user's app passwords.
  Status Delete(std::string_view username, std::string_view id);

  // kUnauthenticated (kInvalidAppPasswordMessage) for a wrong, revoked or
  // malformed secret or a username it does not belong to; kRateLimited while
  // the client address has spent its failures.
  Result<AppPasswordIdentity> Validate(std::string_view username, std::string_view password,
                                       std::string_view client_address);

 private:
  Result<UserRecord> FindUser(std::string_view username);

  const Policy policy_;
  Deps d_;
};

}  // namespace nexus::auth
