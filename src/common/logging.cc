#include "common/logging.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

namespace nexus {
namespace {

// Written once by InitLogging, before any other thread exists.
LogFormat g_format = LogFormat::kText;
std::string& ServiceName() {
  static std::string name;
  return name;
}

// The thread's request id: `t_request_id` points at the string bound by a
// RequestIdScope, at `t_own_request_id` after SetCurrentRequestId, or at
// the empty `kNoRequestId`.
const std::string kNoRequestId;
thread_local std::string t_own_request_id;
thread_local const std::string* t_request_id = &kNoRequestId;

void AppendTime(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()) % 1000;
  fmt::format_to(std::back_inserter(out), "{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                 fmt::gmtime(system_clock::to_time_t(t)), ms.count());
}

// One JSON object a line: {"time","level","service","request_id","message"}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":\"";
    AppendTime(line, msg.time);
    line += "\",\"level\":\"";
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",\"service\":\"";
    AppendJsonEscaped(line, ServiceName());
    line += '"';
    if (const std::string& id = *t_request_id; !id.empty()) {
      line += ",\"request_id\":\"";
      AppendJsonEscaped(line, id);
      line += '"';
    }
    line += ",\"message\":\"";
    AppendJsonEscaped(line, std::string_view(msg.payload.data(), msg.payload.size()));
    line += "\"}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void InitLogging(const std::string& service, const std::string& level, const std::string& format) {
  g_format = format == "json" ? LogFormat::kJson : LogFormat::kText;
  ServiceName() = service;
  auto logger = spdlog::stderr_color_mt(service);
  if (g_format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

LogFormat CurrentLogFormat() { return g_format; }

const std::string& LogServiceName() { return ServiceName(); }

void AppendJsonEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    } else {
      out += c;
    }
  }
}

std::string JsonLogLineStart(std::string_view level) {
  std::string line = "{\"time\":\"";
  AppendTime(line, std::chrono::system_clock::now());
  line += "\",\"level\":\"";
  AppendJsonEscaped(line, level);
  line += "\",\"service\":\"";
  AppendJsonEscaped(line, ServiceName());
  line += '"';
  return line;
}

const std::string& CurrentRequestId() { return *t_request_id; }

void SetCurrentRequestId(std::string_view id) {
  t_own_request_id.assign(id);
  t_request_id = &t_own_request_id;
}

RequestIdScope::RequestIdScope(const std::string& id) : previous_(t_request_id) {
  t_request_id = &id;
}

RequestIdScope::~RequestIdScope() { t_request_id = previous_; }

}  // namespace nexus
