// Mailer: sends one plain-text email. Two implementations, chosen by config:
//
//  - SmtpMailer (mail.smtp_url set): libcurl. smtp:// upgrades with STARTTLS
//    when the server offers it, smtps:// is TLS from the start; optional
//    login (mail.username/password), mail.timeout_seconds per message.
//  - OutboxMailer (the default): each message becomes one .eml file in
//    mail.outbox_dir, written atomically (temp file + rename), and one log
//    line names the file. For development and tests; the code is in the file,
//    never in the log.
//
// A message that cannot be delivered is kUpstreamFailed with a reason. Both
// implementations are thread-safe (no shared mutable state per message).
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "common/env.h"
#include "common/status.h"

namespace nexus::auth {

class Mailer {
 public:
  virtual ~Mailer() = default;
  virtual Status Send(const std::string& to, const std::string& subject,
                      const std::string& body) = 0;
};

struct MailHeaders {
  std::string from;  // "Name <addr>" or "addr"
  std::string to;
  std::string subject;
  int64_t date_seconds = 0;  // unix seconds
  std::string message_id;    // "<...@...>"
};

// The whole RFC 5322 message: From, To, Subject, Date, Message-ID,
// MIME-Version and a UTF-8 text/plain body, with CRLF line ends. kInvalidArgument
// if a header value contains CR or LF (header injection).
Result<std::string> FormatMessage(const MailHeaders& headers, const std::string& body);

// The bare address of "Name <addr>" or "addr".
std::string AddressOf(const std::string& mailbox);

// `url` without any "user:password@" part, for messages and logs.
std::string RedactUrl(const std::string& url);

// A fresh "<random@domain-of-from>" Message-ID.
std::string NewMessageId(const std::string& from);

class SmtpMailer final : public Mailer {
 public:
  SmtpMailer(const MailConfig& config, const Clock& clock);
  Status Send(const std::string& to, const std::string& subject, const std::string& body) override;

 private:
  MailConfig config_;
  const Clock& clock_;
};

class OutboxMailer final : public Mailer {
 public:
  // `dir` is created (with parents) on first use if missing.
  OutboxMailer(Env& env, std::string dir, std::string from, const Clock& clock);
  Status Send(const std::string& to, const std::string& subject, const std::string& body) override;

 private:
  Env& env_;
  std::string dir_;
  std::string from_;
  const Clock& clock_;
};

// SmtpMailer when config.smtp_url is set, else OutboxMailer (writing
// through `env`).
std::unique_ptr<Mailer> MakeMailer(const MailConfig& config, const Clock& clock, Env& env);

}  // namespace nexus::auth
