// Small file helpers for the auth service: crash-safe writes of whole files
// and bounded reads. Every fd is closed on every path. Thread-safe (no
// shared state); concurrent writers to one path get one winner.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace nexus::auth {

enum class WriteMode {
  kReplace,    // rename(2) over an existing file
  kNoReplace,  // link(2) into place; kAlreadyExists if `path` exists
};

// Writes `data` to a temp file beside `path` (created O_EXCL with `perms`),
// fsyncs it, moves it into place, and fsyncs the directory, so readers see
// either nothing or the whole file. The directory must exist.
Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t perms,
                           WriteMode mode);

// Creates `dir` and its missing parents with mode 0700, so nothing placed in
// them is reachable by other users from the start. Directories that exist
// already are left as they are.
Status MakePrivateDirs(const std::string& dir);

struct FileContents {
  std::string data;
  mode_t perms = 0;  // permission bits (st_mode & 07777)
};

// Reads all of `path`; kInvalidArgument if it is larger than `max_bytes`,
// kNotFound if it does not exist.
Result<FileContents> ReadSmallFile(const std::string& path, size_t max_bytes);

}  // namespace nexus::auth
