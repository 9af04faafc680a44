// The remote tree, the way `ls`, `mkdir`, `rm` and `mv` treat a local one:
// ls, mkdir, rm, mv, cat, du and usage over /api/fs/*.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/errors.h"
#include "cli/output.h"
#include "cli/remote_path.h"
#include "cli/remote_tree.h"
#include "cli/units.h"

namespace nexus::cli {
namespace {

struct PathsOptions {
  std::vector<std::string> paths;
  bool flag = false;  // ls -l, mkdir -p, rm -r
  bool json = false;
};

Result<int> Ls(const Context& ctx, const PathsOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  const std::string path = NormalizeRemote(opts.paths.empty() ? "/" : opts.paths[0]);
  Result<nlohmann::json> listed = client->Call("GET", WithQuery("/api/fs/ls", {{"path", path}}));
  if (!listed.ok()) {
    // `ls FILE` lists that one file, as ls(1) does; the API lists folders only.
    Result<std::optional<RemoteEntry>> entry = StatRemote(*client, path);
    if (!entry.ok() || !entry->has_value() || (*entry)->folder) return listed.status();
    listed = nlohmann::json::array({(*entry)->raw});
  }
  const nlohmann::json& listing = *listed;
  if (opts.json) {
    PrintJson(listing);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& j : listing) {
    RemoteEntry e = RemoteEntry::FromJson(j);
    if (!opts.flag) {
      std::cout << e.name << (e.folder ? "/" : "") << "\n";
      continue;
    }
    rows.push_back({e.folder ? "d" : "-", e.folder ? "-" : FormatBytes(e.size),
                    Cell(Field(j, "modified")), e.name + (e.folder ? "/" : "")});
  }
  std::cout << FormatTable(rows, {false, true, false, false});
  return 0;
}

Result<int> Mkdir(const Context& ctx, const PathsOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  for (const auto& raw : opts.paths) {
    const std::string path = NormalizeRemote(raw);
    if (!opts.flag) {
      // The API's mkdir makes parents as needed; plain mkdir does not.
      NEXUS_ASSIGN_OR_RETURN(auto existing, StatRemote(*client, path));
      if (existing) return AlreadyExistsError("mkdir '" + path + "': already exists");
      NEXUS_ASSIGN_OR_RETURN(auto parent, StatRemote(*client, RemoteParent(path)));
      if (!parent || !parent->folder) {
        return NotFoundError("mkdir '" + path + "': no folder '" + RemoteParent(path) +
                             "' (use -p to create it)");
      }
    }
    nlohmann::json body = {{"path", path}};
    Result<nlohmann::json> made = client->Call("POST", "/api/fs/mkdir", &body);
    if (!made.ok()) return made.status().WithContext("mkdir '" + path + "'");
  }
  return 0;
}

Result<int> Rm(const Context& ctx, const PathsOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  for (const auto& raw : opts.paths) {
    const std::string path = NormalizeRemote(raw);
    if (path == "/") return UsageError("rm: refusing to remove '/'");
    NEXUS_ASSIGN_OR_RETURN(auto entry, StatRemote(*client, path));
    if (!entry) return NotFoundError("rm '" + path + "': no such file or folder");
    if (entry->folder && !opts.flag) {
      return InvalidArgumentError("rm '" + path + "': is a folder (use -r)");
    }
    Result<nlohmann::json> gone =
        client->Call("DELETE", WithQuery("/api/fs/delete", {{"path", path}}));
    if (!gone.ok()) return gone.status().WithContext("rm '" + path + "'");
  }
  return 0;
}

Result<int> Mv(const Context& ctx, const std::string& from_raw, const std::string& to_raw) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  const std::string from = NormalizeRemote(from_raw);
  std::string to = NormalizeRemote(to_raw);
  // `mv a docs` with docs a folder moves a into it, as mv(1) does.
  NEXUS_ASSIGN_OR_RETURN(auto target, StatRemote(*client, to));
  if (target && target->folder) to = JoinRemote(to, RemoteBasename(from));
  nlohmann::json body = {{"old_path", from}, {"new_path", to}};
  Result<nlohmann::json> moved = client->Call("POST", "/api/fs/move", &body);
  if (!moved.ok()) return moved.status().WithContext("mv '" + from + "' '" + to + "'");
  return 0;
}

Result<int> Cat(const Context& ctx, const PathsOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  for (const auto& raw : opts.paths) {
    const std::string path = NormalizeRemote(raw);
    Status s =
        client->Download(WithQuery("/api/fs/download", {{"path", path}}), STDOUT_FILENO, nullptr);
    if (!s.ok()) return s.WithContext("cat '" + path + "'");
  }
  return 0;
}

Result<int> Du(const Context& ctx, const PathsOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  std::vector<std::string> paths = opts.paths;
  if (paths.empty()) paths.push_back("/");
  nlohmann::json all = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    NEXUS_ASSIGN_OR_RETURN(auto entry, StatRemote(*client, path));
    if (!entry) return NotFoundError("du '" + path + "': no such file or folder");
    uint64_t bytes = entry->size;
    size_t files = 1, folders = 0;
    if (entry->folder) {
      NEXUS_ASSIGN_OR_RETURN(RemoteTree tree, WalkRemote(*client, path));
      bytes = 0;
      for (const auto& [rel, e] : tree.files) bytes += e.size;
      files = tree.files.size();
      folders = tree.folders.size();
    }
    all.push_back({{"path", path}, {"bytes", bytes}, {"files", files}, {"folders", folders}});
    rows.push_back({FormatBytes(bytes), std::to_string(files) + " files",
                    std::to_string(folders) + " folders", path});
  }
  if (opts.json) {
    PrintJson(all);
  } else {
    std::cout << FormatTable(rows, {true, true, true, false});
  }
  return 0;
}

Result<int> Usage(const Context& ctx, const bool& json) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json usage, client->Call("GET", "/api/fs/usage"));
  if (json) {
    PrintJson(usage);
    return 0;
  }
  const nlohmann::json& used = Field(usage, "used_bytes");
  const nlohmann::json& quota = Field(usage, "quota_bytes");
  std::cout << "used   " << (used.is_number() ? FormatBytes(used.get<uint64_t>()) : "-");
  if (quota.is_number_integer() && quota.get<int64_t>() > 0) {
    const auto q = quota.get<int64_t>();
    std::cout << " of " << FormatBytes(static_cast<uint64_t>(q)) << " ("
              << (used.is_number() ? used.get<double>() * 100.0 / static_cast<double>(q) : 0.0)
              << "%)";
  } else {
    std::cout << " (no quota)";
  }
  std::cout << "\nfiles  " << Cell(Field(usage, "files")) << "\nfolders "
            << Cell(Field(usage, "folders")) << "\n";
  return 0;
}

// One subcommand taking remote paths and an optional flag, run by `run`.
template <typename Run>
void AddPathsCommand(CLI::App& app, Action& chosen, const char* name, const char* help,
                     const char* flag, const char* flag_help, bool json, bool paths_required,
                     Run run) {
  auto opts = std::make_shared<PathsOptions>();
  CLI::App* sub = app.add_subcommand(name, help);
  CLI::Option* paths = sub->add_option("paths", opts->paths, "Remote paths");
  if (paths_required) paths->required();
  if (flag != nullptr) sub->add_flag(flag, opts->flag, flag_help);
  if (json) sub->add_flag("--json", opts->json, "Print JSON for scripts");
  sub->callback(
      [opts, &chosen, run] { chosen = [opts, run](const Context& c) { return run(c, *opts); }; });
}

}  // namespace

void RegisterTreeCommands(CLI::App& app, Action& chosen) {
  AddPathsCommand(app, chosen, "ls", "List a remote folder (default /)", "-l",
                  "Long format: type, size, modified", true, false, &Ls);
  AddPathsCommand(app, chosen, "mkdir", "Create remote folders", "-p",
                  "Create parents as needed; no error if it exists", false, true, &Mkdir);
  AddPathsCommand(app, chosen, "rm", "Remove remote files (and folders with -r)", "-r,--recursive",
                  "Remove folders and everything in them", false, true, &Rm);
  AddPathsCommand(app, chosen, "cat", "Write remote files to stdout", nullptr, nullptr, false, true,
                  &Cat);
  AddPathsCommand(app, chosen, "du", "Total size of remote folders (default /)", nullptr, nullptr,
                  true, false, &Du);

  auto mv_paths = std::make_shared<std::vector<std::string>>();
  CLI::App* mv = app.add_subcommand("mv", "Move or rename a remote file or folder");
  mv->add_option("paths", *mv_paths, "SOURCE DESTINATION")->required()->expected(2);
  OnChosen(mv, chosen, mv_paths, [](const Context& c, const std::vector<std::string>& paths) {
    return Mv(c, paths[0], paths[1]);
  });

  AddJsonCommand(app, chosen, "usage", "Bytes stored and the quota", &Usage);
}

}  // namespace nexus::cli
