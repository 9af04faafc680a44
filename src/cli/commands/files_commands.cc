// files ls|put|get|rm|info: the raw Files API (/api/files), where a file is
// known by its id rather than a path in the tree.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/errors.h"
#include "cli/local_file.h"
#include "cli/output.h"
#include "cli/parallel.h"
#include "cli/progress.h"
#include "cli/terminal.h"
#include "cli/units.h"
#include "common/percent_encode.h"

namespace nexus::cli {
namespace {

struct FilesOptions {
  std::vector<std::string> args;
  bool json = false;
  int jobs = 4;
};

std::string FileTarget(const std::string& id) { return "/api/files/" + PercentEncode(id); }

std::vector<std::string> FileRow(const nlohmann::json& f) {
  const nlohmann::json& size = Field(f, "size");
  return {Cell(Field(f, "id")), size.is_number() ? FormatBytes(size.get<uint64_t>()) : "-",
          Cell(Field(f, "created")), Cell(Field(f, "name"))};
}

Result<int> FilesLs(const Context& ctx, const FilesOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json files, client->Call("GET", "/api/files"));
  if (opts.json) {
    PrintJson(files);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : files) rows.push_back(FileRow(f));
  std::cout << FormatTable(rows, {false, true, false, false});
  return 0;
}

Result<int> FilesInfo(const Context& ctx, const FilesOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json info, client->Call("GET", FileTarget(opts.args[0])));
  PrintObject(info, opts.json);
  return 0;
}

Result<int> FilesRm(const Context& ctx, const FilesOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  for (const auto& id : opts.args) {
    Result<nlohmann::json> gone = client->Call("DELETE", FileTarget(id));
    if (!gone.ok()) return gone.status().WithContext("files rm '" + id + "'");
  }
  return 0;
}

Result<int> FilesPut(const Context& ctx, const FilesOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto check, ctx.UserClient());
  uint64_t total = 0;
  for (const auto& local : opts.args) {
    // Every source is checked before the first byte goes out.
    NEXUS_ASSIGN_OR_RETURN(OpenedFile f, OpenForUpload(local));
    total += f.size;
  }
  const bool tty = StderrIsTerminal();
  ProgressBoard board(stderr, tty, ColorWanted(tty), total, opts.args.size());
  std::vector<nlohmann::json> answers(opts.args.size());
  std::atomic<size_t> failures{0};
  Status done = RunParallel(
      opts.args.size(), opts.jobs,
      [&ctx] { return std::make_unique<HttpClient>(ctx.server(), ctx.token()); },
      [&](size_t i, HttpClient& c) -> Status {
        const std::string& local = opts.args[i];
        NEXUS_ASSIGN_OR_RETURN(OpenedFile f, OpenForUpload(local));
        auto slot = board.Begin(local, f.size);
        NEXUS_ASSIGN_OR_RETURN(
            answers[i], c.Upload("/api/files/upload", f.fd.get(), f.size,
                                 std::filesystem::path(local).filename().string(), slot.get()));
        return Status::Ok();
      },
      [&](size_t i, const Status& failed) {
        ++failures;
        if (!IsInterrupted(failed) && opts.args.size() > 1) {
          board.Message("nexus: files put '" + opts.args[i] + "': " + failed.message());
        }
      });
  board.Finish();
  if (opts.json) {
    nlohmann::json all = nlohmann::json::array();
    for (auto& a : answers) {
      if (!a.is_null()) all.push_back(std::move(a));
    }
    PrintJson(all);
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : answers) {
      if (!a.is_null()) rows.push_back(FileRow(a));
    }
    std::cout << FormatTable(rows, {false, true, false, false});
  }
  NEXUS_RETURN_IF_ERROR(SummarizeFailures(done, failures.load(), opts.args.size(),
                                          "files put '" + opts.args[0] + "'"));
  return 0;
}

Result<int> FilesGet(const Context& ctx, const FilesOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  const std::string& id = opts.args[0];
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json info, client->Call("GET", FileTarget(id)));
  const std::string target = FileTarget(id) + "/download";
  if (opts.args.size() > 1 && opts.args[1] == "-") {
    NEXUS_RETURN_IF_ERROR(client->Download(target, STDOUT_FILENO, nullptr));
    return 0;
  }
  std::string local = opts.args.size() > 1 ? opts.args[1] : "";
  const std::string name = std::filesystem::path(Cell(Field(info, "name"))).filename().string();
  std::error_code ec;
  if (local.empty() || std::filesystem::is_directory(local, ec)) {
    if (name.empty() || name == "." || name == "..") {
      return UsageError("files get: give a local name for '" + id + "'");
    }
    local = (std::filesystem::path(local.empty() ? "." : local) / name).string();
  }
  const nlohmann::json& size = Field(info, "size");
  const uint64_t bytes = size.is_number() ? size.get<uint64_t>() : 0;
  const bool tty = StderrIsTerminal();
  ProgressBoard board(stderr, tty, ColorWanted(tty), bytes, 1);
  NEXUS_ASSIGN_OR_RETURN(TempFileBeside temp, TempFileBeside::Create(local));
  {
    auto slot = board.Begin(local, bytes);
    NEXUS_RETURN_IF_ERROR(client->Download(target, temp.fd(), slot.get()));
  }
  board.Finish();
  NEXUS_RETURN_IF_ERROR(temp.Commit());
  return 0;
}

void AddFilesCommand(CLI::App& files, Action& chosen, const char* name, const char* help,
                     const char* args_help, bool json, int min_args, int max_args,
                     Result<int> (*run)(const Context&, const FilesOptions&)) {
  auto opts = std::make_shared<FilesOptions>();
  CLI::App* sub = files.add_subcommand(name, help);
  if (max_args != 0) {
    sub->add_option("args", opts->args, args_help)
        ->expected(min_args, max_args)
        ->required(min_args > 0);
  }
  if (json) sub->add_flag("--json", opts->json, "Print JSON for scripts");
  if (run == &FilesPut) {
    sub->add_option("-j,--jobs", opts->jobs, "Transfers at once")
        ->default_val(4)
        ->check(CLI::Range(1, 64));
  }
  sub->callback(
      [opts, &chosen, run] { chosen = [opts, run](const Context& c) { return run(c, *opts); }; });
}

}  // namespace

void RegisterFilesCommands(CLI::App& app, Action& chosen) {
  CLI::App* files = app.add_subcommand("files", "Raw files, known by id (/api/files)");
  files->require_subcommand(1, 1);
  AddFilesCommand(*files, chosen, "ls", "List your files, newest first", "", true, 0, 0, &FilesLs);
  AddFilesCommand(*files, chosen, "put", "Upload files; prints their ids", "LOCAL...", true, 1, -1,
                  &FilesPut);
  AddFilesCommand(*files, chosen, "get", "Download a file (LOCAL '-' is stdout)", "ID [LOCAL]",
                  false, 1, 2, &FilesGet);
  AddFilesCommand(*files, chosen, "rm", "Delete files", "ID...", false, 1, -1, &FilesRm);
  AddFilesCommand(*files, chosen, "info", "A file's metadata", "ID", true, 1, 1, &FilesInfo);
}

}  // namespace nexus::cli
