// What every command starts from: the global flags, the config file, and the
// server and token they resolve to. The precedence is the usual one: a flag
// beats the environment (NEXUS_SERVER, NEXUS_TOKEN), which beats the config
// file, which beats the built-in default server (the gateway's default
// listen address). Built once by main; read-only afterwards, so commands may
// share it across their transfer threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/config_file.h"
#include "cli/http_client.h"
#include "common/result.h"

namespace nexus::cli {

inline constexpr const char* kDefaultServer = "http://127.0.0.1:8080";

struct GlobalOptions {
  std::string server;       // --server; empty: not given
  std::string config_path;  // --config; empty: the default path
  // Everything after the first `--` (node exec's command), kept from the flag
  // parser so that its own flags (`sh -c ...`) are never taken for ours.
  std::vector<std::string> after_double_dash;
};

// The server URL from (flag, environment, config file) in that order.
std::string ResolveServer(const std::string& flag, const GetEnv& env, const CliConfig& file);
// The token from the environment, else the config file; empty when neither.
std::string ResolveToken(const GetEnv& env, const CliConfig& file);

class Context {
 public:
  static Result<Context> Load(const GlobalOptions& options, const GetEnv& env);

  const std::string& server() const { return server_; }
  const std::string& token() const { return token_; }
  // Where `login` writes the token; an error when there is no such place
  // (neither HOME nor --config).
  Result<std::string> WritableConfigPath() const;
  const CliConfig& file() const { return file_; }
  const std::vector<std::string>& after_double_dash() const { return after_double_dash_; }

  // A client without a token, for the /auth routes.
  std::unique_ptr<HttpClient> AnonymousClient() const;
  // A client with the token; an error telling the user to log in without one.
  Result<std::unique_ptr<HttpClient>> UserClient() const;

 private:
  std::string server_;
  std::string token_;
  std::string config_path_;
  CliConfig file_;
  std::vector<std::string> after_double_dash_;
};

}  // namespace nexus::cli
