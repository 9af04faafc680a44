// MemoryEnv: an Env whose file system is a map in memory (path -> type,
// bytes, mode, symlink target) and whose sleeps only add up a counter. Unit
// tests hand it to the code under test instead of a PosixEnv, so they need
// no temp directory, leave nothing behind and never wait.
//
// It follows the same contract as PosixEnv (tests/unit/common/env_test.cc
// runs one suite against both), with these simplifications: "/" and "."
// always exist as directories; paths are taken literally apart from
// repeated and trailing slashes (no "..", and only the last component of a
// path is resolved as a symlink); there is no umask, no permission check
// (Chown and WriteNewFileAs work for anyone; what it creates belongs to the
// process's effective uid and gid, "/" to root) and no crash, so "durable"
// and "visible" are the same. The current directory is "/" until
// SetCurrentDir.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"

namespace nexus {

class MemoryEnv final : public Env {
 public:
  MemoryEnv();

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

  // Test conveniences: a file written (parents created) in one call, and
  // every path the env holds, sorted.
  void PutFile(const std::string& path, std::string_view data, mode_t mode = 0644);
  std::vector<std::string> Paths() const;
  void SetCurrentDir(const std::string& dir);
  // The sum of every SleepFor so far.
  std::chrono::milliseconds slept() const;

 private:
  struct Node {
    FileType type = FileType::kRegular;
    std::string data;  // a file's bytes or a symlink's target
    mode_t mode = 0;
    FileOwner owner;
  };

  static FileInfo InfoOf(const Node& node);
  // Callers hold mu_.
  const Node* Find(const std::string& path) const;
  // `path` with its last component resolved through symlinks.
  Result<std::string> Resolve(const std::string& path) const;
  Status CheckParentIsDir(const std::string& operation, const std::string& path) const;
  bool HasChildren(const std::string& dir) const;
  std::vector<std::string> Subtree(const std::string& dir) const;
  Status MakeDirLocked(const std::string& path, mode_t mode);
  Status WriteNewFileLocked(const std::string& path, std::string_view data, mode_t mode,
                            FileOwner owner);
  // A node of `type` that belongs to the process, as a new file would.
  Node NewNode(FileType type, std::string data, mode_t mode) const;

  mutable std::mutex mu_;
  std::map<std::string, Node> nodes_;   // GUARDED_BY(mu_)
  std::chrono::milliseconds slept_{0};  // GUARDED_BY(mu_)
  std::string current_dir_ = "/";       // GUARDED_BY(mu_)
  const FileOwner process_;             // whom new files belong to
};

}  // namespace nexus
