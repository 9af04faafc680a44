#include "daemon/tree/tree_service.h"

#include "common/vfs_path.h"
#include "daemon/storage/safe_name.h"

namespace nexus::daemon::storage {
namespace {

// The owner check and path normalisation every operation starts with.
Result<std::string> Prepare(std::string_view op, const std::string& owner, std::string_view path) {
  if (owner.empty()) return InvalidArgumentError(std::string(op) + ": owner is empty");
  Result<std::string> normalized = NormalizeVfsPath(path);
  if (!normalized.ok()) return normalized.status().WithContext(op);
  return normalized;
}

// Prepare for a path whose names an operation creates (mkdir, upload, the
// target of a move): bidirectional controls are refused there (safe_name.h).
// Paths that only name existing entries are not checked, so an entry stored
// before the rule can still be listed, moved to a clean name or deleted.
Result<std::string> PrepareNew(std::string_view op, const std::string& owner,
                               std::string_view path) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare(op, owner, path));
  NEXUS_RETURN_IF_ERROR(RefuseBidiControls(std::string(op) + ": the path", p));
  return p;
}

}  // namespace

Result<std::string> TreeService::MakeDirectory(const std::string& owner, std::string_view path) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, PrepareNew("mkdir", owner, path));
  NEXUS_RETURN_IF_ERROR(tree_.MakeDirectory(owner, p));
  return p;
}

Result<std::vector<TreeEntry>> TreeService::List(const std::string& owner, std::string_view path) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("list", owner, path));
  return tree_.List(owner, p);
}

Result<std::vector<TreeEntry>> TreeService::ListInKeyOrder(const std::string& owner,
                                                           std::string_view path,
                                                           const std::string& after,
                                                           int64_t limit) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("list", owner, path));
  if (limit < 1) return InvalidArgumentError("list: the page limit must be positive");
  return tree_.ListInKeyOrder(owner, p, after, limit);
}

Result<std::unique_ptr<Upload>> TreeService::BeginUpload(const std::string& owner,
                                                         std::string_view path,
                                                         int64_t declared_size) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, UploadPath(owner, path));
  return BeginUploadAt(owner, p, declared_size);
}

Result<std::string> TreeService::UploadPath(const std::string& owner, std::string_view path) {
  return PrepareNew("upload", owner, path);
}

Result<std::unique_ptr<Upload>> TreeService::BeginUploadAt(const std::string& owner,
                                                           const std::string& p,
                                                           int64_t declared_size) {
  // Fails early (before any byte is stored) on a folder in the way, and
  // lets the early quota checks count the bytes a replaced file frees.
  NEXUS_ASSIGN_OR_RETURN(ReplacedFile replaced, tree_.ReplaceableFile(owner, p));
  const std::string name = SplitVfsPath(p).back();
  UploadOptions options;
  options.declared_size = declared_size;
  options.replaced_bytes = replaced.bytes;
  options.adds_entry = replaced.file_id.empty();
  options.replaced_file_id = std::move(replaced.file_id);
  options.commit = [this, p](const FileRecord& file, const std::vector<ChunkRef>& chunks,
                             int64_t quota_bytes) {
    return tree_.CommitFileAt(p, file, chunks, quota_bytes);
  };
  return files_.Begin(owner, name, std::move(options));
}

Result<std::unique_ptr<Upload>> TreeService::BeginUploadPathLater(
    const std::string& owner, std::string_view file_name, int64_t declared_size,
    std::shared_ptr<const LatePath> destination) {
  if (owner.empty()) return InvalidArgumentError("upload: owner is empty");
  if (!destination) return InvalidArgumentError("upload: no destination for the path");
  // Until the path arrives, the file it replaces is unknown: the early
  // checks count the largest file that could be replaced as freed.
  NEXUS_ASSIGN_OR_RETURN(TreeCounts counts, tree_.Counts(owner, true));
  UploadOptions options;
  options.declared_size = declared_size;
  options.replaced_bytes = counts.largest_file_bytes;
  options.replaced_file_id = counts.largest_file_id;
  options.adds_entry = false;  // a replacement needs none: the commit checks
  options.commit = [this, destination](const FileRecord& file, const std::vector<ChunkRef>& chunks,
                                       int64_t quota_bytes) -> Result<CommitOutcome> {
    if (!destination->has_value()) {
      return InvalidArgumentError("upload: the path never arrived");
    }
    const std::string& p = destination->path();
    FileRecord named = file;
    named.name = SafeBaseName(SplitVfsPath(p).back());
    return tree_.CommitFileAt(p, named, chunks, quota_bytes);
  };
  return files_.Begin(owner, file_name, std::move(options));
}

Result<TreeDeleteCounts> TreeService::Delete(const std::string& owner, std::string_view path) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("delete", owner, path));
  NEXUS_ASSIGN_OR_RETURN(TreeDeletion deleted, tree_.Delete(owner, p));
  files_.RemoveReleasedChunks(deleted.released);
  return TreeDeleteCounts{deleted.files, deleted.folders};
}

Result<std::string> TreeService::Move(const std::string& owner, std::string_view old_path,
                                      std::string_view new_path) {
  NEXUS_ASSIGN_OR_RETURN(std::string from, Prepare("move: old path", owner, old_path));
  NEXUS_ASSIGN_OR_RETURN(std::string to, PrepareNew("move: new path", owner, new_path));
  NEXUS_RETURN_IF_ERROR(tree_.Move(owner, from, to));
  return to;
}

Result<bool> TreeService::MoveReplacing(const std::string& owner, std::string_view old_path,
                                        std::string_view new_path) {
  NEXUS_ASSIGN_OR_RETURN(std::string from, Prepare("move: old path", owner, old_path));
  NEXUS_ASSIGN_OR_RETURN(std::string to, PrepareNew("move: new path", owner, new_path));
  TreeDeletion replaced;
  NEXUS_RETURN_IF_ERROR(tree_.Move(owner, from, to, &replaced));
  files_.RemoveReleasedChunks(replaced.released);
  return replaced.files + replaced.folders > 0;
}

Result<TreeCopyCounts> TreeService::Copy(const std::string& owner, std::string_view from,
                                         std::string_view to, bool recursive, bool replace) {
  NEXUS_ASSIGN_OR_RETURN(std::string src, Prepare("copy: source", owner, from));
  NEXUS_ASSIGN_OR_RETURN(std::string dst, PrepareNew("copy: target", owner, to));
  NEXUS_ASSIGN_OR_RETURN(TreeCopy made, tree_.Copy(owner, src, dst, recursive, replace,
                                                   files_.QuotaFor(owner), &NewFileId));
  files_.RemoveReleasedChunks(made.released);
  return TreeCopyCounts{made.files, made.folders, made.replaced};
}

Status TreeService::SetModified(const std::string& owner, std::string_view path, int64_t modified) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("set time", owner, path));
  return tree_.SetModified(owner, p, modified);
}

Status TreeService::PatchProps(const std::string& owner, std::string_view path,
                               const std::vector<DeadPropertyChange>& changes) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("set properties", owner, path));
  return tree_.PatchProps(owner, p, changes);
}

Result<std::vector<EntryProperties>> TreeService::ListProps(const std::string& owner,
                                                            std::string_view path, bool children) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("list properties", owner, path));
  return tree_.ListProps(owner, p, children);
}

Result<PathLock> TreeService::Lock(const std::string& owner, std::string_view path, bool deep,
                                   bool shared, std::string holder, int64_t timeout_seconds) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("lock", owner, path));
  if (timeout_seconds <= 0) return InvalidArgumentError("lock: the timeout must be positive");
  if (p == "/") return PermissionDeniedError("lock: the root folder cannot be locked");
  if (holder.size() > kMaxLockHolderBytes) {
    return InvalidArgumentError("lock: the owner element is larger than " +
                                std::to_string(kMaxLockHolderBytes) + " bytes");
  }
  NEXUS_ASSIGN_OR_RETURN(std::string id, NewFileId());
  PathLock want{"opaquelocktoken:" + id, p, deep, shared, std::move(holder), timeout_seconds, 0};
  return tree_.Lock(owner, want);
}

Result<PathLock> TreeService::RefreshLock(const std::string& owner, std::string_view path,
                                          const std::string& token, int64_t timeout_seconds) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("refresh lock", owner, path));
  if (timeout_seconds <= 0) return InvalidArgumentError("lock: the timeout must be positive");
  return tree_.RefreshLock(owner, p, token, timeout_seconds);
}

Status TreeService::Unlock(const std::string& owner, std::string_view path,
                           const std::string& token) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("unlock", owner, path));
  return tree_.Unlock(owner, p, token);
}

Result<std::vector<PathLock>> TreeService::LocksAt(const std::string& owner, std::string_view path,
                                                   bool below) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("list locks", owner, path));
  return tree_.LocksAt(owner, p, below);
}

Result<TreeEntry> TreeService::Stat(const std::string& owner, std::string_view path) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("stat", owner, path));
  return tree_.Stat(owner, p);
}

Result<FileRecord> TreeService::Resolve(const std::string& owner, std::string_view path) {
  NEXUS_ASSIGN_OR_RETURN(std::string p, Prepare("download", owner, path));
  return tree_.FileAt(owner, p);
}

Result<std::unique_ptr<FileReader>> TreeService::Open(const std::string& owner,
                                                      std::string_view path,
                                                      std::optional<ByteRange> range) {
  NEXUS_ASSIGN_OR_RETURN(FileRecord file, Resolve(owner, path));
  // Replaced or deleted in between: FileService::Open says kNotFound.
  return files_.Open(owner, file.id, range);
}

Result<TreeUsage> TreeService::Usage(const std::string& owner) {
  if (owner.empty()) return InvalidArgumentError("usage: owner is empty");
  NEXUS_ASSIGN_OR_RETURN(TreeCounts counts, tree_.Counts(owner, false));
  return TreeUsage{counts.used_bytes, files_.QuotaFor(owner), counts.files, counts.folders};
}

}  // namespace nexus::daemon::storage
