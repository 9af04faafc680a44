// put and get: files and folders between the local disk and the remote tree,
// with cp(1)'s rules for where they land, `-j N` transfers at once, `--sync`
// to skip files that are already the same on both sides, and progress bars
// on a terminal.
//
// --sync compares size, then SHA-256: the API gives each stored file's hash
// (`sha256` of GET /api/files/:id, the file's `id` comes with its listing),
// so only the local side is read, never a byte downloaded. Same size and hash
// means same bytes; mtimes are not compared (uploads do not carry them).
#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands/commands.h"
#include "cli/errors.h"
#include "cli/local_file.h"
#include "cli/output.h"
#include "cli/parallel.h"
#include "cli/progress.h"
#include "cli/remote_path.h"
#include "cli/remote_tree.h"
#include "cli/terminal.h"
#include "cli/upload_plan.h"
#include "common/percent_encode.h"

namespace nexus::cli {
namespace {

namespace fs = std::filesystem;

struct TransferOptions {
  std::vector<std::string> args;  // sources..., destination
  bool recursive = false;
  int jobs = 4;
  bool sync = false;
};

Result<std::string> RemoteSha256(HttpClient& client, const std::string& id) {
  NEXUS_ASSIGN_OR_RETURN(nlohmann::json info,
                         client.Call("GET", "/api/files/" + PercentEncode(id)));
  return Cell(Field(info, "sha256"));
}

// Whether `local` and the remote file `id` hold the same bytes (sizes already equal).
Result<bool> SameContent(HttpClient& client, const std::string& local, const std::string& id) {
  if (id.empty()) return false;
  NEXUS_ASSIGN_OR_RETURN(std::string remote_hash, RemoteSha256(client, id));
  NEXUS_ASSIGN_OR_RETURN(std::string local_hash, Sha256OfFile(local));
  return !remote_hash.empty() && remote_hash == local_hash;
}

std::unique_ptr<ProgressBoard> MakeBoard(const TransferPlan& plan) {
  const bool tty = StderrIsTerminal();
  return std::make_unique<ProgressBoard>(stderr, tty, ColorWanted(tty), plan.total_bytes,
                                         plan.files.size());
}

Status RunPlan(const Context& ctx, const TransferOptions& opts, const TransferPlan& plan,
               const char* verb,
               const std::function<Status(const FileTransfer&, HttpClient&, ProgressBoard&)>& one) {
  const bool is_put = std::string_view(verb) == "put";
  auto name = [is_put](const FileTransfer& f) { return is_put ? f.local : f.remote; };
  std::unique_ptr<ProgressBoard> board = MakeBoard(plan);
  std::atomic<size_t> failures{0};
  Status s = RunParallel(
      plan.files.size(), opts.jobs,
      [&ctx] { return std::make_unique<HttpClient>(ctx.server(), ctx.token()); },
      [&](size_t i, HttpClient& client) { return one(plan.files[i], client, *board); },
      [&](size_t i, const Status& failed) {
        ++failures;
        if (IsInterrupted(failed) || plan.files.size() == 1) return;
        board->Message(std::string("nexus: ") + verb + " '" + name(plan.files[i]) +
                       "': " + failed.message());
      });
  board->Finish();
  return SummarizeFailures(
      s, failures.load(), plan.files.size(),
      std::string(verb) + " '" + (plan.files.empty() ? "" : name(plan.files[0])) + "'");
}

Result<int> Put(const Context& ctx, const TransferOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  const std::vector<std::string> locals(opts.args.begin(), opts.args.end() - 1);
  const std::string& remote_arg = opts.args.back();
  const std::string remote = NormalizeRemote(remote_arg);
  NEXUS_ASSIGN_OR_RETURN(auto existing, StatRemote(*client, remote));
  if (locals.size() > 1 && existing && !existing->folder) {
    return InvalidArgumentError("put: '" + remote + "' is a file, not a folder");
  }
  const bool into_folder =
      (existing && existing->folder) || NamesFolder(remote_arg) || locals.size() > 1;
  NEXUS_ASSIGN_OR_RETURN(TransferPlan plan,
                         PlanUploads(locals, remote, into_folder, opts.recursive));
  if (into_folder && !existing) plan.folders.insert(plan.folders.begin(), remote);
  for (const auto& folder : plan.folders) {
    nlohmann::json body = {{"path", folder}};
    Result<nlohmann::json> made = client->Call("POST", "/api/fs/mkdir", &body);
    if (!made.ok()) return made.status().WithContext("mkdir '" + folder + "'");
  }

  // --sync: what is there now, one listing per folder the files go to.
  std::map<std::string, RemoteEntry> there;
  if (opts.sync) {
    std::map<std::string, bool> listed;
    for (const auto& f : plan.files) {
      const std::string parent = RemoteParent(f.remote);
      if (listed[parent]) continue;
      listed[parent] = true;
      Result<std::vector<RemoteEntry>> entries = ListFolder(*client, parent);
      if (!entries.ok()) continue;  // not there yet: everything in it is new
      for (auto& e : *entries) there[JoinRemote(parent, e.name)] = std::move(e);
    }
  }

  Status done = RunPlan(
      ctx, opts, plan, "put", [&](const FileTransfer& f, HttpClient& c, ProgressBoard& board) {
        if (opts.sync) {
          auto it = there.find(f.remote);
          if (it != there.end() && !it->second.folder && it->second.size == f.size) {
            Result<bool> same = SameContent(c, f.local, it->second.id);
            if (!same.ok()) return same.status();
            if (*same) {
              board.Skip(f.size);
              return Status::Ok();
            }
          }
        }
        Result<OpenedFile> file = OpenForUpload(f.local);
        if (!file.ok()) return file.status();
        auto slot = board.Begin(f.local, file->size);
        return c
            .Upload(WithQuery("/api/fs/upload", {{"path", f.remote}}), file->fd.get(), file->size,
                    RemoteBasename(f.remote), slot.get())
            .status();
      });
  if (!done.ok()) return done;
  return 0;
}

// Where `get` puts what it fetches, cp(1)'s way round.
Result<TransferPlan> PlanDownloads(HttpClient& client, const std::vector<std::string>& remotes,
                                   const std::string& local, bool into_folder, bool recursive) {
  TransferPlan plan;
  for (const auto& raw : remotes) {
    const std::string remote = NormalizeRemote(raw);
    NEXUS_ASSIGN_OR_RETURN(auto entry, StatRemote(client, remote));
    if (!entry) return NotFoundError("'" + remote + "': no such remote file or folder");
    const std::string name = RemoteBasename(remote);
    const std::string target =
        into_folder && !name.empty() ? (fs::path(local) / name).string() : local;
    if (!entry->folder) {
      plan.files.push_back({target, remote, entry->size, entry->id});
      plan.total_bytes += entry->size;
      continue;
    }
    if (!recursive) return InvalidArgumentError("'" + remote + "' is a folder (use -r)");
    NEXUS_ASSIGN_OR_RETURN(RemoteTree tree, WalkRemote(client, remote));
    plan.folders.push_back(target);
    for (const auto& rel : tree.folders) plan.folders.push_back((fs::path(target) / rel).string());
    for (const auto& [rel, e] : tree.files) {
      plan.files.push_back(
          {(fs::path(target) / rel).string(), JoinRemote(remote, rel), e.size, e.id});
      plan.total_bytes += e.size;
    }
  }
  return plan;
}

Status DownloadOne(const FileTransfer& f, HttpClient& c, ProgressBoard& board, bool sync) {
  std::error_code ec;
  if (sync && fs::is_regular_file(f.local, ec) && fs::file_size(f.local, ec) == f.size && !ec) {
    NEXUS_ASSIGN_OR_RETURN(bool same, SameContent(c, f.local, f.remote_id));
    if (same) {
      board.Skip(f.size);
      return Status::Ok();
    }
  }
  NEXUS_ASSIGN_OR_RETURN(TempFileBeside temp, TempFileBeside::Create(f.local));
  {
    auto slot = board.Begin(f.remote, f.size);
    NEXUS_RETURN_IF_ERROR(
        c.Download(WithQuery("/api/fs/download", {{"path", f.remote}}), temp.fd(), slot.get()));
  }
  return temp.Commit();
}

Result<int> Get(const Context& ctx, const TransferOptions& opts) {
  NEXUS_ASSIGN_OR_RETURN(auto client, ctx.UserClient());
  const std::vector<std::string> remotes(opts.args.begin(), opts.args.end() - 1);
  const std::string& local = opts.args.back();
  std::error_code ec;
  const bool local_is_folder = fs::is_directory(local, ec);
  if (remotes.size() > 1 && fs::exists(local, ec) && !local_is_folder) {
    return InvalidArgumentError("get: '" + local + "' is a file, not a folder");
  }
  const bool into_folder = local_is_folder || local.ends_with('/') || remotes.size() > 1;
  NEXUS_ASSIGN_OR_RETURN(TransferPlan plan,
                         PlanDownloads(*client, remotes, local, into_folder, opts.recursive));
  if (into_folder) plan.folders.insert(plan.folders.begin(), local);
  for (const auto& folder : plan.folders) {
    fs::create_directories(folder, ec);
    if (ec) return ErrnoError(StatusCode::kInternal, "create folder '" + folder + "'", ec.value());
  }
  Status done = RunPlan(ctx, opts, plan, "get",
                        [&](const FileTransfer& f, HttpClient& c, ProgressBoard& board) {
                          return DownloadOne(f, c, board, opts.sync);
                        });
  if (!done.ok()) return done;
  return 0;
}

void AddTransferCommand(CLI::App& app, Action& chosen, const char* name, const char* help,
                        const char* args_help,
                        Result<int> (*run)(const Context&, const TransferOptions&)) {
  auto opts = std::make_shared<TransferOptions>();
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("args", opts->args, args_help)->required()->expected(2, -1);
  sub->add_flag("-r,--recursive", opts->recursive, "Copy folders and everything in them");
  sub->add_option("-j,--jobs", opts->jobs, "Transfers at once")
      ->default_val(4)
      ->check(CLI::Range(1, 64));
  sub->add_flag("--sync", opts->sync,
                "Skip files that are the same size and SHA-256 on both sides");
  sub->callback(
      [opts, &chosen, run] { chosen = [opts, run](const Context& c) { return run(c, *opts); }; });
}

}  // namespace

void RegisterTransferCommands(CLI::App& app, Action& chosen) {
  AddTransferCommand(app, chosen, "put", "Upload local files (and folders with -r) to the tree",
                     "LOCAL... REMOTE", &Put);
  AddTransferCommand(app, chosen, "get", "Download remote files (and folders with -r)",
                     "REMOTE... LOCAL", &Get);
}

}  // namespace nexus::cli
