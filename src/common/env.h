// Env: the one door through which the control plane touches the file system
// and sleeps. Services take an `Env&` in their constructor; production passes
// a PosixEnv, unit tests a MemoryEnv (common/memory_env.h), so they run
// without a real directory and without waiting.
//
// Errors are Status values whose message names the operation and the path
// and keeps the errno text: "create directory '/var/lib/x': Permission
// denied". kNotFound means the path (or a parent) does not exist,
// kAlreadyExists that something is in the way; everything else is kInternal.
//
// The data path (chunk store reads and writes, uploads, downloads) does not
// go through Env: its syscalls (O_TMPFILE, renameat2, fdatasync, writev) are
// measured choices that a general interface would hide.
//
// Implementations are thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace nexus {

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct FileInfo {
  FileType type = FileType::kOther;
  uint64_t size = 0;
  mode_t mode = 0;  // permission bits (st_mode & 07777)
  uid_t uid = 0;
  gid_t gid = 0;
};

// Who a file belongs to.
struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

enum class WriteMode {
  kReplace,    // move over an existing file
  kNoReplace,  // kAlreadyExists if `path` exists, and it is left as it was
};

class Env {
 public:
  virtual ~Env() = default;

  // All of `path`; kInvalidArgument if it is larger than `max_bytes`.
  virtual Result<std::string> ReadFile(const std::string& path, size_t max_bytes) = 0;

  // Writes `data` to a temp file beside `path` (created with `mode`), syncs
  // it, moves it into place and syncs the directory, so readers and a crash
  // see either the old state or the whole new file. The directory must exist.
  virtual Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                                     WriteMode write_mode) = 0;

  // Creates `path` (which must not exist) holding `data`, with exactly
  // `mode` (the umask does not narrow it). Not synced: for scratch files that
  // are rebuilt after a crash anyway (container bundles).
  virtual Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) = 0;
  // The same, but the file belongs to `owner` before its first byte is
  // written, so a file meant for one user alone is never anyone else's to
  // read. Giving a file away takes root (else kInternal, "Operation not
  // permitted").
  virtual Status WriteNewFileAs(const std::string& path, std::string_view data, mode_t mode,
                                FileOwner owner) = 0;

  // Creates one directory with exactly `mode`; kAlreadyExists if `path`
  // exists.
  virtual Status MakeDir(const std::string& path, mode_t mode) = 0;
  // Creates `path` and its missing parents with `mode`; directories that
  // exist are left as they are (a non-directory in the way is an error).
  virtual Status MakeDirs(const std::string& path, mode_t mode) = 0;
  // Sets the permission bits of `path` (following symlinks).
  virtual Status Chmod(const std::string& path, mode_t mode) = 0;
  // Sets the owner of `path` itself: a symlink is not followed, so handing
  // a path away never reaches through a link to somewhere else. Giving a
  // path away takes root.
  virtual Status Chown(const std::string& path, FileOwner owner) = 0;

  // Removes a file or symlink, or an empty directory. kNotFound if absent.
  virtual Status Remove(const std::string& path) = 0;
  // Removes `path` and everything below it, not following symlinks. Absent
  // is success.
  virtual Status RemoveTree(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Symlink(const std::string& target, const std::string& link) = 0;
  virtual Result<std::string> ReadLink(const std::string& path) = 0;

  // Makes the directory's entries (a rename, a new file) durable.
  virtual Status SyncDir(const std::string& path) = 0;

  // Names in directory `path` (not "." or ".."), sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Follows symlinks.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // Describes a symlink itself.
  virtual Result<FileInfo> LinkStat(const std::string& path) = 0;

  // The process's working directory, which relative paths start from.
  virtual Result<std::string> CurrentDir() = 0;

  virtual void SleepFor(std::chrono::milliseconds duration) = 0;

  bool Exists(const std::string& path) { return Stat(path).ok(); }
  bool IsDir(const std::string& path) {
    auto info = Stat(path);
    return info.ok() && info->type == FileType::kDirectory;
  }
};

// The real thing: plain POSIX calls. Stateless.
class PosixEnv final : public Env {
 public:
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                             WriteMode write_mode) override;
  Status WriteNewFile(const std::string& path, std::string_view data, mode_t mode) override;
  Status WriteNewFileAs(const std::string& path, std::string_view data, mode_t mode,
                        FileOwner owner) override;
  Status MakeDir(const std::string& path, mode_t mode) override;
  Status MakeDirs(const std::string& path, mode_t mode) override;
  Status Chmod(const std::string& path, mode_t mode) override;
  Status Chown(const std::string& path, FileOwner owner) override;
  Status Remove(const std::string& path) override;
  Status RemoveTree(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Symlink(const std::string& target, const std::string& link) override;
  Result<std::string> ReadLink(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Result<FileInfo> LinkStat(const std::string& path) override;
  Result<std::string> CurrentDir() override;
  void SleepFor(std::chrono::milliseconds duration) override;
};

// The directory part of `path`: "a/b" -> "a", "/a" -> "/", "a" -> ".".
std::string DirName(const std::string& path);

// "<operation> '<path>': <strerror>", coded the way Env errors are: ENOENT is
// kNotFound, EEXIST kAlreadyExists, anything else kInternal.
Status PathError(std::string_view operation, const std::string& path, int errno_value);

// `path` made absolute against env's CurrentDir() (when it is relative) and
// normalised by its spelling alone: "." and repeated or trailing slashes
// go, ".." takes the name before it away (never above "/"). Symlinks are not
// resolved. "" is the current directory.
Result<std::string> AbsolutePath(Env& env, const std::string& path);

}  // namespace nexus
