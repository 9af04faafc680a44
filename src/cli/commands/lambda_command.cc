// run: a snippet in a throw-away sandbox (/api/lambda/run). Its stdout and
// stderr go to ours, and we exit with its exit code, so `nexus run` stands in
// for running the program locally.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands/commands.h"
#include "cli/errors.h"
#include "cli/output.h"
#include "cli/units.h"

namespace nexus::cli {
namespace {

struct RunOptions {
  std::string file;  // "-" is stdin
  std::string stdin_file;
  std::string timeout;
  std::string memory;
  std::string runtime = "python3";
  bool json = false;
};

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in;
  std::istream* from = &std::cin;
  if (path != "-") {
    in.open(path, std::ios::binary);
    if (!in) return ErrnoError(StatusCode::kNotFound, "open '" + path + "'", errno);
    from = &in;
  }
  std::ostringstream text;
  text << from->rdbuf();
  if (from->bad()) return ErrnoError(StatusCode::kInternal, "read '" + path + "'", errno);
  return text.str();
}

Result<int> Run(const Context& ctx, const RunOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(std::string code, ReadAll(opts.file));
  nlohmann::json body = {{"Code", code}, {"Runtime", opts.runtime}};
  if (!opts.stdin_file.empty()) {
    if (opts.stdin_file == "-" && opts.file == "-") {
      return UsageError("run: the code and --stdin cannot both come from stdin");
    }
    NEXUS_ASSIGN_OR_RETURN(std::string input, ReadAll(opts.stdin_file));
    body["Stdin"] = input;
  }
  if (!opts.timeout.empty()) {
    NEXUS_ASSIGN_OR_RETURN(int64_t ms, ParseDurationMs(opts.timeout));
    body["TimeoutMs"] = ms;
  }
  if (!opts.memory.empty()) {
    NEXUS_ASSIGN_OR_RETURN(int64_t mb, ParseMebibytes(opts.memory));
    body["MemoryMb"] = mb;
  }
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json run, client->Call("POST", "/api/lambda/run", &body));
  const nlohmann::json& exit_code = Field(run, "exit_code");
  const int rc = exit_code.is_number_integer() ? exit_code.get<int>() : 1;
  if (opts.json) {
    PrintJson(run);
    return rc;
  }
  std::cout << Cell(Field(run, "stdout")) << std::flush;
  std::cerr << Cell(Field(run, "stderr"));
  if (Field(run, "timed_out") == true) std::cerr << "nexus: run: the snippet timed out\n";
  if (Field(run, "oom_killed") == true) std::cerr << "nexus: run: the snippet ran out of memory\n";
  if (Field(run, "stdout_truncated") == true || Field(run, "stderr_truncated") == true) {
    std::cerr << "nexus: run: output was cut at the server's limit\n";
  }
  return rc;
}

}  // namespace

void RegisterLambdaCommand(CLI::App& app, Action& chosen) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* run =
      app.add_subcommand("run", "Run a snippet in a throw-away sandbox; exits with its exit code");
  run->add_option("file", opts->file, "The code: FILE.py, or - for stdin")->required();
  run->add_option("--stdin", opts->stdin_file, "A file whose bytes are the snippet's stdin");
  run->add_option("--timeout", opts->timeout, "Time limit (e.g. 5s, 500ms)");
  run->add_option("--memory", opts->memory, "Memory limit (e.g. 128M)");
  run->add_option("--runtime", opts->runtime, "Interpreter")->capture_default_str();
  run->add_flag("--json", opts->json, "Print the server's JSON instead of the streams");
  OnChosen(run, chosen, opts, &Run);
}

}  // namespace nexus::cli
