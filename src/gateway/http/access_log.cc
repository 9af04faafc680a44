#include "gateway/http/access_log.h"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>

#include "common/logging.h"

namespace nexus::gateway {
namespace {

// Log lines must stay one line and unambiguous whatever a client sends.
void AppendPrintable(std::string& out, std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x21 || u == 0x7f || c == '"') ? '?' : c);
  }
}

// Formats into memory and writes to a file descriptor in batches.
class BatchingFdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit BatchingFdSink(int fd) : fd_(fd) {}
  ~BatchingFdSink() override { WriteOut(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    formatter_->format(msg, buffer_);
    if (buffer_.size() >= kBatchBytes) WriteOut();
  }
  void flush_() override { WriteOut(); }

 private:
  static constexpr std::size_t kBatchBytes = 32 * 1024;

  void WriteOut() {
    const char* p = buffer_.data();
    std::size_t left = buffer_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to log to: drop rather than block serving
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    buffer_.clear();
  }

  int fd_;
  spdlog::memory_buf_t buffer_;
};

std::shared_ptr<spdlog::logger>& AccessLogger() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

}  // namespace

void InitAccessLog(std::string_view service, std::string_view level) {
  auto logger = std::make_shared<spdlog::logger>(std::string(service) + ".access",
                                                 std::make_shared<BatchingFdSink>(STDERR_FILENO));
  // A JSON line is whole as LogAccess formats it.
  logger->set_pattern(CurrentLogFormat() == LogFormat::kJson ? "%v"
                                                             : "%Y-%m-%dT%H:%M:%S.%e %l [%n] %v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::register_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  AccessLogger() = std::move(logger);
}

std::string FormatAccessLine(const Request& req, int status, uint64_t bytes, double duration_ms) {
  std::string line;
  line.reserve(128);
  AppendPrintable(line, req.request_id.empty() ? "-" : req.request_id);
  line.push_back(' ');
  AppendPrintable(line, req.method.empty() ? "-" : req.method);
  line.push_back(' ');
  if (req.path.empty()) {
    line += "-";
  } else {
    AppendPrintable(line, req.path);
    char sep = '?';
    for (const auto& [name, value] : req.query) {
      line.push_back(sep);
      AppendPrintable(line, name);
      sep = '&';
    }
  }
  fmt::format_to(std::back_inserter(line), " {} {}B {:.2f}ms", status, bytes, duration_ms);
  if (!req.principal.username.empty()) {
    line += " user=";
    AppendPrintable(line, req.principal.username);
  }
  return line;
}

std::string FormatAccessJson(const Request& req, int status, uint64_t bytes, double duration_ms) {
  std::string line = JsonLogLineStart("info");
  line.reserve(256);
  auto field = [&line](std::string_view name, std::string_view value) {
    line += ",\"";
    line += name;
    line += "\":\"";
    AppendJsonEscaped(line, value);
    line += '"';
  };
  field("request_id", req.request_id);
  field("method", req.method);
  // The pattern, not the path: paths name users' files.
  field("route", req.route);
  if (!req.principal.username.empty()) field("user", req.principal.username);
  fmt::format_to(std::back_inserter(line), ",\"status\":{},\"bytes\":{},\"duration_ms\":{:.2f}}}",
                 status, bytes, duration_ms);
  return line;
}

void LogAccess(const Request& req, int status, uint64_t bytes, double duration_ms) {
  spdlog::logger* logger = AccessLogger() ? AccessLogger().get() : spdlog::default_logger_raw();
  if (!logger->should_log(spdlog::level::info)) return;
  if (CurrentLogFormat() == LogFormat::kJson && AccessLogger()) {
    logger->info("{}", FormatAccessJson(req, status, bytes, duration_ms));
  } else {
    logger->info("{}", FormatAccessLine(req, status, bytes, duration_ms));
  }
}

}  // namespace nexus::gateway
