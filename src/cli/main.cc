// nexus: the command-line client of a Nexus server. Parses the command line
// (CLI11), loads the config file and runs the chosen command from the table
// below; this file is the one place a Status becomes a message on stderr and
// an exit code.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "cli/commands/commands.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/interrupt.h"

namespace {

constexpr nexus::cli::RegisterCommands kCommandGroups[] = {
    &nexus::cli::RegisterAuthCommands,     &nexus::cli::RegisterTreeCommands,
    &nexus::cli::RegisterTransferCommands, &nexus::cli::RegisterFilesCommands,
    &nexus::cli::RegisterNodeCommands,     &nexus::cli::RegisterLambdaCommand,
};

// curl's global state, set up before and torn down after every transfer.
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace nexus::cli;
  CLI::App app{
      "nexus: the command-line client of a Nexus server.\n"
      "Server: --server, else NEXUS_SERVER, else the config file, else " +
      std::string(kDefaultServer) +
      ".\nToken: NEXUS_TOKEN, else the config file (written by `nexus login`)."};
  app.name("nexus");
  app.require_subcommand(1, 1);
  app.set_version_flag("--version", "nexus " NEXUS_VERSION);
  GlobalOptions global;
  app.add_option("--server", global.server, "Gateway URL, e.g. http://127.0.0.1:8080");
  app.add_option("--config", global.config_path,
                 "Config file (default ~/.config/nexus/config.toml)");
  Action chosen;
  for (RegisterCommands add : kCommandGroups) add(app, chosen);

  // CLI11 would hand the words after `--` to the positionals before it.
  std::vector<std::string> words(argv + 1, argv + argc);
  if (auto dash = std::find(words.begin(), words.end(), "--"); dash != words.end()) {
    global.after_double_dash.assign(dash + 1, words.end());
    words.erase(dash, words.end());
  }
  // CLI11 takes the words in reverse order.
  std::reverse(words.begin(), words.end());
  try {
    app.parse(words);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here too, with exit code 0.
    return app.exit(e) == 0 ? 0 : 2;
  }

  CurlGlobal curl;
  InstallInterruptHandler();
  nexus::Result<Context> context = Context::Load(global, ProcessEnv());
  nexus::Result<int> result =
      context.ok() ? chosen(*context) : nexus::Result<int>(context.status());
  if (!result.ok()) {
    std::fprintf(stderr, "nexus: %s\n", result.status().message().c_str());
    return ExitCodeFor(result.status());
  }
  return *result;
}
