// Reading /proc/<pid>/mountinfo (proc(5)): one mount per line,
//   <id> <parent> <major:minor> <root> <mount point> <options> [optional...]
//   - <fstype> <source> <super options>
// where the kernel escapes space, tab, newline and backslash in paths as
// \ooo (octal). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nexus {

// A mountinfo field with its \ooo escapes decoded; anything that is not a
// complete three-digit octal escape is kept as it is.
std::string UnescapeMountinfoField(std::string_view field);

struct MountinfoEntry {
  std::string root;         // unescaped
  std::string mount_point;  // unescaped
  std::string fstype;
  std::string source;
  std::string super_options;
};

// Every well-formed line of `text`; malformed lines are skipped.
std::vector<MountinfoEntry> ParseMountinfo(std::string_view text);

}  // namespace nexus
