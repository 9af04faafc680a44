#include "cli/commands/commands.h"

namespace nexus::cli {

CLI::App* AddJsonCommand(CLI::App& parent, Action& chosen, const char* name, const char* help,
                         Result<int> (*run)(const Context&, const bool& json)) {
  auto json = std::make_shared<bool>(false);
  CLI::App* sub = parent.add_subcommand(name, help);
  sub->add_flag("--json", *json, "Print JSON for scripts");
  OnChosen(sub, chosen, json, run);
  return sub;
}

}  // namespace nexus::cli
