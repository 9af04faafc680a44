#include "auth/auth_service.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "auth/client_address.h"
#include "auth/crypto.h"
#include "auth/validation.h"

namespace nexus::auth {
namespace {

constexpr int64_t kPruneIntervalSeconds = 60;

Status InvalidCode() { return UnauthenticatedError(std::string(kInvalidCodeMessage)); }
Status InvalidLogin() { return UnauthenticatedError(std::string(kInvalidLoginMessage)); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Verify requests carry what a client typed; a malformed email cannot have a
// code, so it gets the same answer as a wrong code.
Result<std::string> VerifyEmail(std::string_view email, std::string_view code) {
  if (email.empty()) return InvalidArgumentError("email is required");
  if (code.empty()) return InvalidArgumentError("code is required");
  auto normalized = NormalizeEmail(email);
  if (!normalized.ok()) return InvalidCode();
  return normalized;
}

// One token from `limiter` for the client, unless its address is unknown.
Status CheckAddressLimit(RateLimiter& limiter, const std::string& client) {
  if (client.empty()) return Status::Ok();
  if (int64_t wait = limiter.Acquire(client)) {
    return RateLimitedError("too many requests from this address; retry later",
                            static_cast<int>(wait));
  }
  return Status::Ok();
}

}  // namespace

AuthService::AuthService(const AuthConfig& config, Deps deps)
    : config_(config),
      otp_policy_{config.otp_ttl_seconds, config.otp_max_attempts, config.otp_max_attempts_total},
      d_(deps) {}

Status AuthService::CheckCodesMailed(const std::string& account_key) {
  if (int64_t wait = d_.account_limiter.Acquire(account_key)) {
    return RateLimitedError("too many codes sent for this account; retry later",
                            static_cast<int>(wait));
  }
  return Status::Ok();
}

Status AuthService::CheckCode(CodePurpose purpose, const std::string& email, OtpState state,
                              std::string_view code, const std::string& client, int64_t now) {
  NEXUS_ASSIGN_OR_RETURN(state.address_attempts, d_.store.WrongTriesFrom(purpose, email, client));
  const auto remove = [&] {
    return purpose == CodePurpose::kRegistration ? d_.store.DeletePending(email)
                                                 : d_.store.DeleteChallenge(email);
  };
  switch (CheckOtp(d_.otp, otp_policy_, state, code, now)) {
    case OtpVerdict::kAccepted:
      return Status::Ok();
    case OtpVerdict::kWrong:
      NEXUS_RETURN_IF_ERROR(d_.store.CountWrongTry(purpose, email, client));
      return InvalidCode();
    case OtpVerdict::kAddressExhausted:
      return InvalidCode();
    case OtpVerdict::kExhausted:
      spdlog::warn("{} code for {} is void: too many wrong tries",
                   purpose == CodePurpose::kRegistration ? "registration" : "login", email);
      NEXUS_RETURN_IF_ERROR(remove());
      return InvalidCode();
    case OtpVerdict::kExpired:
      NEXUS_RETURN_IF_ERROR(remove());
      return InvalidCode();
  }
  return InvalidCode();
}

Status AuthService::CheckCooldown(int64_t last_sent_at, int64_t now) const {
  const int64_t wait = last_sent_at + config_.resend_cooldown_seconds - now;
  if (wait > 0) {
    return RateLimitedError("a code was sent to this email recently; retry later",
                            static_cast<int>(wait));
  }
  return Status::Ok();
}

std::string AuthService::MailBody(std::string_view purpose, const std::string& code) const {
  const int64_t minutes = (config_.otp_ttl_seconds + 59) / 60;
  return "Your Nexus code " + std::string(purpose) + " is:\n\n" + code + "\n\nIt is valid for " +
         std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes") +
         ". If you did not ask for it, you can ignore this email.\n";
}

Result<TokenResult> AuthService::IssueToken(const std::string& user_id,
                                            const std::string& username) {
  NEXUS_ASSIGN_OR_RETURN(SignedToken t, d_.jwt.Sign(user_id, username));
  return TokenResult{std::move(t.token), username, t.claims.expires_at};
}

void AuthService::MaybePrune(int64_t now) {
  int64_t last = last_prune_.load();
  if (now - last < kPruneIntervalSeconds || !last_prune_.compare_exchange_strong(last, now)) {
    return;
  }
  if (Status s = d_.store.PruneExpired(now); !s.ok()) spdlog::warn("{}", s.ToString());
}

Result<std::string> AuthService::RegisterInit(std::string_view username, std::string_view password,
                                              std::string_view email_in,
                                              std::string_view client_ip) {
  NEXUS_RETURN_IF_ERROR(ValidateUsername(username));
  NEXUS_ASSIGN_OR_RETURN(const std::string email, NormalizeEmail(email_in));
  NEXUS_RETURN_IF_ERROR(ValidatePassword(password, config_.password_min_length));
  NEXUS_RETURN_IF_ERROR(CheckAddressLimit(d_.ip_limiter, ClientBucket(client_ip)));

  NEXUS_ASSIGN_OR_RETURN(auto by_name, d_.store.FindUserByUsername(username));
  if (by_name) return AlreadyExistsError("username is already taken");
  NEXUS_ASSIGN_OR_RETURN(auto by_email, d_.store.FindUserByEmail(email));
  if (by_email) return AlreadyExistsError("email is already registered");

  const int64_t now = d_.clock.NowSeconds();
  MaybePrune(now);
  {
    // Checked before hashing so a cooldown costs no argon2 work.
    std::lock_guard lock(codes_mu_);
    NEXUS_ASSIGN_OR_RETURN(auto pending, d_.store.FindPending(email));
    if (pending) NEXUS_RETURN_IF_ERROR(CheckCooldown(pending->last_sent_at, now));
  }
  // Hashed even when it will not be stored (a pending registration holds
  // the email), so the answer takes as long either way.
  NEXUS_ASSIGN_OR_RETURN(std::string password_hash, d_.passwords.Hash(password));
  const std::string code = GenerateOtp();
  const std::string otp_hash = d_.otp.Hash(code);
  std::string confirms;  // the username the mailed code confirms
  {
    std::lock_guard lock(codes_mu_);
    // Again: another init for this email may have stored a code meanwhile.
    NEXUS_ASSIGN_OR_RETURN(auto pending, d_.store.FindPending(email));
    if (pending) NEXUS_RETURN_IF_ERROR(CheckCooldown(pending->last_sent_at, now));
    NEXUS_RETURN_IF_ERROR(CheckCodesMailed("register:" + email));
    if (pending && now < pending->otp_expires_at) {
      // Whoever asks, the code goes to the email's owner and confirms the
      // registration already pending there: a second init can neither take
      // it over nor learn whether its own details matched.
      NEXUS_RETURN_IF_ERROR(
          d_.store.RenewPendingCode(email, otp_hash, now + config_.otp_ttl_seconds, now));
      confirms = pending->username;
    } else {
      NEXUS_RETURN_IF_ERROR(d_.store.PutPending({email, std::string(username), password_hash,
                                                 otp_hash, now + config_.otp_ttl_seconds, 0, now}));
      confirms = std::string(username);
    }
  }

  if (Status s =
          d_.mailer.Send(email, std::string(kMailSubject),
                         MailBody("to confirm the registration of \"" + confirms + "\"", code));
      !s.ok()) {
    spdlog::warn("registration code for {}: {}", email, s.ToString());
    if (Status d = d_.store.DeletePending(email, otp_hash); !d.ok()) {
      spdlog::warn("{}", d.ToString());
    }
    return UpstreamFailedError("could not send the code by email; try again later");
  }
  return std::string(kRegisterInitMessage);
}

Result<TokenResult> AuthService::RegisterVerify(std::string_view email_in, std::string_view code,
                                                std::string_view client_ip) {
  NEXUS_ASSIGN_OR_RETURN(const std::string email, VerifyEmail(email_in, code));
  const std::string client = ClientBucket(client_ip);
  NEXUS_RETURN_IF_ERROR(CheckAddressLimit(d_.verify_limiter, client));
  const int64_t now = d_.clock.NowSeconds();
  UserRecord user;
  {
    std::lock_guard lock(codes_mu_);
    NEXUS_ASSIGN_OR_RETURN(auto pending, d_.store.FindPending(email));
    if (!pending) return InvalidCode();
    NEXUS_RETURN_IF_ERROR(CheckCode(CodePurpose::kRegistration, email,
                                    {pending->otp_hash, pending->otp_expires_at, pending->attempts},
                                    code, client, now));
    user = UserRecord{NewUuid(), pending->username, email, pending->password_hash, now};
    Status s = d_.store.CompleteRegistration(user);
    if (s.code() == StatusCode::kAlreadyExists) {
      // Someone else registered the name or email since the init: this
      // pending registration can never succeed.
      NEXUS_RETURN_IF_ERROR(d_.store.DeletePending(email));
    }
    NEXUS_RETURN_IF_ERROR(s);
  }
  spdlog::info("user {} registered", user.username);
  return IssueToken(user.id, user.username);
}

Result<LoginInitResult> AuthService::LoginInit(std::string_view username, std::string_view password,
                                               std::string_view client_ip) {
  if (username.empty()) return InvalidArgumentError("username is required");
  if (password.empty()) return InvalidArgumentError("password is required");
  const std::string client = ClientBucket(client_ip);
  NEXUS_RETURN_IF_ERROR(CheckAddressLimit(d_.ip_limiter, client));
  // Wrong passwords slow down the (account, address) pair that sent them,
  // never the account as a whole: an outsider cannot lock its owner out.
  const std::string pair = Lower(username) + "\n" + client;
  if (int64_t wait = d_.login_backoff.Begin(pair)) {
    return RateLimitedError(
        "too many failed logins for this account from this address; retry later",
        static_cast<int>(wait));
  }
  // No stored password is this long, and the answer does not depend on
  // whether the user exists.
  if (password.size() > kPasswordMaxLength) return InvalidLogin();

  NEXUS_ASSIGN_OR_RETURN(auto user, d_.store.FindUserByUsername(username));
  const bool password_ok = user ? d_.passwords.Verify(user->password_hash, password)
                                : d_.passwords.VerifyAgainstDummy(password);
  if (!password_ok) return InvalidLogin();
  d_.login_backoff.Succeeded(pair);

  const int64_t now = d_.clock.NowSeconds();
  MaybePrune(now);
  const std::string code = GenerateOtp();
  const std::string otp_hash = d_.otp.Hash(code);
  {
    std::lock_guard lock(codes_mu_);
    NEXUS_ASSIGN_OR_RETURN(auto challenge, d_.store.FindChallenge(user->email));
    if (challenge) NEXUS_RETURN_IF_ERROR(CheckCooldown(challenge->last_sent_at, now));
    // Only here, with the password proven, does a request count against the
    // account: it is about to mail a code.
    NEXUS_RETURN_IF_ERROR(CheckCodesMailed("login:" + user->id));
    NEXUS_RETURN_IF_ERROR(d_.store.PutChallenge(
        {user->email, user->id, otp_hash, now + config_.otp_ttl_seconds, 0, now}));
  }

  if (Status s =
          d_.mailer.Send(user->email, std::string(kMailSubject), MailBody("to sign in", code));
      !s.ok()) {
    spdlog::warn("login code for {}: {}", user->email, s.ToString());
    if (Status d = d_.store.DeleteChallenge(user->email, otp_hash); !d.ok()) {
      spdlog::warn("{}", d.ToString());
    }
    return UpstreamFailedError("could not send the code by email; try again later");
  }
  return LoginInitResult{"OTP sent to " + user->email, user->email};
}

Result<TokenResult> AuthService::LoginVerify(std::string_view email_in, std::string_view code,
                                             std::string_view client_ip) {
  NEXUS_ASSIGN_OR_RETURN(const std::string email, VerifyEmail(email_in, code));
  const std::string client = ClientBucket(client_ip);
  NEXUS_RETURN_IF_ERROR(CheckAddressLimit(d_.verify_limiter, client));
  const int64_t now = d_.clock.NowSeconds();
  std::string user_id;
  {
    std::lock_guard lock(codes_mu_);
    NEXUS_ASSIGN_OR_RETURN(auto challenge, d_.store.FindChallenge(email));
    if (!challenge) return InvalidCode();
    NEXUS_RETURN_IF_ERROR(CheckCode(
        CodePurpose::kLogin, email,
        {challenge->otp_hash, challenge->expires_at, challenge->attempts}, code, client, now));
    NEXUS_RETURN_IF_ERROR(d_.store.DeleteChallenge(email));
    user_id = challenge->user_id;
  }
  NEXUS_ASSIGN_OR_RETURN(auto user, d_.store.FindUserById(user_id));
  if (!user) return InvalidCode();
  return IssueToken(user->id, user->username);
}

Result<Identity> AuthService::ValidateToken(std::string_view token) {
  NEXUS_ASSIGN_OR_RETURN(TokenClaims claims, d_.jwt.Verify(token));
  if (d_.store.IsRevoked(claims.jti)) return UnauthenticatedError("token has been revoked");
  NEXUS_ASSIGN_OR_RETURN(auto user, d_.store.FindUserById(claims.user_id));
  if (!user) return UnauthenticatedError("the token's user no longer exists");
  return Identity{user->username,    user->id,    std::move(claims.jti),
                  claims.expires_at, user->email, user->created_at};
}

Status AuthService::Logout(std::string_view token) {
  NEXUS_ASSIGN_OR_RETURN(TokenClaims claims, d_.jwt.Verify(token));
  MaybePrune(d_.clock.NowSeconds());
  return d_.store.RevokeToken(claims.jti, claims.expires_at);
}

Result<UserProfile> AuthService::GetUser(std::string_view username) {
  NEXUS_ASSIGN_OR_RETURN(auto user, d_.store.FindUserByUsername(username));
  if (!user) return NotFoundError("user '" + std::string(username) + "' not found");
  return UserProfile{user->id, user->username, user->email, user->created_at};
}

Status AuthService::Health() { return d_.store.Ping(); }

}  // namespace nexus::auth
