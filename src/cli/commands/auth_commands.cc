// login, logout, whoami: the two-step sign-in of the contract (password, then
// the code mailed to the account's address), and the token it yields kept in
// the config file.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/output.h"
#include "cli/terminal.h"

namespace nexus::cli {
namespace {

struct LoginOptions {
  bool register_account = false;
  std::string username;
  std::string email;
};

// "OTP sent to alice@example.com" (the contract's login answer) -> the address
// the verify step needs. Empty when the message does not say.
std::string EmailFromLoginMessage(const std::string& message) {
  constexpr std::string_view kPrefix = "OTP sent to ";
  size_t at = message.find(kPrefix);
  if (at == std::string::npos) return "";
  std::string email = message.substr(at + kPrefix.size());
  return email.find('@') == std::string::npos ? "" : email;
}

Result<std::string> Ask(const std::string& given, const std::string& prompt) {
  if (!given.empty()) return given;
  return PromptLine(prompt);
}

Result<int> Login(const Context& ctx, const LoginOptions& opts) {
  // Known before any prompt: a code is not mailed for a token with nowhere to go.
  NEXUS_ASSIGN_OR_RETURN(std::string config_path, ctx.WritableConfigPath());
  std::unique_ptr<HttpClient> client = ctx.AnonymousClient();
  NEXUS_ASSIGN_OR_RETURN(std::string username, Ask(opts.username, "Username: "));
  std::string email = opts.email;
  if (opts.register_account) {
    NEXUS_ASSIGN_OR_RETURN(email, Ask(opts.email, "Email: "));
  }
  NEXUS_ASSIGN_OR_RETURN(std::string password, PromptHidden("Password: "));

  nlohmann::json init = {{"Username", username}, {"Password", password}};
  if (opts.register_account) init["Email"] = email;
  const char* init_route = opts.register_account ? "/auth/register/init" : "/auth/login/init";
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json sent, client->Call("POST", init_route, &init));
  const std::string message = Cell(Field(sent, "message"));
  std::cerr << message << "\n";
  if (email.empty()) email = EmailFromLoginMessage(message);
  if (email.empty()) {
    NEXUS_ASSIGN_OR_RETURN(email, PromptLine("Email: "));
  }

  NEXUS_ASSIGN_OR_RETURN(std::string code, PromptLine("Code from the email: "));
  nlohmann::json verify = {{"Email", email}, {"Code", code}};
  const char* verify_route = opts.register_account ? "/auth/register/verify" : "/auth/login/verify";
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json answer, client->Call("POST", verify_route, &verify));
  if (!Field(answer, "token").is_string()) {
    return UpstreamFailedError("the server's answer to " + std::string(verify_route) +
                               " has no token");
  }

  CliConfig saved = ctx.file();
  saved.server = ctx.server();
  saved.token = answer["token"].get<std::string>();
  saved.username =
      Field(answer, "username").is_string() ? answer["username"].get<std::string>() : username;
  NEXUS_RETURN_IF_ERROR(SaveConfig(config_path, saved));
  std::cerr << "Logged in to " << ctx.server() << " as " << saved.username << "\n";
  return 0;
}

Result<int> Logout(const Context& ctx) {
  if (!ctx.token().empty()) {
    auto client = std::make_unique<HttpClient>(ctx.server(), ctx.token());
    // A token the server no longer accepts is as good as revoked; forget it
    // here all the same, and only stop on a server that could not be asked.
    Result<nlohmann::json> revoked = client->Call("POST", "/auth/logout");
    if (!revoked.ok() && revoked.status().code() != StatusCode::kUnauthenticated) {
      return revoked.status().WithContext("log out");
    }
  }
  if (!ctx.file().token.empty()) {
    CliConfig saved = ctx.file();
    saved.token.clear();
    saved.username.clear();
    NEXUS_ASSIGN_OR_RETURN(std::string config_path, ctx.WritableConfigPath());
    NEXUS_RETURN_IF_ERROR(SaveConfig(config_path, saved));
  }
  std::cerr << "Logged out\n";
  return 0;
}

Result<int> Whoami(const Context& ctx, const bool& json) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json me, client->Call("GET", "/api/me"));
  if (json) {
    PrintJson(me);
  } else {
    std::cout << Cell(Field(me, "username")) << " <" << Cell(Field(me, "email")) << "> on "
              << ctx.server() << "\n";
  }
  return 0;
}

}  // namespace

void RegisterAuthCommands(CLI::App& app, Action& chosen) {
  auto login_opts = std::make_shared<LoginOptions>();
  CLI::App* login = app.add_subcommand(
      "login", "Sign in (password, then the code mailed to you) and keep the token");
  login->add_flag("--register", login_opts->register_account, "Create the account first");
  login->add_option("-u,--username", login_opts->username, "Username (prompted if not given)");
  login->add_option("--email", login_opts->email,
                    "Email address (prompted when registering if not given)");
  OnChosen(login, chosen, login_opts, &Login);

  CLI::App* logout = app.add_subcommand("logout", "Revoke the token and forget it");
  logout->callback([&chosen] { chosen = [](const Context& c) { return Logout(c); }; });

  AddJsonCommand(app, chosen, "whoami", "Show who the token belongs to", &Whoami);
}

}  // namespace nexus::cli
