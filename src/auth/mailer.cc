#include "auth/mailer.h"

#include <curl/curl.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>

#include "auth/crypto.h"

namespace nexus::auth {
namespace {

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

bool IsAscii(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// RFC 2047 encoded-word for a non-ASCII subject; ASCII passes unchanged.
std::string EncodeHeaderText(const std::string& s) {
  if (IsAscii(s)) return s;
  std::string b64(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  return "=?UTF-8?B?" + b64 + "?=";
}

// RFC 5322 date-time in UTC. Written out by hand because strftime's %a/%b
// follow the process locale and the format must not.
std::string RfcDate(int64_t seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string ToCrlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

struct CurlCleanup {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistCleanup {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct UploadState {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadBody(char* buf, size_t size, size_t nitems, void* userp) {
  auto* st = static_cast<UploadState*>(userp);
  size_t n = std::min(size * nitems, st->data->size() - st->offset);
  std::memcpy(buf, st->data->data() + st->offset, n);
  st->offset += n;
  return n;
}

void EnsureCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  auto host_start = scheme_end + 3;
  auto at = url.find('@', host_start);
  auto slash = url.find('/', host_start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, host_start) + url.substr(at + 1);
}

std::string AddressOf(const std::string& mailbox) {
  auto lt = mailbox.rfind('<');
  auto gt = mailbox.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && lt < gt) {
    return mailbox.substr(lt + 1, gt - lt - 1);
  }
  return mailbox;
}

std::string NewMessageId(const std::string& from) {
  std::string addr = AddressOf(from);
  auto at = addr.rfind('@');
  std::string domain = at == std::string::npos ? "nexus.invalid" : addr.substr(at + 1);
  return "<" + ToHex(RandomBytes(16)) + "@" + domain + ">";
}

Result<std::string> FormatMessage(const MailHeaders& h, const std::string& body) {
  for (const std::string* v : {&h.from, &h.to, &h.subject, &h.message_id}) {
    if (HasLineBreak(*v)) return InvalidArgumentError("mail header contains a line break");
  }
  std::string m;
  m += "From: " + h.from + "\r\n";
  m += "To: " + h.to + "\r\n";
  m += "Subject: " + EncodeHeaderText(h.subject) + "\r\n";
  m += "Date: " + RfcDate(h.date_seconds) + "\r\n";
  m += "Message-ID: " + h.message_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += ToCrlf(body);
  return m;
}

SmtpMailer::SmtpMailer(const MailConfig& config, const Clock& clock)
    : config_(config), clock_(clock) {
  EnsureCurl();
}

Status SmtpMailer::Send(const std::string& to, const std::string& subject,
                        const std::string& body) {
  const std::string where = "send mail via " + RedactUrl(config_.smtp_url);
  auto message = FormatMessage(
      {config_.from, to, subject, clock_.NowSeconds(), NewMessageId(config_.from)}, body);
  if (!message.ok()) return message.status().WithContext(where);

  std::unique_ptr<CURL, CurlCleanup> curl(curl_easy_init());
  if (!curl) return UpstreamFailedError(where + ": cannot initialise libcurl");
  std::unique_ptr<curl_slist, SlistCleanup> rcpt(
      curl_slist_append(nullptr, ("<" + AddressOf(to) + ">").c_str()));
  const std::string mail_from = "<" + AddressOf(config_.from) + ">";
  UploadState upload{&message.value()};
  char errbuf[CURL_ERROR_SIZE] = "";

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, config_.smtp_url.c_str());
  // smtps:// is TLS from the first byte. For smtp://, STARTTLS is used when
  // offered; with credentials it is required, so a password never crosses
  // the network in clear text (nor to a server that hides STARTTLS).
  const bool has_login = !config_.username.empty();
  curl_easy_setopt(c, CURLOPT_USE_SSL, has_login ? CURLUSESSL_ALL : CURLUSESSL_TRY);
  if (has_login) {
    curl_easy_setopt(c, CURLOPT_USERNAME, config_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, config_.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(config_.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(config_.timeout_seconds));
  // Signals cannot be used for timeouts in a multi-threaded server.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return UpstreamFailedError(where + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  }
  return Status::Ok();
}

OutboxMailer::OutboxMailer(Env& env, std::string dir, std::string from, const Clock& clock)
    : env_(env), dir_(std::move(dir)), from_(std::move(from)), clock_(clock) {}

Status OutboxMailer::Send(const std::string& to, const std::string& subject,
                          const std::string& body) {
  const std::string where = "write mail to outbox '" + dir_ + "'";
  auto message =
      FormatMessage({from_, to, subject, clock_.NowSeconds(), NewMessageId(from_)}, body);
  if (!message.ok()) return message.status().WithContext(where);

  // The messages hold live codes: owner only, directory and files.
  if (Status d = env_.MakeDirs(dir_, 0700); !d.ok())
    return UpstreamFailedError(where + ": " + d.message());
  // Millisecond prefix keeps names in sending order; the random part keeps
  // two messages in one millisecond apart.
  const std::string path =
      dir_ + "/" + std::to_string(clock_.NowMillis()) + "-" + ToHex(RandomBytes(4)) + ".eml";
  Status s = env_.WriteFileAtomically(path, *message, 0600, WriteMode::kNoReplace);
  if (!s.ok()) return UpstreamFailedError(where + ": " + s.message());
  spdlog::info("mail to {} written to {}", to, path);
  return Status::Ok();
}

std::unique_ptr<Mailer> MakeMailer(const MailConfig& config, const Clock& clock, Env& env) {
  if (config.smtp_url.empty()) {
    return std::make_unique<OutboxMailer>(env, config.outbox_dir, config.from, clock);
  }
  return std::make_unique<SmtpMailer>(config, clock);
}

}  // namespace nexus::auth
