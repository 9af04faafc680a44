// The command table's contract: each group of subcommands registers itself
// on the CLI11 app; when the user picks one, its parse callback stores the
// action to run in `chosen`. main runs it after the whole command line has
// parsed, so a usage error never runs half a command.
//
// An action answers the process's exit code: 0, or what a remote program
// exited with (`node exec`, `run`); failures are a Status (errors.h maps it).
#pragma once

#include <functional>

#include "cli/context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace nexus::cli {

using Action = std::function<Result<int>(const Context&)>;
using RegisterCommands = void (*)(CLI::App& app, Action& chosen);

void RegisterAuthCommands(CLI::App& app, Action& chosen);      // login, logout, whoami
void RegisterTreeCommands(CLI::App& app, Action& chosen);      // ls, mkdir, rm, mv, cat, du, usage
void RegisterTransferCommands(CLI::App& app, Action& chosen);  // put, get
void RegisterFilesCommands(CLI::App& app, Action& chosen);     // files ...
void RegisterNodeCommands(CLI::App& app, Action& chosen);      // node ...
void RegisterLambdaCommand(CLI::App& app, Action& chosen);     // run

}  // namespace nexus::cli
