// The command table's contract: each group of subcommands registers itself
// on the CLI11 app; when the user picks one, its parse callback stores the
// action to run in `chosen`. main runs it after the whole command line has
// parsed, so a usage error never runs half a command.
//
// An action answers the process's exit code: 0, or what a remote program
// exited with (`node exec`, `run`); failures are a Status (errors.h maps it).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <utility>

#include "cli/context.h"
#include "common/result.h"

namespace nexus::cli {

using Action = std::function<Result<int>(const Context&)>;
using RegisterCommands = void (*)(CLI::App& app, Action& chosen);

// When `sub` is the command the user picked, `chosen` becomes
// run(context, *opts): the options are read once the whole line has parsed.
template <typename Options, typename Run>
void OnChosen(CLI::App* sub, Action& chosen, std::shared_ptr<Options> opts, Run run) {
  sub->callback([opts = std::move(opts), &chosen, run] {
    chosen = [opts, run](const Context& c) -> Result<int> { return run(c, *opts); };
  });
}

// A subcommand whose one option is --json: run(context, json).
CLI::App* AddJsonCommand(CLI::App& parent, Action& chosen, const char* name, const char* help,
                         Result<int> (*run)(const Context&, const bool& json));

void RegisterAuthCommands(CLI::App& app, Action& chosen);      // login, logout, whoami
void RegisterTreeCommands(CLI::App& app, Action& chosen);      // ls, mkdir, rm, mv, cat, du, usage
void RegisterTransferCommands(CLI::App& app, Action& chosen);  // put, get
void RegisterFilesCommands(CLI::App& app, Action& chosen);     // files ...
void RegisterNodeCommands(CLI::App& app, Action& chosen);      // node ...
void RegisterLambdaCommand(CLI::App& app, Action& chosen);     // run

}  // namespace nexus::cli
