// AuthService: the account and token logic of nexus-auth, free of gRPC.
//
// Registration and login are both two steps: *Init checks the input (and, for
// login, the password), stores a hashed 6-digit code and mails it; *Verify
// trades a correct code for a token. Rules enforced here (every per-address
// rule counts an IPv6 client per /64, see ClientBucket):
//  - init routes: a token bucket per client address (ip_limiter);
//  - wrong passwords: an exponential backoff per (account, client address)
//    (login_backoff), so an outsider's guesses slow down only the outsider;
//  - codes mailed: a token bucket per account (account_limiter; the email for
//    a registration, the user for a login), drawn only when a code is about
//    to be mailed, i.e. after a right password; plus a resend cooldown per
//    email;
//  - verify routes: a token bucket per client address (verify_limiter);
//  - a code expires after auth.otp_ttl_seconds; each client address may make
//    auth.otp_max_attempts wrong tries at it, and after
//    auth.otp_max_attempts_total wrong tries from all addresses together it
//    is void. So wrong tries from one address never void another's code,
//    and the odds of guessing a code stay at most total / 10^6;
//  - a register init for an email whose registration is pending (its code
//    unexpired) never replaces that registration's username or password:
//    past the cooldown it mails a new code for the SAME pending
//    registration and answers as any init does; the mail names the username
//    the code confirms;
//  - login with an unknown user costs the same argon2 work and gives the same
//    error as a wrong password;
//  - a code whose mail could not be sent is forgotten, so retrying is not
//    blocked by the cooldown.
// ValidateToken is the hot path of every API request: it does an HMAC, a
// hash-set lookup and one prepared-statement read, never argon2 and never a
// database write.
//
// Owns nothing it is given: the collaborators must outlive it. Thread-safe:
// the read-check-update steps on stored codes are serialised by one mutex
// (held only around database work, never around argon2 or mail), so
// parallel guesses cannot exceed the attempt limits.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/failure_backoff.h"
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
    RateLimiter& ip_limiter;        // init routes, keyed by client address
    RateLimiter& verify_limiter;    // verify routes, keyed by client address
    RateLimiter& account_limiter;   // codes mailed, keyed by email / user id
    FailureBackoff& login_backoff;  // wrong passwords, keyed by (username, address)
  };

  AuthService(const AuthConfig& config, Deps deps);

  // Returns kRegisterInitMessage. An empty `client_ip` (a caller that does
  // not know it) skips only the per-address token buckets; the per-address
  // counts then treat all such callers as one address.
  Result<std::string> RegisterInit(std::string_view username, std::string_view password,
                                   std::string_view email, std::string_view client_ip);
  Result<TokenResult> RegisterVerify(std::string_view email, std::string_view code,
                                     std::string_view client_ip);

  Result<LoginInitResult> LoginInit(std::string_view username, std::string_view password,
                                    std::string_view client_ip);
  Result<TokenResult> LoginVerify(std::string_view email, std::string_view code,
                                  std::string_view client_ip);

  // kUnauthenticated for any token that is malformed, forged, expired,
  // revoked, or whose user no longer exists.
  Result<Identity> ValidateToken(std::string_view token);
  // Revokes the token until it would expire; survives restarts.
  Status Logout(std::string_view token);

  Result<UserProfile> GetUser(std::string_view username);
  Status Health();

 private:
  Status CheckCooldown(int64_t last_sent_at, int64_t now) const;
  Status CheckCodesMailed(const std::string& account_key);
  // Applies the code rules to `state` for a try from `client`, counting a
  // wrong try and removing a void code. Ok only for the right code. Call
  // with codes_mu_ held.
  Status CheckCode(CodePurpose purpose, const std::string& email, OtpState state,
                   std::string_view code, const std::string& client, int64_t now);
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
