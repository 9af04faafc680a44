// VFS path rules: the one place that decides what a path in a user's file
// tree may look like. Every /api/fs route and the daemon's tree store go
// through NormalizeVfsPath before touching anything.
//
// A valid path is absolute and '/'-separated. Normalisation folds "//",
// drops a trailing '/' and "." segments. ".." is rejected, never resolved
// upward, so no spelling can climb out of the root. Each name is 1-255 bytes
// with no NUL or other control character; the whole path is at most 4096
// bytes. The root is "/". Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus {

inline constexpr size_t kMaxVfsPathBytes = 4096;
inline constexpr size_t kMaxVfsNameBytes = 255;

// Returns the normalised form of `path` or kInvalidArgument naming the problem.
Result<std::string> NormalizeVfsPath(std::string_view path);

// The names of a normalised path, root first: "/a/b" -> {"a", "b"}; "/" -> {}.
std::vector<std::string> SplitVfsPath(std::string_view normalized);

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
std::string VfsParent(std::string_view normalized);

// True when `path` is `ancestor` itself or lies below it ("/a" and "/a/b",
// but not "/ab"). Both must be normalised.
bool VfsIsSelfOrDescendant(std::string_view path, std::string_view ancestor);

}  // namespace nexus
