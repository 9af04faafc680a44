// FakeEnv: an environment for the CLI's config and context tests, so they
// never read or change the process's own. Thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cli/config_file.h"

namespace nexus::cli {

inline GetEnv FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace nexus::cli
