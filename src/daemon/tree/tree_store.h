// TreeStore: the SQL of the per-user file tree — table vfs_entries
// (migration 101, see metadata_store.cc) — run in MetadataStore transactions
// so that tree changes and the file rows they create or drop commit together.
// TreeService (tree_service.h) is the domain API on top; this class trusts
// its arguments: paths normalised by NormalizeVfsPath, owners non-empty.
//
// Model: every owner has an implicit root "/" (parent id 0, no row). Entries
// are folders or files; a file entry points at one files row (a files row
// has at most one entry; raw Files API files have none) and takes its size
// from it, so usage has a single source: the files table. (owner, parent,
// name) is unique. Every query filters on the owner, so one owner's paths
// never reach another's entries.
//
// Thread-safe (each call is one MetadataStore transaction). The
// MetadataStore must outlive the TreeStore.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "daemon/storage/metadata_store.h"

namespace nexus::daemon::storage {

enum class EntryKind { kFolder, kFile };

// "folder" or "file", as the HTTP contract spells the type.
std::string_view EntryKindName(EntryKind kind);

struct TreeEntry {
  std::string name;  // "" for the root
  EntryKind kind = EntryKind::kFolder;
  // Files: their size in bytes. Folders: always 0 (a recursive sum would
  // make listing the root cost as much as walking the whole tree; Usage
  // gives the total).
  int64_t size = 0;
  // Unix seconds. Files: when their current content was committed (a move
  // keeps it). Folders: when they were created. The root: 0.
  int64_t modified = 0;
  std::string file_id;  // files only: the id the Files API knows them by
  std::string sha256;   // files only: lowercase hex of the content
  std::string s3_etag;  // files only: FileRecord::s3_etag
};

struct TreeDeletion {
  int64_t files = 0;
  int64_t folders = 0;
  std::vector<std::string> released;  // chunk hashes whose last reference went
};

// What a copy made.
struct TreeCopy {
  int64_t files = 0;
  int64_t folders = 0;
  bool replaced = false;              // an entry at the target was deleted first
  std::vector<std::string> released;  // chunks the replaced entry's files held last
};

// A WebDAV dead property of an entry (table vfs_props, TreeMigrations).
struct DeadProperty {
  std::string ns;     // namespace URI, "" for none
  std::string name;   // local name
  std::string value;  // the property element as XML
};
struct DeadPropertyChange {
  DeadProperty prop;
  bool remove = false;
};
// The properties of one entry: "" names the entry listed, else its child.
struct EntryProperties {
  std::string name;
  std::vector<DeadProperty> props;
};

// Limits on dead properties. They live in nexus.db, outside the storage
// quota, so each owner's total is bounded too (a COPY duplicates them), and
// one listing returns at most kMaxListedPropBytes of them. Bytes count the
// namespace, name and value.
inline constexpr int64_t kMaxPropsPerEntry = 256;
inline constexpr size_t kMaxPropValueBytes = 64 * 1024;
inline constexpr int64_t kMaxPropBytesPerEntry = 64 * 1024;
inline constexpr int64_t kMaxPropBytesPerOwner = 256LL * 1024 * 1024;
inline constexpr int64_t kMaxListedPropBytes = 8LL * 1024 * 1024;

// Limits on WebDAV locks: every lock check reads all of an owner's live
// locks, so their number and their holders' size are bounded.
inline constexpr int64_t kMaxLocksPerOwner = 1024;
inline constexpr size_t kMaxLockHolderBytes = 4096;

// A WebDAV write lock on a path (tree_locks.cc).
struct PathLock {
  std::string token;
  std::string path;
  bool deep = false;  // covers the paths below too
  bool shared = false;
  std::string holder;  // the client's owner element, as XML
  int64_t timeout_seconds = 0;
  int64_t expires = 0;  // unix seconds
};

// The tree's own tables beyond vfs_entries (versions 110..119): vfs_props,
// vfs_locks.
std::vector<sql::Migration> TreeMigrations();
sql::Migration TreeLockMigration();       // tree_locks.cc
sql::Migration TreeLockEntryMigration();  // tree_locks.cc

// kQuotaExceeded when the owner's dead properties, as vfs_prop_usage counts
// them in this transaction, pass kMaxPropBytesPerOwner (tree_props.cc).
Status CheckPropBytes(MetadataTx& tx, const std::string& owner, const std::string& op);

// A fresh files row id (FileService's NewFileId in nexusd).
using NewFileIdFn = std::function<Result<std::string>()>;

// ---- S3 multipart uploads (tree_multipart.cc, migration 114) ----
//
// An upload is a row of mp_uploads (id, owner, path, created); each part is
// a files row with status kStatusPart (the Files API lists only uploaded
// files) tied to its upload by a row of mp_parts (number, md5). A part's
// files row counts in the owner's bytes and entries like any file, so parts
// hold quota while they exist. Complete inserts one new files row whose
// chunk list is the chosen parts' lists concatenated (offsets rebased,
// refcounts up: no byte copied), places it at the path as an upload does,
// and deletes every part's files row and the upload in the same
// transaction, so the object never counts twice.
inline constexpr char kStatusPart[] = "Part";
inline constexpr int kMaxPartNumber = 10000;
// Uploads one owner may have open at once: each keeps a row (and the
// metadata its Create carried) until it is completed, aborted or expires,
// so their number is bounded as the owner's other rows are.
inline constexpr int64_t kMaxOpenUploadsPerOwner = 1000;

struct MultipartUploadRow {
  std::string id;
  std::string path;
  int64_t created = 0;
};

struct MultipartPartRow {
  int number = 0;
  int64_t size = 0;
  std::string md5;  // lowercase hex
  int64_t modified = 0;
  std::string file_id;
};

// One part as a Complete request names it.
struct PartChoice {
  int number = 0;
  std::string md5;  // lowercase hex
};

// Why a Complete request is refused; the message starts with the S3 code
// ("InvalidPart: ...") so the gateway can answer it as S3 does.
inline constexpr char kInvalidPart[] = "InvalidPart";
inline constexpr char kInvalidPartOrder[] = "InvalidPartOrder";
inline constexpr char kEntityTooSmall[] = "EntityTooSmall";

// The parts of `parts` (all of an upload's, by number) that `choices`
// selects, in order — or kInvalidArgument: no choice, numbers not strictly
// ascending (InvalidPartOrder), a number without a part or with another MD5
// (InvalidPart), a part but the last smaller than `min_part_size`
// (EntityTooSmall).
Result<std::vector<MultipartPartRow>> ChooseParts(const std::vector<MultipartPartRow>& parts,
                                                  const std::vector<PartChoice>& choices,
                                                  int64_t min_part_size);

sql::Migration TreeMultipartMigration();

struct TreeCounts {
  int64_t used_bytes = 0;  // all the owner's files, with or without a path
  int64_t files = 0;       // likewise
  int64_t folders = 0;
  // The largest file with a path: the most one upload to a path can free.
  int64_t largest_file_bytes = 0;
  std::string largest_file_id;  // "" when the owner has no file with a path
};

// The file an upload to a path would replace.
struct ReplacedFile {
  std::string file_id;  // "" when the path holds no file yet
  int64_t bytes = 0;
};

class TreeStore {
 public:
  explicit TreeStore(MetadataStore& metadata) : metadata_(metadata) {}

  // mkdir -p. An existing folder is fine; a file at `path` or at any of its
  // parents is kAlreadyExists. Creating folders past the owner's entry limit
  // is EntryLimitError (kQuotaExceeded), as for CommitFileAt and Move.
  Status MakeDirectory(const std::string& owner, const std::string& path);

  // A folder's children, folders first, then by name in byte order ("B"
  // before "a"); a file path yields that one entry. Missing: kNotFound.
  Result<std::vector<TreeEntry>> List(const std::string& owner, const std::string& path);

  // At most `limit` children of the folder at `path` in key order: by name,
  // a folder's name taken with "/" after it (so "a/" sorts after "a-b" and
  // "a.txt"; walking folders in this order yields paths in byte order, as
  // S3 lists keys); only those whose key is above `after`. A file path or a
  // missing one: kNotFound.
  Result<std::vector<TreeEntry>> ListInKeyOrder(const std::string& owner, const std::string& path,
                                                const std::string& after, int64_t limit);

  // The entry at `path` ("/" is the root folder). Missing: kNotFound.
  Result<TreeEntry> Stat(const std::string& owner, const std::string& path);

  // The file at `path`. A folder is kInvalidArgument ("is a folder"),
  // missing kNotFound.
  Result<FileRecord> FileAt(const std::string& owner, const std::string& path);

  // Whether an upload may go to `path`: the file it would replace (none: an
  // empty id). A folder there or a file in place of a parent is
  // kAlreadyExists; "/" is kInvalidArgument. Advisory: CommitFileAt rechecks.
  Result<ReplacedFile> ReplaceableFile(const std::string& owner, const std::string& path);

  // In one transaction: the checks of ReplaceableBytes; the quota, counting
  // the replaced file's bytes as freed (kQuotaExceeded); the files row and
  // chunk references (MetadataTx::InsertFile); missing parent folders; and
  // the entry — a new one, or the replaced file's entry pointed at the new
  // file, after which the old files row is deleted. `released` lists the old
  // file's chunks that nothing references any more.
  Result<CommitOutcome> CommitFileAt(const std::string& path, const FileRecord& file,
                                     const std::vector<ChunkRef>& chunks, int64_t quota_bytes);

  // Deletes the entry at `path`, recursively for folders, with the files
  // rows of every file below it (one transaction; O(entries) statements).
  // "/" is kInvalidArgument; missing kNotFound.
  Result<TreeDeletion> Delete(const std::string& owner, const std::string& path);

  // Renames or moves a file or folder in one transaction, creating missing
  // parents of `to`. A file keeps its id; its files row takes the new name.
  // "/" as source, or `to` equal to or below `from`: kInvalidArgument.
  // Missing source: kNotFound. `to` exists (or a file is in the way of its
  // parents): kAlreadyExists.
  //
  // With `replaced` set, an existing `to` is not an error: it is deleted
  // (recursively) in the same transaction and what went is counted there;
  // `to` may then not be a parent of `from` (kInvalidArgument).
  Status Move(const std::string& owner, const std::string& from, const std::string& to,
              TreeDeletion* replaced = nullptr);

  // Copies the file or folder at `from` to `to` in one transaction
  // (tree_copy.cc), creating missing parents of `to`. Bytes are never
  // copied: each copied file is a new files row (id from `new_id`) listing
  // the same chunks, whose refcounts go up. A folder's entries come along
  // when `recursive`, else the copy is an empty folder. An existing `to` is
  // kAlreadyExists unless `replace`, which deletes it first (as Move does).
  // The owner's bytes after the copy must fit in `quota_bytes`
  // (kQuotaExceeded) and the entries in the limit. `to` equal to or below
  // `from`, or (replacing) above it: kInvalidArgument. Missing source:
  // kNotFound.
  Result<TreeCopy> Copy(const std::string& owner, const std::string& from, const std::string& to,
                        bool recursive, bool replace, int64_t quota_bytes,
                        const NewFileIdFn& new_id);

  // The owner's usage (one row of owner_usage) and, when `with_largest`,
  // its largest file with a path (a scan of the owner's file entries).
  Result<TreeCounts> Counts(const std::string& owner, bool with_largest);

  // Sets the modification time of the entry at `path` (not the root).
  Status SetModified(const std::string& owner, const std::string& path, int64_t modified);

  // Dead properties (tree_props.cc). PatchProps applies `changes` in order
  // in one transaction (removing an absent property is fine); the root holds
  // none (kPermissionDenied); too many or too large is kQuotaExceeded /
  // kInvalidArgument. ListProps returns the entry's properties and, for a
  // folder when `children`, its entries' — only entries that have any.
  Status PatchProps(const std::string& owner, const std::string& path,
                    const std::vector<DeadPropertyChange>& changes);
  Result<std::vector<EntryProperties>> ListProps(const std::string& owner, const std::string& path,
                                                 bool children);

  // Write locks (tree_locks.cc). Lock takes `want` (token chosen by the
  // caller) on an existing entry's path; a lock it conflicts with (an
  // exclusive one either way, covering its path or, deep, below it) is
  // kAlreadyExists. RefreshLock and Unlock need the token of a lock that
  // covers `path` (else kNotFound). LocksAt: the live locks covering `path`
  // and, when `below`, those under it. Deleting or moving a path drops the
  // locks at and below it.
  Result<PathLock> Lock(const std::string& owner, const PathLock& want);
  Result<PathLock> RefreshLock(const std::string& owner, const std::string& path,
                               const std::string& token, int64_t timeout_seconds);
  Status Unlock(const std::string& owner, const std::string& path, const std::string& token);
  Result<std::vector<PathLock>> LocksAt(const std::string& owner, const std::string& path,
                                        bool below);

  // Multipart uploads (tree_multipart.cc); see kStatusPart above. An upload
  // is found by owner, id and path together: anything else is kNotFound.
  // Starts an upload to `path` (kAlreadyExists, as for an upload, when a
  // folder is there or a file is in place of a parent). Complete sets
  // `on_complete` on the object (an empty value: removes the entry's
  // property of that ns and name; an empty name: nothing).
  Result<MultipartUploadRow> CreateMultipartUpload(const std::string& owner,
                                                   const std::string& path, const std::string& id,
                                                   const DeadProperty& on_complete = {});
  // In one transaction: the upload exists; the quota (counting the part it
  // replaces as freed); the part's files row (status kStatusPart) and chunk
  // references; the part row, replacing an older part of that number, whose
  // files row goes (its released chunks in the outcome).
  Result<CommitOutcome> CommitPart(const std::string& upload_id, const std::string& path,
                                   int number, const std::string& md5, const FileRecord& file,
                                   const std::vector<ChunkRef>& chunks, int64_t quota_bytes);
  // The upload and its parts by number.
  Result<std::vector<MultipartPartRow>> ListParts(const std::string& owner,
                                                  const std::string& upload_id,
                                                  const std::string& path,
                                                  MultipartUploadRow* upload);
  // The owner's uploads whose path starts with `path_prefix`, by path,
  // then creation, then id.
  Result<std::vector<MultipartUploadRow>> ListMultipartUploads(const std::string& owner,
                                                               const std::string& path_prefix);
  // Completes the upload in one transaction (see kStatusPart): ChooseParts
  // again, the chosen parts must still be the files rows `expected_files`
  // (kAborted otherwise: a part was replaced meanwhile), `file` (id, owner,
  // name, sha256) gets their chunks, and is placed at the path as
  // CommitFileAt places an upload (replacing a file there).
  Result<CommitOutcome> CompleteMultipartUpload(const std::string& upload_id,
                                                const std::string& path,
                                                const std::vector<PartChoice>& choices,
                                                int64_t min_part_size,
                                                const std::vector<std::string>& expected_files,
                                                const FileRecord& file, int64_t quota_bytes);
  // Deletes the upload with its parts; returns the released chunks.
  Result<std::vector<std::string>> AbortMultipartUpload(const std::string& owner,
                                                        const std::string& upload_id,
                                                        const std::string& path);
  // Deletes every upload created before `created_before` (unix seconds),
  // any owner's; counts them into `*uploads`; returns the released chunks.
  Result<std::vector<std::string>> ExpireMultipartUploads(int64_t created_before, int64_t* uploads);

 private:
  MetadataStore& metadata_;
};

}  // namespace nexus::daemon::storage
