// Rewrites the `?` and `?N` placeholders of the SQL layer (connection.h) to
// PostgreSQL's `$N`, leaving quoted strings, quoted names and comments as
// they are. A bare `?` takes the number after the highest one so far, as in
// SQLite. Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nexus::sql {

struct RewrittenSql {
  std::string text;
  int params = 0;  // the highest placeholder number
};

RewrittenSql ToDollarPlaceholders(std::string_view sql);

}  // namespace nexus::sql
