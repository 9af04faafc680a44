#include "cli/upload_plan.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "cli/remote_path.h"

namespace nexus::cli {
namespace {

namespace fs = std::filesystem;

std::string LocalBasename(const std::string& path) {
  fs::path p(path);
  // "dir/" names dir, as in cp -r.
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

Status AddFolder(const fs::path& local, const std::string& remote_base, TransferPlan& plan) {
  plan.folders.push_back(remote_base);
  std::error_code ec;
  std::vector<std::pair<std::string, fs::path>> files;
  std::vector<std::string> folders;
  for (fs::recursive_directory_iterator it(local, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), local, ec).generic_string();
    if (ec) break;
    if (it->is_directory(ec)) {
      folders.push_back(JoinRemote(remote_base, rel));
    } else if (it->is_regular_file(ec)) {
      files.emplace_back(JoinRemote(remote_base, rel), it->path());
    }
    // Sockets, devices and dangling links have no bytes to upload: skipped.
  }
  if (ec)
    return ErrnoError(StatusCode::kInternal, "read folder '" + local.string() + "'", ec.value());
  // Sorted, so parents come before children and runs are repeatable.
  std::sort(folders.begin(), folders.end());
  std::sort(files.begin(), files.end());
  plan.folders.insert(plan.folders.end(), folders.begin(), folders.end());
  for (auto& [remote, path] : files) {
    const uint64_t size = fs::file_size(path, ec);
    if (ec) return ErrnoError(StatusCode::kNotFound, "stat '" + path.string() + "'", ec.value());
    plan.files.push_back({path.string(), remote, size, ""});
    plan.total_bytes += size;
  }
  return Status::Ok();
}

}  // namespace

Result<TransferPlan> PlanUploads(const std::vector<std::string>& locals, const std::string& remote,
                                 bool remote_is_folder, bool recursive) {
  TransferPlan plan;
  for (const auto& local : locals) {
    std::error_code ec;
    const fs::file_status st = fs::status(local, ec);
    if (ec || !fs::exists(st)) {
      return NotFoundError("'" + local + "': no such file or folder");
    }
    const std::string target =
        remote_is_folder ? JoinRemote(remote, LocalBasename(local)) : NormalizeRemote(remote);
    if (fs::is_directory(st)) {
      if (!recursive) return InvalidArgumentError("'" + local + "' is a folder (use -r)");
      NEXUS_RETURN_IF_ERROR(AddFolder(local, target, plan));
    } else if (fs::is_regular_file(st)) {
      const uint64_t size = fs::file_size(local, ec);
      if (ec) return ErrnoError(StatusCode::kNotFound, "stat '" + local + "'", ec.value());
      plan.files.push_back({local, target, size, ""});
      plan.total_bytes += size;
    } else {
      return InvalidArgumentError("'" + local + "' is not a regular file or folder");
    }
  }
  return plan;
}

}  // namespace nexus::cli
