#include "cli/remote_path.h"

namespace nexus::cli {

std::string NormalizeRemote(std::string_view path) {
  std::string out = "/";
  for (size_t i = 0; i < path.size(); ++i) {
    // Repeated slashes collapse, as in a local path.
    if (path[i] == '/' && out.back() == '/') continue;
    out.push_back(path[i]);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string JoinRemote(std::string_view folder, std::string_view name) {
  std::string base = NormalizeRemote(folder);
  if (base != "/") base.push_back('/');
  return NormalizeRemote(base + std::string(name));
}

std::string RemoteParent(std::string_view path) {
  std::string p = NormalizeRemote(path);
  size_t slash = p.rfind('/');
  return slash == 0 ? "/" : p.substr(0, slash);
}

std::string RemoteBasename(std::string_view path) {
  std::string p = NormalizeRemote(path);
  return p.substr(p.rfind('/') + 1);
}

bool NamesFolder(std::string_view path) { return path.empty() || path.back() == '/'; }

}  // namespace nexus::cli
