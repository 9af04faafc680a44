// Paths in the user's remote tree as the CLI handles them: always absolute
// ("docs/a" means "/docs/a"), "/" separated, no trailing "/" except the root.
// "." and ".." are left for the server to judge (it refuses them). Pure
// functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nexus::cli {

std::string NormalizeRemote(std::string_view path);
std::string JoinRemote(std::string_view folder, std::string_view name);
// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
std::string RemoteParent(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string RemoteBasename(std::string_view path);
// Whether the user wrote the path as a folder ("docs/", "/").
bool NamesFolder(std::string_view path);

}  // namespace nexus::cli
