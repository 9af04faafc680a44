#include "common/memory_env.h"

#include <unistd.h>

#include <cerrno>

namespace nexus {
namespace {

constexpr int kMaxSymlinkHops = 40;  // Linux's MAXSYMLINKS

// Repeated and trailing slashes go, so "/a//b/" and "/a/b" are one key.
std::string Normalize(const std::string& path) {
  if (path.empty()) return ".";
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool IsRoot(const std::string& path) { return path == "/" || path == "."; }

// The key prefix of everything below `dir`.
std::string ChildPrefix(const std::string& dir) {
  if (dir == "/") return "/";
  if (dir == ".") return "";
  return dir + "/";
}

bool IsDirectChild(const std::string& key, const std::string& prefix) {
  return key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
         key.find('/', prefix.size()) == std::string::npos;
}

}  // namespace

MemoryEnv::MemoryEnv() : process_{::geteuid(), ::getegid()} {}

MemoryEnv::Node MemoryEnv::NewNode(FileType type, std::string data, mode_t mode) const {
  return Node{type, std::move(data), mode & 07777, process_};
}

FileInfo MemoryEnv::InfoOf(const Node& node) {
  FileInfo info;
  info.type = node.type;
  info.size = node.type == FileType::kDirectory ? 0 : node.data.size();
  info.mode = node.mode & 07777;
  info.uid = node.owner.uid;
  info.gid = node.owner.gid;
  return info;
}

const MemoryEnv::Node* MemoryEnv::Find(const std::string& path) const {
  static const Node kRoot{FileType::kDirectory, "", 0755, FileOwner{0, 0}};
  if (IsRoot(path)) return &kRoot;
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

Result<std::string> MemoryEnv::Resolve(const std::string& path) const {
  std::string p = Normalize(path);
  for (int hop = 0; hop < kMaxSymlinkHops; ++hop) {
    const Node* node = Find(p);
    if (node == nullptr || node->type != FileType::kSymlink) return p;
    const std::string& target = node->data;
    p = Normalize(!target.empty() && target[0] == '/' ? target : DirName(p) + "/" + target);
  }
  return PathError("resolve", path, ELOOP);
}

Status MemoryEnv::CheckParentIsDir(const std::string& operation, const std::string& path) const {
  auto parent = Resolve(DirName(path));
  if (!parent.ok()) return parent.status();
  const Node* node = Find(*parent);
  if (node == nullptr) return PathError(operation, path, ENOENT);
  if (node->type != FileType::kDirectory) return PathError(operation, path, ENOTDIR);
  return Status::Ok();
}

bool MemoryEnv::HasChildren(const std::string& dir) const {
  const std::string prefix = ChildPrefix(dir);
  auto it = nodes_.lower_bound(prefix);
  return it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

std::vector<std::string> MemoryEnv::Subtree(const std::string& dir) const {
  std::vector<std::string> keys;
  const std::string prefix = ChildPrefix(dir);
  for (auto it = nodes_.lower_bound(prefix);
       it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

Result<std::string> MemoryEnv::ReadFile(const std::string& path, size_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  NEXUS_ASSIGN_OR_RETURN(std::string p, Resolve(path));
  const Node* node = Find(p);
  if (node == nullptr) return PathError("open", path, ENOENT);
  if (node->type == FileType::kDirectory) return PathError("read", path, EISDIR);
  if (node->data.size() > max_bytes) {
    return InvalidArgumentError("'" + path + "' is larger than " + std::to_string(max_bytes) +
                                " bytes");
  }
  return node->data;
}

Status MemoryEnv::WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                                      WriteMode write_mode) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string p = Normalize(path);
  NEXUS_RETURN_IF_ERROR(CheckParentIsDir("create", p));
  const Node* existing = Find(p);
  if (existing != nullptr) {
    if (write_mode == WriteMode::kNoReplace) return PathError("link", p, EEXIST);
    if (existing->type == FileType::kDirectory) return PathError("rename", p, EISDIR);
  }
  nodes_[p] = NewNode(FileType::kRegular, std::string(data), mode);
  return Status::Ok();
}

Status MemoryEnv::WriteNewFileLocked(const std::string& path, std::string_view data, mode_t mode,
                                     FileOwner owner) {
  const std::string p = Normalize(path);
  NEXUS_RETURN_IF_ERROR(CheckParentIsDir("create", p));
  if (Find(p) != nullptr) return PathError("create", p, EEXIST);
  Node node = NewNode(FileType::kRegular, std::string(data), mode);
  node.owner = owner;
  nodes_[p] = std::move(node);
  return Status::Ok();
}

Status MemoryEnv::WriteNewFile(const std::string& path, std::string_view data, mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteNewFileLocked(path, data, mode, process_);
}

Status MemoryEnv::WriteNewFileAs(const std::string& path, std::string_view data, mode_t mode,
                                 FileOwner owner) {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteNewFileLocked(path, data, mode, owner);
}

Status MemoryEnv::MakeDirLocked(const std::string& path, mode_t mode) {
  NEXUS_RETURN_IF_ERROR(CheckParentIsDir("create directory", path));
  if (Find(path) != nullptr) return PathError("create directory", path, EEXIST);
  nodes_[path] = NewNode(FileType::kDirectory, "", mode);
  return Status::Ok();
}

Status MemoryEnv::MakeDir(const std::string& path, mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  return MakeDirLocked(Normalize(path), mode);
}

Status MemoryEnv::MakeDirs(const std::string& path, mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string p = Normalize(path);
  for (size_t end = p.find('/', 1);; end = p.find('/', end + 1)) {
    const std::string part = p.substr(0, end);
    auto resolved = Resolve(part);
    const Node* node = resolved.ok() ? Find(*resolved) : nullptr;
    if (node == nullptr) {
      NEXUS_RETURN_IF_ERROR(MakeDirLocked(part, mode));
    } else if (node->type != FileType::kDirectory) {
      return PathError("create directory", part, ENOTDIR);
    }
    if (end == std::string::npos) return Status::Ok();
  }
}

Status MemoryEnv::Chmod(const std::string& path, mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  NEXUS_ASSIGN_OR_RETURN(std::string p, Resolve(path));
  if (IsRoot(p)) return Status::Ok();
  auto it = nodes_.find(p);
  if (it == nodes_.end()) return PathError("chmod", path, ENOENT);
  it->second.mode = mode & 07777;
  return Status::Ok();
}

Status MemoryEnv::Chown(const std::string& path, FileOwner owner) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string p = Normalize(path);
  if (IsRoot(p)) return Status::Ok();
  auto it = nodes_.find(p);
  if (it == nodes_.end()) return PathError("chown", path, ENOENT);
  it->second.owner = owner;
  return Status::Ok();
}

Status MemoryEnv::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string p = Normalize(path);
  const Node* node = Find(p);
  if (node == nullptr) return PathError("remove", p, ENOENT);
  if (IsRoot(p)) return PathError("remove directory", p, EBUSY);
  if (node->type == FileType::kDirectory && HasChildren(p)) {
    return PathError("remove directory", p, ENOTEMPTY);
  }
  nodes_.erase(p);
  return Status::Ok();
}

Status MemoryEnv::RemoveTree(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string p = Normalize(path);
  if (IsRoot(p)) return PathError("remove directory", p, EBUSY);
  const Node* node = Find(p);
  if (node == nullptr) return Status::Ok();
  if (node->type == FileType::kDirectory) {
    for (const auto& key : Subtree(p)) nodes_.erase(key);
  }
  nodes_.erase(p);
  return Status::Ok();
}

Status MemoryEnv::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string f = Normalize(from);
  const std::string t = Normalize(to);
  const std::string what = "rename '" + f + "' to";
  const Node* source = Find(f);
  if (source == nullptr) return PathError(what, t, ENOENT);
  NEXUS_RETURN_IF_ERROR(CheckParentIsDir(what, t));
  if (f == t) return Status::Ok();
  if (t.compare(0, f.size() + 1, f + "/") == 0) return PathError(what, t, EINVAL);
  if (const Node* dest = Find(t)) {
    const bool source_is_dir = source->type == FileType::kDirectory;
    const bool dest_is_dir = dest->type == FileType::kDirectory;
    if (dest_is_dir && !source_is_dir) return PathError(what, t, EISDIR);
    if (!dest_is_dir && source_is_dir) return PathError(what, t, ENOTDIR);
    if (dest_is_dir && HasChildren(t)) return PathError(what, t, ENOTEMPTY);
  }
  Node moved = *source;
  const std::vector<std::string> below =
      source->type == FileType::kDirectory ? Subtree(f) : std::vector<std::string>{};
  for (const auto& key : below) {
    nodes_[t + key.substr(f.size())] = nodes_[key];
    nodes_.erase(key);
  }
  nodes_.erase(f);
  nodes_[t] = std::move(moved);
  return Status::Ok();
}

Status MemoryEnv::Symlink(const std::string& target, const std::string& link) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string p = Normalize(link);
  NEXUS_RETURN_IF_ERROR(CheckParentIsDir("symlink", p));
  if (Find(p) != nullptr) return PathError("symlink", p, EEXIST);
  nodes_[p] = NewNode(FileType::kSymlink, target, 0777);
  return Status::Ok();
}

Result<std::string> MemoryEnv::ReadLink(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  const Node* node = Find(Normalize(path));
  if (node == nullptr) return PathError("readlink", path, ENOENT);
  if (node->type != FileType::kSymlink) return PathError("readlink", path, EINVAL);
  return node->data;
}

Status MemoryEnv::SyncDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  NEXUS_ASSIGN_OR_RETURN(std::string p, Resolve(path));
  const Node* node = Find(p);
  if (node == nullptr) return PathError("open directory", path, ENOENT);
  if (node->type != FileType::kDirectory) return PathError("open directory", path, ENOTDIR);
  return Status::Ok();
}

Result<std::vector<std::string>> MemoryEnv::ListDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  NEXUS_ASSIGN_OR_RETURN(std::string p, Resolve(path));
  const Node* node = Find(p);
  if (node == nullptr) return PathError("list directory", path, ENOENT);
  if (node->type != FileType::kDirectory) return PathError("list directory", path, ENOTDIR);
  std::vector<std::string> names;
  const std::string prefix = ChildPrefix(p);
  for (const auto& key : Subtree(p)) {
    if (IsDirectChild(key, prefix)) names.push_back(key.substr(prefix.size()));
  }
  return names;  // map order is sorted order
}

Result<FileInfo> MemoryEnv::Stat(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  NEXUS_ASSIGN_OR_RETURN(std::string p, Resolve(path));
  const Node* node = Find(p);
  if (node == nullptr) return PathError("stat", path, ENOENT);
  return InfoOf(*node);
}

Result<FileInfo> MemoryEnv::LinkStat(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  const Node* node = Find(Normalize(path));
  if (node == nullptr) return PathError("stat", path, ENOENT);
  return InfoOf(*node);
}

Result<std::string> MemoryEnv::CurrentDir() {
  std::lock_guard<std::mutex> lock(mu_);
  return current_dir_;
}

void MemoryEnv::SetCurrentDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  current_dir_ = Normalize(dir);
}

void MemoryEnv::SleepFor(std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mu_);
  slept_ += duration;
}

void MemoryEnv::PutFile(const std::string& path, std::string_view data, mode_t mode) {
  const std::string p = Normalize(path);
  if (DirName(p) != p) (void)MakeDirs(DirName(p), 0755);
  std::lock_guard<std::mutex> lock(mu_);
  nodes_[p] = NewNode(FileType::kRegular, std::string(data), mode);
}

std::vector<std::string> MemoryEnv::Paths() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> paths;
  for (const auto& [path, node] : nodes_) paths.push_back(path);
  return paths;
}

std::chrono::milliseconds MemoryEnv::slept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slept_;
}

}  // namespace nexus
