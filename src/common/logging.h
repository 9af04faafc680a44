// Logging: one spdlog logger per process, named after the service, writing
// to stderr. Call InitLogging once in main before any thread starts; after
// that spdlog's free functions (spdlog::info, ...) are thread-safe.
// Never log secrets: passwords, OTP codes, tokens, keys.
#pragma once

#include <string>

namespace nexus {

void InitLogging(const std::string& service, const std::string& level);

}  // namespace nexus
