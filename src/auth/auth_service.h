// AuthService: the account and token logic of nexus-auth, free of gRPC.
//
// Registration and login are both two steps: *Init checks the input (and, for
// login, the password), stores a hashed 6-digit code and mails it; *Verify
// trades a correct code for a token. Rules enforced here:
//  - per-IP and per-account token buckets on the init steps (kRateLimited
//    with retry-after), and a resend cooldown per email;
//  - a code expires after auth.otp_ttl_seconds and is void after
//    auth.otp_max_attempts wrong tries;
//  - login with an unknown user costs the same argon2 work and gives the same
//    error as a wrong password;
//  - a code whose mail could not be sent is forgotten, so retrying is not
//    blocked by the cooldown.
// ValidateToken is the hot path of every API request: it does an HMAC, a
// hash-set lookup and one prepared-statement read, never argon2.
//
// Owns nothing it is given: the collaborators must outlive it. Thread-safe:
// the read-check-update steps on stored codes are serialised by one mutex
// (held only around database work, never around argon2 or mail), so
// parallel guesses cannot exceed the attempt limit.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "auth/mailer.h"
#include "auth/otp.h"
#include "auth/password.h"
#include "auth/rate_limiter.h"
#include "auth/user_store.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/result.h"

namespace nexus::auth {

// The exact message strings of the HTTP contract.
inline constexpr std::string_view kRegisterInitMessage = "OTP sent to email";
inline constexpr std::string_view kInvalidCodeMessage = "invalid or expired code";
inline constexpr std::string_view kInvalidLoginMessage = "invalid username or password";
inline constexpr std::string_view kMailSubject = "Your Nexus code";

struct LoginInitResult {
  std::string message;  // "OTP sent to <email>"
  std::string email;
};

struct TokenResult {
  std::string token;
  std::string username;
  int64_t expires_at = 0;  // unix seconds
};

// Who a valid token belongs to, with the profile.
struct Identity {
  std::string username;
  std::string user_id;
  std::string jti;
  int64_t expires_at = 0;
  std::string email;
  int64_t created_at = 0;
};

struct UserProfile {
  std::string id;
  std::string username;
  std::string email;
  int64_t created_at = 0;
};

class AuthService {
 public:
  struct Deps {
    const Clock& clock;
    UserStore& store;
    Mailer& mailer;
    const PasswordHasher& passwords;
    const OtpHasher& otp;
    const JwtSigner& jwt;
    RateLimiter& ip_limiter;       // keyed by client IP
    RateLimiter& account_limiter;  // keyed by email (register) / username (login)
  };

  AuthService(const AuthConfig& config, Deps deps);

  // Returns kRegisterInitMessage. An empty `client_ip` (a caller that does
  // not know it) skips only the per-IP limit.
  Result<std::string> RegisterInit(std::string_view username, std::string_view password,
                                   std::string_view email, std::string_view client_ip);
  Result<TokenResult> RegisterVerify(std::string_view email, std::string_view code);

  Result<LoginInitResult> LoginInit(std::string_view username, std::string_view password,
                                    std::string_view client_ip);
  Result<TokenResult> LoginVerify(std::string_view email, std::string_view code);

  // kUnauthenticated for any token that is malformed, forged, expired,
  // revoked, or whose user no longer exists.
  Result<Identity> ValidateToken(std::string_view token);
  // Revokes the token until it would expire; survives restarts.
  Status Logout(std::string_view token);

  Result<UserProfile> GetUser(std::string_view username);
  Status Health();

 private:
  Status CheckRateLimits(std::string_view client_ip, const std::string& account_key);
  Status CheckCooldown(int64_t last_sent_at, int64_t now) const;
  std::string MailBody(std::string_view purpose, const std::string& code) const;
  Result<TokenResult> IssueToken(const std::string& user_id, const std::string& username);
  void MaybePrune(int64_t now);

  const AuthConfig config_;
  const OtpPolicy otp_policy_;
  Deps d_;
  std::mutex codes_mu_;  // serialises read-check-update of stored codes
  std::atomic<int64_t> last_prune_{0};
};

}  // namespace nexus::auth
