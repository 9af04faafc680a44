// RecordingMailer: a Mailer that keeps every message in memory, and can be
// told to fail, for tests of code that sends mail. Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "auth/mailer.h"

namespace nexus::testing {

class RecordingMailer final : public auth::Mailer {
 public:
  struct Message {
    std::string to;
    std::string subject;
    std::string body;
  };

  Status Send(const std::string& to, const std::string& subject, const std::string& body) override {
    std::lock_guard lock(mu_);
    if (fail_) return UpstreamFailedError("send mail: test mailer is failing");
    sent_.push_back({to, subject, body});
    return Status::Ok();
  }

  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  std::vector<Message> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return sent_.size();
  }
  // The 6-digit code on a line of its own in the newest message to `to`.
  std::optional<std::string> LastCodeFor(const std::string& to) const {
    std::lock_guard lock(mu_);
    static const std::regex kCodeLine("(^|\n)([0-9]{6})(\n|$)");
    for (auto it = sent_.rbegin(); it != sent_.rend(); ++it) {
      if (it->to != to) continue;
      std::smatch m;
      if (std::regex_search(it->body, m, kCodeLine)) return m[2].str();
      return std::nullopt;
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex mu_;
  bool fail_ = false;
  std::vector<Message> sent_;
};

}  // namespace nexus::testing
