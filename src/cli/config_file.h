// The CLI's own settings file, `~/.config/nexus/config.toml`: the server to
// talk to, and the token and username of the last `nexus login`.
//
// It holds a bearer token, so it is written owner-only (0600, its folder
// 0700) from the first byte, to a temp name that is renamed over the old
// file: a crash never leaves a half-written token file, and never one that
// others could read. Plain functions over a path; thread-compatible.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/result.h"
#include "common/status.h"

namespace nexus::cli {

struct CliConfig {
  std::string server;    // "http://127.0.0.1:8080"; empty: not set
  std::string token;     // bearer token; empty: logged out
  std::string username;  // who the token belongs to, for messages
};

// Reads an environment variable; nullopt when unset. Injected so tests need
// not touch the process environment.
using GetEnv = std::function<std::optional<std::string>(const char*)>;
GetEnv ProcessEnv();

// $XDG_CONFIG_HOME/nexus/config.toml, else $HOME/.config/nexus/config.toml.
Result<std::string> DefaultConfigPath(const GetEnv& env);

// A missing file is an empty config; a malformed one is an error naming it.
Result<CliConfig> LoadConfig(const std::string& path);
Status SaveConfig(const std::string& path, const CliConfig& config);

// The TOML text of `config` (keys left out when empty).
std::string ConfigToToml(const CliConfig& config);
Result<CliConfig> ConfigFromToml(const std::string& text, const std::string& origin);

}  // namespace nexus::cli
