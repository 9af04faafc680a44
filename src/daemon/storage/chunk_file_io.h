// The POSIX file operations under FsChunkStore (fs_chunk_store.h): whole
// writes and reads that resume after short ones, a rename that does not
// replace, and fsyncs of a batch of paths in parallel. Apart from the store
// so that it keeps only the layout of chunks and the bookkeeping of what is
// durable.
//
// Every error names the operation and the path. A full disk (ENOSPC,
// EDQUOT) is an environmental condition, not a bug: it is
// InsufficientStorageError() (HTTP 507, "insufficient storage") and the log
// gets what and where; any other errno is kInternal.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus::daemon::storage {

// How many fsyncs FsyncAll keeps in flight. The journal commits concurrent
// fsyncs together, so a batch costs about one commit instead of one each;
// beyond a handful of threads there was no further gain.
inline constexpr size_t kSyncThreads = 8;

// The Status for errno `e` of `what` ("write", "rename to") on `path`.
Status DiskError(std::string_view what, const std::string& path, int e);

// mkdir 0700 that tells whether it created the directory (so the parent
// needs an fsync); an existing one is false.
Result<bool> MakeDir(const std::string& dir);

// Writes the concatenation of `pieces` to `fd`, IOV_MAX of them per writev,
// resuming after short writes. `path` names the file in errors.
Status WriteAll(int fd, std::span<const std::string_view> pieces, const std::string& path);

// Reads up to out.size() bytes from `fd`'s current offset; returns how many
// there were (fewer only at the end of the file).
Result<size_t> ReadFull(int fd, std::span<char> out, const std::string& path);

// Renames without replacing an existing target. Returns false when the
// target already exists (`from` is then left for the caller to remove). On a
// filesystem that cannot refuse to replace, a plain rename: right for chunks,
// whose target holds the same bytes anyway.
Result<bool> RenameNoReplace(const std::string& from, const std::string& to);

// fsync through a fresh descriptor: the inode's data and metadata (for a
// directory, its entries) reach the disk whichever descriptor wrote them.
Status FsyncPath(const std::string& path);

// fsyncs every path from up to kSyncThreads threads; returns the first error
// and sets (*failed)[i] for each path that failed.
Status FsyncAll(const std::vector<std::string>& paths, std::vector<char>* failed);

// The names in `dir` but "." and "..", appended to `names`.
Status ListDirectory(const std::string& dir, std::vector<std::string>* names);

}  // namespace nexus::daemon::storage
