#include "common/sql/sqlite_connection.h"

#include <SQLiteCpp/Statement.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>

namespace nexus::sql {
namespace {

// Runs `f`, turning SQLiteCpp's exception into sql::Error.
template <typename F>
auto Translate(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const SQLite::Exception& e) {
    throw FromSqlite(e);
  }
}

}  // namespace

class SqliteStatement : public StatementImpl {
 public:
  SqliteStatement(SqliteConnection& owner, std::string sql, std::unique_ptr<SQLite::Statement> q)
      : owner_(owner), sql_(std::move(sql)), q_holder_(std::move(q)), q_(*q_holder_) {}
  ~SqliteStatement() override {
    // A statement whose last step failed keeps that error for reset; it is
    // dropped rather than parked.
    if (q_.tryReset() != SQLITE_OK) return;
    try {
      q_.clearBindings();
    } catch (const SQLite::Exception&) {
      return;
    }
    owner_.Park(std::move(sql_), std::move(q_holder_));
  }

  void BindInt64(int i, int64_t v) override {
    Translate([&] { q_.bind(i, static_cast<int64_t>(v)); });
  }
  void BindText(int i, std::string_view v) override {
    Translate([&] { q_.bind(i, std::string(v)); });
  }
  void BindBlob(int i, const void* data, size_t size) override {
    Translate([&] { q_.bind(i, data, static_cast<int>(size)); });
  }
  void BindNull(int i) override {
    Translate([&] { q_.bind(i); });
  }
  bool Step() override {
    return Translate([&] { return q_.executeStep(); });
  }
  int64_t Exec() override {
    return Translate([&] { return static_cast<int64_t>(q_.exec()); });
  }
  void Reset() override {
    Translate([&] { q_.reset(); });
  }
  bool IsNull(int c) override {
    return Translate([&] { return q_.getColumn(c).isNull(); });
  }
  int64_t Int64(int c) override {
    return Translate([&] { return static_cast<int64_t>(q_.getColumn(c).getInt64()); });
  }
  std::string Text(int c) override {
    return Translate([&] { return q_.getColumn(c).getString(); });
  }
  std::vector<uint8_t> Blob(int c) override {
    return Translate([&] {
      SQLite::Column col = q_.getColumn(c);
      const auto* p = static_cast<const uint8_t*>(col.getBlob());
      return std::vector<uint8_t>(p, p + col.getBytes());
    });
  }

 private:
  SqliteConnection& owner_;
  std::string sql_;
  std::unique_ptr<SQLite::Statement> q_holder_;
  SQLite::Statement& q_;
};

namespace {

Status FsyncFile(const std::string& path, bool may_be_missing) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (may_be_missing && errno == ENOENT) return Status::Ok();
    return ErrnoError(StatusCode::kUnavailable, "open '" + path + "' for fsync", errno);
  }
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(StatusCode::kUnavailable, "fsync '" + path + "'", e);
  return Status::Ok();
}

}  // namespace

Error FromSqlite(const SQLite::Exception& e) {
  const int code = e.getErrorCode();
  const int extended = e.getExtendedErrorCode();
  ErrorKind kind = ErrorKind::kOther;
  if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
    kind = ErrorKind::kDuplicateKey;
  } else if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    kind = ErrorKind::kRetry;
  } else if (code == SQLITE_FULL) {
    kind = ErrorKind::kFull;
  }
  return Error(kind, e.what());
}

namespace {
// Bounds on what is kept: texts built with a varying number of
// placeholders must not grow the cache without end.
constexpr size_t kMaxIdleStatements = 256;
constexpr size_t kMaxIdlePerText = 4;
}  // namespace

Statement SqliteConnection::Prepare(std::string_view sql) {
  std::string text(sql);
  std::unique_ptr<SQLite::Statement> q;
  if (auto it = idle_.find(text); it != idle_.end() && !it->second.empty()) {
    q = std::move(it->second.back());
    it->second.pop_back();
    --idle_count_;
  } else {
    q = Translate([&] { return std::make_unique<SQLite::Statement>(db_, text); });
  }
  return Statement(std::make_unique<SqliteStatement>(*this, std::move(text), std::move(q)));
}

void SqliteConnection::Park(std::string sql, std::unique_ptr<SQLite::Statement> q) {
  if (idle_count_ >= kMaxIdleStatements) return;
  std::vector<std::unique_ptr<SQLite::Statement>>& parked = idle_[std::move(sql)];
  if (parked.size() >= kMaxIdlePerText) return;
  parked.push_back(std::move(q));
  ++idle_count_;
}

void SqliteConnection::ExecScript(std::string_view script) {
  Translate([&] { db_.exec(std::string(script)); });
}

void SqliteConnection::Begin(TxMode mode) {
  ExecScript(mode == TxMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
}

void SqliteConnection::Commit() { ExecScript("COMMIT"); }

void SqliteConnection::Rollback() noexcept {
  // Fails only when no transaction is open (a failed COMMIT already ended
  // it), which is what a rollback wants.
  sqlite3_exec(db_.getHandle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Status SqliteConnection::SyncToDisk() {
  const char* name = sqlite3_db_filename(db_.getHandle(), "main");
  if (name == nullptr || *name == '\0') return Status::Ok();
  const std::string path = name;
  NEXUS_RETURN_IF_ERROR(FsyncFile(path + "-wal", /*may_be_missing=*/true));
  return FsyncFile(path, /*may_be_missing=*/false);
}

}  // namespace nexus::sql
