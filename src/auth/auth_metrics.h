// AuthMetrics: nexus-auth's figures — codes mailed, logins, failed logins,
// failed app password sign-ins, requests refused by a rate limit — counted from the outcomes the
// gRPC adapter (service.h) already sees, so the account logic stays free of them. The counters live
// in the registry given, which nexus-auth's Metrics RPC writes out for the gateway's /metrics.
// Thread-safe.
#pragma once

#include "common/metrics/metrics.h"
#include "common/status.h"

namespace nexus::auth {

class AuthMetrics {
 public:
  explicit AuthMetrics(metrics::Registry& registry);

  // The outcome of a register init (ok: a code was mailed).
  void InitAnswered(const Status& s);
  // The outcome of a login init (ok: a code was mailed; else maybe a wrong
  // password).
  void LoginInitAnswered(const Status& s);
  // The outcome of a login verify (ok: a login).
  void LoginVerifyAnswered(const Status& s);
  // The outcome of an app password validation (unauthenticated: a failure).
  void AppPasswordValidated(const Status& s);
  // Any call: counts a rate-limit refusal.
  void Answered(const Status& s);

  const metrics::Registry& registry() const { return registry_; }

 private:
  metrics::Registry& registry_;
  metrics::Counter& codes_sent_;
  metrics::Counter& logins_;
  metrics::Counter& login_failures_;
  metrics::Counter& app_password_failures_;
  metrics::Counter& rate_limited_;
};

}  // namespace nexus::auth
