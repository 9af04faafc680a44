#include "cli/output.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace nexus::cli {

void PrintJson(const nlohmann::json& value) { std::cout << value.dump(2) << "\n" << std::flush; }

void PrintObject(const nlohmann::json& object, bool json) {
  if (json) {
    PrintJson(object);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : object.items()) rows.push_back({key, Cell(value)});
  std::cout << FormatTable(rows);
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right_aligned) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool last = i + 1 == row.size();
      const size_t pad = widths[i] - row[i].size();
      const bool right = i < right_aligned.size() && right_aligned[i];
      if (right) line.append(pad, ' ');
      line += row[i];
      if (!right && !last) line.append(pad, ' ');
      if (!last) line += "  ";
    }
    out += line + "\n";
  }
  return out;
}

std::string Cell(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "-";
  return value.dump();
}

const nlohmann::json& Field(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

}  // namespace nexus::cli
