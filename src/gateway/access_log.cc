#include "gateway/access_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nexus::gateway {
namespace {

// Log lines must stay one line and unambiguous whatever a client sends.
void AppendPrintable(std::string& out, std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x21 || u == 0x7f || c == '"') ? '?' : c);
  }
}

}  // namespace

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

void LogAccess(const Request& req, int status, uint64_t bytes, double duration_ms) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  spdlog::info("{}", FormatAccessLine(req, status, bytes, duration_ms));
}

}  // namespace nexus::gateway
