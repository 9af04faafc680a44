#include "auth/app_passwords.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <optional>

#include "auth/client_address.h"
#include "auth/crypto.h"
#include "auth/validation.h"

namespace nexus::auth {
namespace {

bool SameUsername(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

AppPasswordInfo InfoOf(const AppPasswordRecord& r) {
  return AppPasswordInfo{r.id, r.name, r.created_at, r.last_used_at};
}

}  // namespace

Result<UserRecord> AppPasswords::FindUser(std::string_view username) {
  NEXUS_ASSIGN_OR_RETURN(std::optional<UserRecord> user, d_.users.FindUserByUsername(username));
  if (!user) return NotFoundError("user '" + std::string(username) + "' not found");
  return std::move(*user);
}

Result<NewAppPassword> AppPasswords::Create(std::string_view username, std::string_view name) {
  NEXUS_RETURN_IF_ERROR(ValidateAppPasswordName(name));
  NEXUS_ASSIGN_OR_RETURN(UserRecord user, FindUser(username));
  std::string password = GenerateAppPassword();
  std::optional<std::string> canonical = CanonicalAppPassword(password);
  if (!canonical) return InternalError("a generated app password has no canonical form");
  AppPasswordRecord record{
      NewUuid(), user.id, std::string(name), d_.hasher.Hash(*canonical), d_.clock.NowSeconds(), 0};
  NEXUS_ASSIGN_OR_RETURN(bool stored, d_.store.InsertIfUnderCap(record, policy_.max_per_user));
  if (!stored) {
    return PermissionDeniedError("at most " + std::to_string(policy_.max_per_user) +
                                 " app passwords per account; delete one first");
  }
  spdlog::info("app password {} created for {}", record.id, user.username);
  return NewAppPassword{InfoOf(record), std::move(password)};
}

Result<std::vector<AppPasswordInfo>> AppPasswords::List(std::string_view username) {
  NEXUS_ASSIGN_OR_RETURN(UserRecord user, FindUser(username));
  NEXUS_ASSIGN_OR_RETURN(std::vector<AppPasswordRecord> rows, d_.store.ListForUser(user.id));
  std::vector<AppPasswordInfo> out;
  out.reserve(rows.size());
  for (const AppPasswordRecord& r : rows) out.push_back(InfoOf(r));
  return out;
}

Status AppPasswords::Delete(std::string_view username, std::string_view id) {
  NEXUS_ASSIGN_OR_RETURN(UserRecord user, FindUser(username));
  NEXUS_RETURN_IF_ERROR(d_.store.Delete(user.id, id));
  spdlog::info("app password {} of {} deleted", id, user.username);
  return Status::Ok();
}

Result<AppPasswordIdentity> AppPasswords::Validate(std::string_view username,
                                                   std::string_view password,
                                                   std::string_view client_address) {
  const std::string client = ClientBucket(client_address);
  if (int64_t wait = d_.failure_limiter.SecondsUntilAvailable(client)) {
    return RateLimitedError("too many failed sign-ins from this address; retry later",
                            static_cast<int>(wait));
  }
  const auto failed = [&] {
    d_.failure_limiter.Acquire(client);
    return UnauthenticatedError(std::string(kInvalidAppPasswordMessage));
  };
  std::optional<std::string> canonical = CanonicalAppPassword(password);
  if (username.empty() || !canonical) return failed();
  NEXUS_ASSIGN_OR_RETURN(std::optional<AppPasswordOwner> owner,
                         d_.store.FindBySecretHash(d_.hasher.Hash(*canonical)));
  // The secret alone finds its row; the username must name the same account,
  // so a client's username is never ignored.
  if (!owner || !SameUsername(owner->username, username)) return failed();

  const int64_t now = d_.clock.NowSeconds();
  if (now - owner->last_used_at >= policy_.last_used_resolution_seconds) {
    // The sign-in stands even if the note cannot be written.
    if (Status s = d_.store.NoteUsed(owner->app_password_id, now); !s.ok()) {
      spdlog::warn("{}", s.ToString());
    }
  }
  return AppPasswordIdentity{owner->username, owner->user_id, owner->email, owner->user_created_at,
                             owner->app_password_id};
}

}  // namespace nexus::auth
