// The database back-ends the SQL layer's tests run on: SQLite always,
// PostgreSQL too where NEXUS_TEST_POSTGRES_URI names a cluster (the
// sql_test_postgres entry runs the binary again inside one, so the plain run
// skips nothing).
#pragma once

#include <cstdlib>
#include <vector>

namespace nexus::sql::testing {

inline std::vector<const char*> SqlTestBackends() {
  const char* uri = std::getenv("NEXUS_TEST_POSTGRES_URI");
  if (uri == nullptr || *uri == '\0') return {"sqlite"};
  return {"sqlite", "postgres"};
}

}  // namespace nexus::sql::testing
