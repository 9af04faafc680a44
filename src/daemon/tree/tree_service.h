// TreeService: the per-user file tree behind the /api/fs routes — one method
// per route, plus the download and usage look-ups. The gRPC adapter calls it;
// it knows nothing of gRPC or HTTP.
//
// Every path argument is what the client sent; it goes through
// NormalizeVfsPath (common/vfs_path.h) first, so a bad path is
// kInvalidArgument before anything is touched. Owners are user ids; an empty
// owner is kInvalidArgument. One owner never sees another's entries: their
// paths are simply not found.
//
// Files in the tree are ordinary Files API files (the same files table, the
// same quota, the same download path via FileService::Open). Quota: logical
// bytes of all the owner's files, with or without a path, derived from the
// committed rows on every check (no counter that could drift); a check and
// the insert it guards are one BEGIN IMMEDIATE transaction.
//
// Names an operation creates (mkdir, the upload's path and file name, the
// target of a move) must not hold bidirectional controls (safe_name.h);
// paths that name existing entries may, so older entries stay reachable.
//
// Error codes by case (HTTP status in brackets):
//   kInvalidArgument [400]  bad path or empty owner; bidirectional controls
//                           in a name being created; Delete, Move (source),
//                           BeginUpload of "/"; Move onto itself or into its
//                           own subtree; Resolve/Open of a folder or "/"
//                           ("... it is a folder")
//   kNotFound [404]         a path (or source) that does not exist
//   kAlreadyExists [409]    mkdir over a file; upload onto a folder; a file in
//                           place of a needed parent folder; Move onto an
//                           existing target
//   kRangeNotSatisfiable [416]  Open with a range outside the file
//   kQuotaExceeded [507]    "storage quota exceeded: ..." (upload); "too many
//                           files and folders: ..." (mkdir, upload, move
//                           creating parents past the entry limit);
//                           "insufficient storage" (the disk is full)
//   kUnavailable [503]      the database stayed busy; kInternal [500] a bug
//
// Wiring (nexusd): one MetadataStore on nexus.db, one FileService over it
// (FileServiceOptions::quota_for from storage.quota_bytes), a TreeStore on
// the same MetadataStore, and this service over both.
//
// Thread-safe. The FileService and TreeStore must outlive the service, and
// the service must outlive every Upload it returned.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "daemon/storage/file_service.h"
#include "daemon/storage/upload_session.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon::storage {

struct TreeDeleteCounts {
  int64_t files = 0;
  int64_t folders = 0;  // including the deleted folder itself
};

struct TreeCopyCounts {
  int64_t files = 0;
  int64_t folders = 0;
  bool replaced = false;  // something was at the target and is gone
};

struct TreeUsage {
  int64_t used_bytes = 0;
  int64_t quota_bytes = kUnlimitedQuota;  // kUnlimitedQuota (-1): no limit
  int64_t files = 0;                      // all the owner's files, with or without a path
  int64_t folders = 0;
};

class TreeService final : public UploadPlacement {
 public:
  TreeService(FileService& files, TreeStore& tree) : files_(files), tree_(tree) {}

  // mkdir -p; returns the normalised path. An existing folder is ok.
  Result<std::string> MakeDirectory(const std::string& owner, std::string_view path);

  // A folder's entries (folders first, then by name in byte order), or the
  // one entry of a file path. See TreeEntry for size and modified.
  Result<std::vector<TreeEntry>> List(const std::string& owner, std::string_view path);
  // A page of a folder's children in S3 key order (TreeStore::ListInKeyOrder).
  Result<std::vector<TreeEntry>> ListInKeyOrder(const std::string& owner, std::string_view path,
                                                const std::string& after, int64_t limit);

  // Starts an upload to `path`; then Write() and Commit() as for the Files
  // API. Commit creates missing parents and atomically replaces a file
  // already at `path` (its chunks are released after the commit, and its
  // size counts as freed in the quota check). A folder at `path` or a file in
  // place of a parent is kAlreadyExists, at Begin and again at Commit. The
  // file's name in the Files API is the last path segment (SafeBaseName).
  Result<std::unique_ptr<Upload>> BeginUpload(const std::string& owner, std::string_view path,
                                              int64_t declared_size = -1);

  // BeginUpload in two steps, for UploadSession: the path's checks (owner,
  // normal form, no bidirectional controls), then the upload to the path
  // they returned.
  Result<std::string> UploadPath(const std::string& owner, std::string_view path) override;
  Result<std::unique_ptr<Upload>> BeginUploadAt(const std::string& owner, const std::string& path,
                                                int64_t declared_size) override;

  // An upload to a path that `destination` receives later (through
  // UploadPath), before Commit (which is kInvalidArgument without it).
  // Commit then does what BeginUpload's Commit does. Until the path is
  // known, the bytes a replacement frees are unknown too, so the early quota
  // checks count the owner's largest file with a path as freed; the commit
  // checks exactly.
  Result<std::unique_ptr<Upload>> BeginUploadPathLater(
      const std::string& owner, std::string_view file_name, int64_t declared_size,
      std::shared_ptr<const LatePath> destination) override;

  // Recursive for folders; releases every deleted file's chunks (chunk files
  // nothing else references are removed after the commit).
  Result<TreeDeleteCounts> Delete(const std::string& owner, std::string_view path);

  // Rename or move a file or folder; returns the normalised new path.
  Result<std::string> Move(const std::string& owner, std::string_view old_path,
                           std::string_view new_path);

  // Move that replaces an existing `new_path` (deleted first, in the same
  // transaction, its chunks released); true when there was one.
  Result<bool> MoveReplacing(const std::string& owner, std::string_view old_path,
                             std::string_view new_path);

  // Copies a file or folder (a folder with its entries when `recursive`) as
  // TreeStore::Copy does: no byte copied, the quota checked. `replace`: an
  // existing target is deleted first, else it is kAlreadyExists.
  Result<TreeCopyCounts> Copy(const std::string& owner, std::string_view from, std::string_view to,
                              bool recursive, bool replace);

  // WebDAV's additions, as TreeStore has them: an entry's time, its dead
  // properties.
  Status SetModified(const std::string& owner, std::string_view path, int64_t modified);
  Status PatchProps(const std::string& owner, std::string_view path,
                    const std::vector<DeadPropertyChange>& changes);
  Result<std::vector<EntryProperties>> ListProps(const std::string& owner, std::string_view path,
                                                 bool children);

  // Write locks, as TreeStore has them; Lock chooses the token.
  Result<PathLock> Lock(const std::string& owner, std::string_view path, bool deep, bool shared,
                        std::string holder, int64_t timeout_seconds);
  Result<PathLock> RefreshLock(const std::string& owner, std::string_view path,
                               const std::string& token, int64_t timeout_seconds);
  Status Unlock(const std::string& owner, std::string_view path, const std::string& token);
  Result<std::vector<PathLock>> LocksAt(const std::string& owner, std::string_view path,
                                        bool below);

  // The entry at `path` ("/" is the root folder, named "").
  Result<TreeEntry> Stat(const std::string& owner, std::string_view path);

  // The file at `path`, for a download by id (FileService::Open) — or use
  // Open below, which does both.
  Result<FileRecord> Resolve(const std::string& owner, std::string_view path);
  Result<std::unique_ptr<FileReader>> Open(const std::string& owner, std::string_view path,
                                           std::optional<ByteRange> range = std::nullopt);

  Result<TreeUsage> Usage(const std::string& owner);

  // ---- S3 multipart uploads (tree_multipart_service.cc) ----
  // TreeStore's multipart calls with the paths checked as for an upload.
  // Complete also reads the chosen parts back once to compute the object's
  // SHA-256 (files.sha256 is the whole content's hash everywhere else, and
  // no hash of parts composes into it), outside any transaction; the
  // commit then checks that the parts are still those it read
  // (kUnavailable otherwise: try again).
  Result<MultipartUploadRow> CreateMultipartUpload(const std::string& owner, std::string_view path,
                                                   const DeadProperty& on_complete = {});
  Result<std::unique_ptr<Upload>> BeginPartUpload(const std::string& owner, const std::string& path,
                                                  const std::string& upload_id, int part_number,
                                                  int64_t declared_size,
                                                  std::shared_ptr<const PartMd5> md5) override;
  // A part made of the file at `from` (or `range` of it): its bytes are read
  // once and go through the upload path (the chunker finds the source's
  // chunks again, so a copy of whole files stores no new chunk), computing
  // the part's MD5 on the way.
  Result<MultipartPartRow> UploadPartCopy(const std::string& owner, std::string_view path,
                                          const std::string& upload_id, int part_number,
                                          std::string_view from, std::optional<ByteRange> range);
  Result<std::vector<MultipartPartRow>> ListParts(const std::string& owner,
                                                  const std::string& upload_id,
                                                  std::string_view path,
                                                  MultipartUploadRow* upload);
  // `path_prefix` is a raw prefix of normalised paths ("/bucket/ph").
  Result<std::vector<MultipartUploadRow>> ListMultipartUploads(const std::string& owner,
                                                               const std::string& path_prefix);
  Result<TreeEntry> CompleteMultipartUpload(const std::string& owner, const std::string& upload_id,
                                            std::string_view path,
                                            const std::vector<PartChoice>& parts,
                                            int64_t min_part_size);
  Status AbortMultipartUpload(const std::string& owner, const std::string& upload_id,
                              std::string_view path);
  // Drops every upload started more than `max_age_seconds` ago, with its
  // parts; returns how many went.
  Result<int64_t> ExpireMultipartUploads(int64_t now_seconds, int64_t max_age_seconds);

 private:
  FileService& files_;
  TreeStore& tree_;
};

}  // namespace nexus::daemon::storage
