#include "cli/context.h"

namespace nexus::cli {

std::string ResolveServer(const std::string& flag, const GetEnv& env, const CliConfig& file) {
  if (!flag.empty()) return NormalizeServerUrl(flag);
  if (auto v = env("NEXUS_SERVER"); v && !v->empty()) return NormalizeServerUrl(*v);
  if (!file.server.empty()) return NormalizeServerUrl(file.server);
  return kDefaultServer;
}

std::string ResolveToken(const GetEnv& env, const CliConfig& file) {
  if (auto v = env("NEXUS_TOKEN"); v && !v->empty()) return *v;
  return file.token;
}

Result<Context> Context::Load(const GlobalOptions& options, const GetEnv& env) {
  Context c;
  if (!options.config_path.empty()) {
    c.config_path_ = options.config_path;
  } else if (Result<std::string> path = DefaultConfigPath(env); path.ok()) {
    c.config_path_ = *path;
  }
  // Without HOME (a service account, a container) the environment alone can
  // still say where to go and with which token; only login needs a file.
  if (!c.config_path_.empty()) {
    NEXUS_ASSIGN_OR_RETURN(c.file_, LoadConfig(c.config_path_));
  }
  c.server_ = ResolveServer(options.server, env, c.file_);
  c.token_ = ResolveToken(env, c.file_);
  c.after_double_dash_ = options.after_double_dash;
  return c;
}

Result<std::string> Context::WritableConfigPath() const {
  if (config_path_.empty()) {
    return InvalidArgumentError("no place for the config file: set HOME or pass --config");
  }
  return config_path_;
}

std::unique_ptr<HttpClient> Context::AnonymousClient() const {
  return std::make_unique<HttpClient>(server_, "");
}

Result<std::unique_ptr<HttpClient>> Context::UserClient() const {
  if (token_.empty()) {
    return UnauthenticatedError("not logged in: run `nexus login` (or set NEXUS_TOKEN)");
  }
  return std::make_unique<HttpClient>(server_, token_);
}

}  // namespace nexus::cli
