// Row-level helpers of the per-user tree (table vfs_entries), shared by the
// TreeStore operations (tree_store.cc) and the copy of a subtree
// (tree_copy.cc). Each runs inside a MetadataTx the caller holds; paths are
// normalised (NormalizeVfsPath), owners non-empty. Every query filters on the
// owner. Not thread-safe on its own: the transaction serialises.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "daemon/storage/metadata_store.h"
#include "daemon/tree/tree_store.h"

namespace nexus::daemon::storage::tree_rows {

inline constexpr int64_t kRootId = 0;
inline constexpr char kFolder[] = "folder";
inline constexpr char kFile[] = "file";

// One vfs_entries row as the walk sees it; the root is a folder with id 0.
struct Node {
  int64_t id = kRootId;
  bool folder = true;
  std::string file_id;
  int64_t modified = 0;
};

// `path` in single quotes, for messages.
std::string Quoted(std::string_view path);

// "/" followed by the first `n` names.
std::string Prefix(const std::vector<std::string>& names, size_t n);

std::optional<Node> FindChild(sql::Connection& db, const std::string& owner, int64_t parent,
                              const std::string& name);

// The entries along `names` from the root, as far as they exist; a file ends
// the walk (nothing can be below it).
std::vector<Node> Walk(sql::Connection& db, const std::string& owner,
                       const std::vector<std::string>& names);

// The entry at a normalised path (the root is a folder with id 0), or none.
std::optional<Node> Find(sql::Connection& db, const std::string& owner, const std::string& path);

// Inserts a folder (empty `file_id`) or a file entry; returns its id.
int64_t InsertEntry(sql::Connection& db, const std::string& owner, int64_t parent,
                    const std::string& name, const std::string& file_id, int64_t modified);

// Makes sure the folder made of the first `n` names exists, creating what is
// missing (mkdir -p); a file in the way is kAlreadyExists. Returns its id;
// adds the number of folders it created to `*created`.
Result<int64_t> EnsureFolders(MetadataTx& tx, const std::string& owner,
                              const std::vector<std::string>& names, size_t n, std::string_view op,
                              int64_t* created);

// Deletes `node` (not the root), recursively for a folder, with the files
// rows of every file below it. Counts what went into `*deletion`.
void DeleteNode(MetadataTx& tx, const std::string& owner, const Node& node, TreeDeletion* deletion);

// The body of TreeStore::CommitFileAt, for a transaction that does more
// (completing a multipart upload): checks the target, the quota (counting
// the replaced file and `freed_bytes`, which the caller's transaction
// deletes, as free), inserts the file and its entry (replacing a file at
// `path`) into `*out`.
Status PlaceFile(MetadataTx& tx, const std::string& path, const FileRecord& file,
                 const std::vector<ChunkRef>& chunks, int64_t quota_bytes, int64_t freed_bytes,
                 CommitOutcome* out);

// Drops the WebDAV locks at `path` and below it (its entry went or moved).
void DropLocksAt(MetadataTx& tx, const std::string& owner, const std::string& path);

}  // namespace nexus::daemon::storage::tree_rows
