#include "common/vfs_path.h"

namespace nexus {

Result<std::string> NormalizeVfsPath(std::string_view path) {
  if (path.empty()) return InvalidArgumentError("path is empty");
  if (path.size() > kMaxVfsPathBytes) {
    return InvalidArgumentError("path is longer than " + std::to_string(kMaxVfsPathBytes) +
                                " bytes");
  }
  if (path.front() != '/') return InvalidArgumentError("path must start with '/'");
  std::string out;
  out.reserve(path.size());
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string_view name = path.substr(i, end - i);
    i = end;
    if (name.empty() || name == ".") continue;
    if (name == "..") return InvalidArgumentError("path must not contain '..'");
    if (name.size() > kMaxVfsNameBytes) {
      return InvalidArgumentError("a name in the path is longer than " +
                                  std::to_string(kMaxVfsNameBytes) + " bytes");
    }
    for (unsigned char ch : name) {
      if (ch < 0x20 || ch == 0x7f) {
        return InvalidArgumentError("path must not contain NUL or control characters");
      }
    }
    out += '/';
    out += name;
  }
  if (out.empty()) out = "/";
  return out;
}

std::vector<std::string> SplitVfsPath(std::string_view normalized) {
  std::vector<std::string> names;
  size_t i = 1;
  while (i < normalized.size()) {
    size_t end = normalized.find('/', i);
    if (end == std::string_view::npos) end = normalized.size();
    names.emplace_back(normalized.substr(i, end - i));
    i = end + 1;
  }
  return names;
}

std::string VfsParent(std::string_view normalized) {
  size_t slash = normalized.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(normalized.substr(0, slash));
}

bool VfsIsSelfOrDescendant(std::string_view path, std::string_view ancestor) {
  if (ancestor == "/") return true;
  if (path.size() < ancestor.size() || path.substr(0, ancestor.size()) != ancestor) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

}  // namespace nexus
