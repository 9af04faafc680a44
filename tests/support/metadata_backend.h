// The metadata database of a storage, tree, nodes or auth store test. By
// default SQLite (in memory, or at a path the test gives when it needs a
// second connection); with NEXUS_TEST_METADATA_BACKEND=postgres, a database
// of its own in the throw-away PostgreSQL cluster whose URI
// NEXUS_TEST_POSTGRES_URI names (tests/support/pg_cluster.sh sets it; the
// CTest entries *_postgres run these tests that way), dropped again when
// the test ends.
//
// One per test; not thread-safe (each connection it hands out is, as the SQL
// layer says, for one user at a time).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/sql/database.h"
#include "common/sql/postgres_connection.h"

namespace nexus::testing {

inline bool MetadataTestsOnPostgres() {
  const char* b = std::getenv("NEXUS_TEST_METADATA_BACKEND");
  return b != nullptr && std::string(b) == "postgres";
}

class TestMetadataDb {
 public:
  // A fresh database with `migrations` applied. `sqlite_path` is where the
  // SQLite database goes (":memory:" unless the test connects twice).
  static Result<std::unique_ptr<TestMetadataDb>> Open(std::vector<sql::Migration> migrations,
                                                      const std::string& sqlite_path = ":memory:") {
    auto db = std::unique_ptr<TestMetadataDb>(new TestMetadataDb());
    if (!MetadataTestsOnPostgres()) {
      db->target_ = sqlite_path;
    } else {
      const char* admin = std::getenv("NEXUS_TEST_POSTGRES_URI");
      if (admin == nullptr || *admin == '\0') {
        return UnavailableError(
            "NEXUS_TEST_POSTGRES_URI is not set: run under tests/support/pg_cluster.sh");
      }
      static std::atomic<int> counter{0};
      db->name_ = "nexus_t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
      db->admin_uri_ = admin;
      NEXUS_RETURN_IF_ERROR(db->Admin("CREATE DATABASE " + db->name_ +
                                      " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C'"
                                      " LC_CTYPE 'C'"));
      // The admin URI names database "postgres": the same server, this one.
      std::string uri = admin;
      const size_t at = uri.find("/postgres?");
      if (at == std::string::npos) return InvalidArgumentError("unexpected URI " + uri);
      db->target_ = uri.replace(at, 10, "/" + db->name_ + "?");
    }
    NEXUS_ASSIGN_OR_RETURN(db->conn_, sql::OpenMetadataDatabase(db->target_, migrations));
    return db;
  }

  ~TestMetadataDb() {
    conn_.reset();
    if (!name_.empty()) (void)Admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }

  sql::Connection& conn() { return *conn_; }

  // What a service would be configured with to open this database: the
  // SQLite path, or the PostgreSQL URI.
  const std::string& target() const { return target_; }

  // Another connection to the same database (not for ":memory:").
  Result<std::unique_ptr<sql::Connection>> Connect() {
    return sql::ConnectMetadataDatabase(target_);
  }

 private:
  TestMetadataDb() = default;

  Status Admin(const std::string& statement) {
    NEXUS_ASSIGN_OR_RETURN(auto admin, sql::PostgresConnection::Open(admin_uri_));
    return sql::GuardSql(statement, [&]() -> Status {
      admin->ExecScript(statement);
      return Status::Ok();
    });
  }

  std::string target_;
  std::string name_;  // PostgreSQL: the database made for this test
  std::string admin_uri_;
  std::unique_ptr<sql::Connection> conn_;
};

}  // namespace nexus::testing
