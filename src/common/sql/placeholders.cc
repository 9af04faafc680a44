#include "common/sql/placeholders.h"

#include <algorithm>

namespace nexus::sql {

RewrittenSql ToDollarPlaceholders(std::string_view sql) {
  RewrittenSql out;
  out.text.reserve(sql.size() + 16);
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // Up to the closing quote; a doubled quote is an escaped one and is
      // read as a close followed by a new open.
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
      out.text.append(sql.substr(i, stop - i));
      i = stop;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.text.append(sql.substr(i, stop - i));
      i = stop;
    } else if (c == '?') {
      size_t j = i + 1;
      int n = 0;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
      if (j == i + 1) n = out.params + 1;
      out.params = std::max(out.params, n);
      out.text += '$';
      out.text += std::to_string(n);
      i = j;
    } else {
      out.text += c;
      ++i;
    }
  }
  return out;
}

}  // namespace nexus::sql
