#include "auth/auth_metrics.h"

namespace nexus::auth {

AuthMetrics::AuthMetrics(metrics::Registry& registry)
    : registry_(registry),
      codes_sent_(registry.AddCounter("nexus_auth_codes_sent_total",
                                      "One-time codes mailed (register and login inits).")),
      logins_(registry.AddCounter("nexus_auth_logins_total",
                                  "Logins completed (a right code traded for a token).")),
      login_failures_(registry.AddCounter(
          "nexus_auth_login_failures_total",
          "Login steps refused for a wrong password or a wrong or expired code.")),
      app_password_failures_(registry.AddCounter(
          "nexus_auth_app_password_failures_total",
          "App password sign-ins refused for a wrong, revoked or malformed password.")),
      rate_limited_(registry.AddCounter("nexus_auth_rate_limited_total",
                                        "Requests refused by a rate limit or cooldown.")) {}

void AuthMetrics::Answered(const Status& s) {
  if (s.code() == StatusCode::kRateLimited) rate_limited_.Inc();
}

void AuthMetrics::AppPasswordValidated(const Status& s) {
  Answered(s);
  if (s.code() == StatusCode::kUnauthenticated) app_password_failures_.Inc();
}

void AuthMetrics::InitAnswered(const Status& s) {
  Answered(s);
  if (s.ok()) codes_sent_.Inc();
}

void AuthMetrics::LoginInitAnswered(const Status& s) {
  InitAnswered(s);
  if (s.code() == StatusCode::kUnauthenticated) login_failures_.Inc();
}

void AuthMetrics::LoginVerifyAnswered(const Status& s) {
  Answered(s);
  if (s.ok()) logins_.Inc();
  if (s.code() == StatusCode::kUnauthenticated) login_failures_.Inc();
}

}  // namespace nexus::auth
