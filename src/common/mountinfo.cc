#include "common/mountinfo.h"

#include <sstream>

namespace nexus {
namespace {

bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }

}  // namespace

std::string UnescapeMountinfoField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && IsOctalDigit(field[i + 1]) &&
        IsOctalDigit(field[i + 2]) && IsOctalDigit(field[i + 3])) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                      (field[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(field[i]);
  }
  return out;
}

std::vector<MountinfoEntry> ParseMountinfo(std::string_view text) {
  std::vector<MountinfoEntry> entries;
  std::istringstream lines{std::string(text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    if (!(fields >> id >> parent >> dev >> root >> mount_point)) continue;
    // Options, then optional fields up to the "-" separator.
    std::string token;
    bool separated = false;
    while (fields >> token) {
      if (token == "-") {
        separated = true;
        break;
      }
    }
    if (!separated) continue;
    MountinfoEntry e;
    if (!(fields >> e.fstype >> e.source)) continue;
    fields >> e.super_options;
    e.root = UnescapeMountinfoField(root);
    e.mount_point = UnescapeMountinfoField(mount_point);
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace nexus
